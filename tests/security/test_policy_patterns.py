"""Policy keys that are glob patterns: the most specific one decides, whatever the file's order; ties are refused."""

from __future__ import annotations

import itertools
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from federation.security.patterns import common_match
from federation.security.policy import Policy, PolicyError, load_policy

RULES = {"*": {"create": ["anyone"]}, "test-*": {"create": ["tester"]}, "test-gfv": {"create": ["owner"]},
         "test-??v": {"create": ["shorty"]}}


@pytest.mark.parametrize("order", list(itertools.permutations(RULES)))
def test_the_most_specific_key_decides_in_any_order(order: tuple[str, ...]) -> None:
    policy = Policy.model_validate({"federations": {key: RULES[key] for key in order}})
    deciders = {name: policy.may_create(site, name) for name, site in
                [("test-gfv", "owner"), ("test-abv", "shorty"), ("test-1", "tester"), ("prod", "anyone")]}
    assert all(d.allowed for d in deciders.values()), deciders
    assert [d.rule for d in deciders.values()] == ["federations.test-gfv.create", "federations.test-??v.create",
                                                   "federations.test-*.create", "federations.*.create"]
    assert not policy.may_create("tester", "test-abv").allowed  # test-??v is more specific than test-*


@pytest.mark.parametrize("a, b", [("a-*", "*-b"), ("fed[0-9]", "fed?"), ("x[!a]", "x?"), ("*", "?*")])
def test_equally_specific_patterns_sharing_a_name_are_refused_naming_both(tmp_path: Path, a: str, b: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(f"federations:\n  '{a}': {{create: [x]}}\n  '{b}': {{create: [y]}}\n")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    text = str(info.value)
    assert str(path) in text and f"federations.{a}" in text and f"federations.{b}" in text, text
    shared = text.split("both match ")[1].split(":")[0].strip("'")
    assert fnmatchcase(shared, a) and fnmatchcase(shared, b), shared


@pytest.mark.parametrize("a, b", [("a-*", "b-*"), ("test-*", "*-run"), ("x[!a]", "xa"), ("fed[0-4]", "fed[5-9]")])
def test_patterns_that_differ_in_specificity_or_share_no_name_load(tmp_path: Path, a: str, b: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(f"federations:\n  '{a}': {{create: [x]}}\n  '{b}': {{create: [y]}}\n")
    load_policy(path)


def test_common_match_finds_a_name_both_match_or_proves_there_is_none() -> None:
    for a, b in [("test-*", "*-run"), ("a*c", "ab*"), ("[a-c]?", "?[x-z]"), ("a*", "b*"), ("x[!a]", "xa")]:
        name = common_match(a, b)
        if name is None:
            assert (a, b) in [("a*", "b*"), ("x[!a]", "xa")]
        else:
            assert fnmatchcase(name, a) and fnmatchcase(name, b), (a, b, name)
