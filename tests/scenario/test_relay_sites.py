"""`relay_sites:`, the sites that accept no connection (direct routing relays their channels through the RTI):
only the scenario's own sites, each once, and part of what every site's copy must agree on."""

from __future__ import annotations

import pytest

from federation.scenario import ScenarioError, load_scenario
from federation.scenario.rules import relay_site_problem

from .conftest import ScenarioWriter, base_scenario
from .test_scenario import load_error, problems_for


def test_relay_sites_default_to_none_and_keep_file_order(write_scenario: ScenarioWriter) -> None:
    assert load_scenario(write_scenario()).relay_sites == ()
    data = base_scenario()
    data["relay_sites"] = ["utility", "fleet"]
    assert load_scenario(write_scenario(data)).relay_sites == ("utility", "fleet")
    data["relay_sites"] = None  # every item commented out: none
    assert load_scenario(write_scenario(data)).relay_sites == ()


@pytest.mark.parametrize(("site", "fragments"), [
    ("Fleet", ("unknown site 'Fleet'", "did you mean 'fleet'?")),
    ("steelwork", ("unknown site 'steelwork'", "fleet, operator, steelworks, utility", "did you mean 'steelworks'?")),
    ("coordinator", ("'coordinator' is the coordinator's site", "sites that own federates")),
])
def test_a_relay_site_that_is_not_a_site_of_the_scenario_is_named(write_scenario: ScenarioWriter, site: str,
                                                                   fragments: tuple[str, ...]) -> None:
    data = base_scenario()
    data["relay_sites"] = ["fleet", site]
    problems_for(write_scenario, data, "relay_sites[1]", *fragments)


def test_a_relay_site_listed_twice_and_a_relay_list_that_is_no_list_are_refused(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["relay_sites"] = ["fleet", "utility", "fleet"]
    problems_for(write_scenario, data, "relay_sites[2]", "'fleet' is already listed at relay_sites[0]")
    data["relay_sites"] = "fleet"
    problems_for(write_scenario, data, "relay_sites", "list")
    data["relay_sites"] = ["fleet", ""]
    problems_for(write_scenario, data, "relay_sites[1]")


def test_relay_sites_are_checked_beside_a_broken_federate_without_false_complaints(
        write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    data["federates"]["vehicle"]["step"] = "often"  # its entry does not parse: its site is not known
    data["relay_sites"] = ["fleet", "fleet"]
    error = problems_for(write_scenario, data, "relay_sites[1]", "already listed")
    assert not [p for p in error.problems if "unknown site" in p.message], error


def test_relay_sites_are_part_of_what_every_site_must_share(write_scenario: ScenarioWriter) -> None:
    data = base_scenario()
    plain = load_scenario(write_scenario(data)).shared_digest()
    data["relay_sites"] = []
    assert load_scenario(write_scenario(data)).shared_digest() == plain  # an empty list is no list
    data["relay_sites"] = ["utility", "fleet"]
    relayed = load_scenario(write_scenario(data)).shared_digest()
    assert relayed != plain
    data["relay_sites"] = ["fleet", "utility"]  # the set matters, not the order it is written in
    assert load_scenario(write_scenario(data)).shared_digest() == relayed
    # A host checks the list as the coordinator does: the same problem for every site's view.
    data["relay_sites"] = ["flet"]
    path = write_scenario(data)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, site="fleet")
    assert "relay_sites[0]: unknown site 'flet'" in str(caught.value)
    assert load_error(path).problems[0].key == "relay_sites[0]"


def test_the_rule_is_one_function_for_files_and_command_lines(write_scenario: ScenarioWriter) -> None:
    spec = load_scenario(write_scenario()).spec
    assert relay_site_problem(spec, "fleet") is None
    assert "did you mean 'operator'?" in (relay_site_problem(spec, "operater") or "")
