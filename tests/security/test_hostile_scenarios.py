"""Hostile scenario and policy files, built at test time: each is refused quickly, cheaply and briefly.

Alias and merge-key bombs, nesting deeper than Python's stack, numbers no float holds, endless
devices and megabyte-long names all pass through the one YAML reader that `validate`, `run`, a
host, the coordinator and `rti serve --policy` use. They are loaded in a child process that
measures each load's time and its peak memory beyond its footprint after loading a valid scenario;
the child's address space is capped, so that a regression fails instead of exhausting the machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAD = "federation: hostile\ntime: {start: 0, stop: 10, step: 1}\n"
METER = "  meter: {replay: meter.csv, site: utility}\n"
SECONDS, GROWN_MB, LONGEST_LINE = 2.0, 100, 3000

CHILD = r"""
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))  # a regression fails with MemoryError instead
from federation.scenario import ScenarioError, load_scenario
from federation.security.policy import PolicyError, load_policy
warm, *cases = sys.argv[1:]
load_scenario(warm)  # the tool's footprint: every module a validation imports, and its caches
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = {}
for case in cases:
    kind, path = case.split("=", 1)
    started = time.perf_counter()
    try:
        (load_policy if kind == "policy" else load_scenario)(path)
        said = None
    except (ScenarioError, PolicyError) as exc:
        said = str(exc)
    out[path] = [time.perf_counter() - started, said]
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
print(json.dumps({"cases": out, "grown_kb": grown}))
"""


@dataclass(frozen=True)
class Case:
    """A hostile file (`text`, or `path` for one that exists already) and what its refusal must say."""

    name: str
    text: str | None
    key: str
    fragments: tuple[str, ...]
    kind: str = "scenario"
    path: str | None = None


def _levels(first: str, fan: int, count: int, open_: str, close: str, item: str = "*{prev}") -> str:
    """`a: &a <first>`, then each level an anchored list/mapping of `fan` aliases of the level before."""
    lines = [f"l0: &l0 {first}"]
    for level in range(1, count):
        items = ", ".join(item.format(prev=f"l{level - 1}", i=i) for i in range(fan))
        lines.append(f"l{level}: &l{level} {open_}{items}{close}")
    return "\n".join(lines) + "\n"


def _cases() -> list[Case]:
    big = "x" * 300_000  # within the size limit: each is read, and must still be refused briefly
    digits = "9" * 5000  # beyond Python's int-from-text limit (4300 digits)
    return [
        Case("list_bomb", HEAD + _levels('["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]', 9, 9,
                                         "[", "]") + "federates:\n" + METER.replace("}", ", expose: *l8}"),
             "(yaml)", ("the alias *l", "more than 50,000 values", "refused")),
        Case("map_bomb", HEAD + _levels("{k0: 1, k1: 1, k2: 1, k3: 1, k4: 1, k5: 1, k6: 1, k7: 1, k8: 1}", 9, 9,
                                        "{", "}", "k{i}: *{prev}") + "interactions: *l8\n",
             "(yaml)", ("the alias *l", "more than 50,000 values")),
        Case("merge_bomb", HEAD + _levels("{k0: 1, k1: 2}", 9, 10, "{<<: [", "], k: 1}") + "federates:\n  m: *l9\n",
             "(yaml)", ("the alias *l", "more than 50,000 values")),
        Case("text_bomb", HEAD + _levels('"' + "y" * 500 + '"', 20, 4, "[", "]")
             + "output: {variables: *l3}\n", "(yaml)", ("more than 1,048,576 characters of text",)),
        Case("deep_lists", HEAD + "output: {variables: " + "[" * 10_000 + "]" * 10_000 + "}\n",
             "(yaml)", ("nested more than 50 deep",)),
        Case("deep_mappings", HEAD + "federates: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n",
             "(yaml)", ("nested more than 50 deep",)),
        Case("recursive_alias", HEAD + "federates: &f\n  e: *f\n", "(yaml)", ("*f stands for a list or mapping "
                                                                             "that holds it",)),
        Case("huge_integer", f"federation: hostile\ntime: {{start: 0, stop: {digits}, step: 1}}\n", "time.stop",
             ("an integer of 5,000 characters is beyond any number this tool uses",)),
        Case("huge_parameter", HEAD + f"federates:\n  e: {{python: m:C, site: o, parameters: {{p: {digits[:4000]}}}}}\n",
             "federates.e.parameters.p", ("beyond any number this tool uses",)),
        Case("float_overflow", "federation: hostile\ntime: {start: 0, stop: 10, step: 1.0e+400}\n", "time.step",
             ("1.0e+400 is beyond the largest 64-bit float",)),
        Case("endless_file", None, "(file)", ("larger than 1,024 KB",), path="/dev/zero"),
        Case("endless_replay", HEAD + "federates:\n  meter: {replay: /dev/zero, site: utility}\n",
             "federates.meter.replay", ("a replay CSV must be a regular file",)),
        Case("policy_bomb", _levels('["a", "a", "a", "a", "a", "a", "a", "a", "a"]', 9, 9, "[", "]")
             + "admin: *l8\n", "(yaml)", ("more than 50,000 values",), kind="policy"),
        Case("endless_policy", None, "(file)", ("larger than 1,024 KB",), kind="policy", path="/dev/zero"),
        Case("long_federate_name", HEAD + f"federates:\n  ? {big[:200_000]}\n  : {{replay: meter.csv, site: utility}}\n",
             "federates." + "x" * 100, ("federate name 'xxx", "of at most 64 characters")),
        Case("long_key", HEAD + f"federates:\n  meter:\n    replay: meter.csv\n    site: utility\n    ? {big}\n    : 1\n",
             "federates.meter." + "x" * 100, ("unknown key",)),
        Case("long_value", HEAD + f"federates:\n  meter: {{replay: meter.csv, site: utility, step: {big}}}\n",
             "federates.meter.step", ("valid number", "got 'xxx")),
        Case("long_connection", HEAD + f"federates:\n{METER}connections: ['meter.{big} -> meter.x', '{big}']\n",
             "connections[1]", ("is not of the form",)),
        Case("long_path", HEAD + f"federates:\n  e: {{fmu: {'a/' * 150_000}x.fmu, site: o}}\n",
             "federates.e.fmu", ("a path of 300,005 characters names no file",)),
        Case("long_path_part", HEAD + f"federates:\n  e: {{fmu: {('b' * 300 + '/') * 10}x.fmu, site: o}}\n",
             "federates.e.fmu", ("cannot be looked up", "too long")),
        Case("long_module", HEAD + f"federates:\n  e: {{python: '{big}:X', site: o}}\n",
             "federates.e.python", ("not found",)),
        Case("long_owner", HEAD + f"federates:\n  meter: {{replay: meter.csv, site: {big}}}\n",
             "federates.meter.site", ("is 300000 characters long",)),
    ]


@pytest.fixture(scope="module")
def refusals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Case, float, str | None, int]]:
    """Every case loaded in one child process: {name: (case, seconds, error text, KB grown by all cases)}."""
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "meter.csv").write_text("time,P [W]\n0,1\n10,2\n")
    warm = folder / "warm.yaml"
    warm.write_text(HEAD + "federates:\n" + METER)
    args, paths = [], {}
    for case in _cases():
        path = Path(case.path) if case.path else folder / f"{case.name}.yaml"
        if case.text is not None:
            path.write_text(case.text)
        args.append(f"{case.kind}={path}")
        paths[case.name] = str(path)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(warm), *args], capture_output=True, text=True,
                          timeout=240, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    cases = {case.name: case for case in _cases()}
    return {name: (cases[name], *report["cases"][path], report["grown_kb"]) for name, path in paths.items()}


@pytest.mark.parametrize("name", [case.name for case in _cases()])
def test_a_hostile_file_is_refused_quickly_cheaply_and_briefly(
        refusals: dict[str, tuple[Case, float, str | None, int]], name: str) -> None:
    case, seconds, said, grown_kb = refusals[name]
    assert said is not None, f"{name} was accepted"
    assert seconds < SECONDS, f"{name} took {seconds:.2f} s"
    assert grown_kb < GROWN_MB * 1024, f"the hostile files grew the process by {grown_kb // 1024} MB"
    lines = said.splitlines()
    assert all(len(line) < LONGEST_LINE for line in lines) and len(said) < 20 * LONGEST_LINE, said[:5000]
    matching = [line for line in lines if f": {case.key}" in line and all(f in line for f in case.fragments)]
    assert matching, f"{name}: no problem at {case.key} saying {case.fragments} in:\n{said[:5000]}"


def test_merge_keys_still_merge_within_the_limits(tmp_path: Path) -> None:
    from federation.scenario import load_scenario

    (tmp_path / "meter.csv").write_text("time,P [W]\n0,1\n10,2\n")
    path = tmp_path / "merged.yaml"
    path.write_text(HEAD + "federates:\n  a: &a {<<: {replay: meter.csv, site: utility}, step: 2.0}\n"
                    + "  b: {<<: *a, site: lab}\n")
    scenario = load_scenario(path)
    assert (scenario.federates["b"].site, scenario.federates["b"].step) == ("lab", 2.0)


def test_the_cli_refuses_a_bomb_at_once(tmp_path: Path) -> None:
    """`validate` and `rti serve --policy` exit 2 with one short line, quickly."""
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(HEAD + _levels('["a", "a", "a", "a", "a", "a", "a", "a", "a"]', 9, 9, "[", "]")
                    + "output: {variables: *l8}\n")
    for args in (["validate", str(bomb)], ["rti", "serve", "--listen", "127.0.0.1:0", "--policy", str(bomb),
                                           "--audit", str(tmp_path / "audit.jsonl")]):
        proc = subprocess.run([sys.executable, "-m", "federation.cli", *args], capture_output=True, text=True,
                              timeout=60, cwd=ROOT)
        said = " ".join(proc.stderr.split())
        assert proc.returncode == 2 and "more than 50,000 values" in said and len(proc.stderr) < 2000, proc.stderr


def test_a_number_too_long_for_python_on_the_command_line_is_refused(tmp_path: Path) -> None:
    """`--set` and `--param` values are read as YAML: past 4,300 digits Python refuses to read them (ValueError)."""
    (tmp_path / "meter.csv").write_text("time,P [W]\n0,1\n10,2\n")
    path = tmp_path / "scenario.yaml"
    path.write_text(HEAD + "federates:\n" + METER)
    digits = "9" * 5000
    for args in (["run", str(path), "--set", f"meter.k={digits}", "--out", str(tmp_path / "out")],
                 ["sweep", str(path), "--param", f"meter.k=1,{digits}", "--mode", "embedded"]):
        proc = subprocess.run([sys.executable, "-m", "federation.cli", *args], capture_output=True, text=True,
                              timeout=60, cwd=ROOT)
        said = " ".join(proc.stderr.split())
        assert proc.returncode == 2 and "a number with more digits than any number this tool uses" in said, said
        assert len(proc.stderr) < 1000 and "Traceback" not in proc.stderr
