"""What determines a run's result, as digests: a sweep reuses an earlier run only when all of them match.

A run's result follows from the scenario file, the files of the models its federates use, its
parameters and overrides, and the versions of this tool and of fmpy. The model files are:
- an FMU: its archive;
- a replay federate: its CSV;
- a Python model: the .py files it may take code or constants from: those of its module's top-level
  package (recursively), or, for a module outside any package, those beside it; and so for every
  other module of the user's it refers to, recursively (imported modules, the modules of classes
  and functions taken from them). Installed packages and this tool's own packages (federation,
  adapters) are left out: their versions stand for them. Data files a Python model opens itself
  are not known here.

`input_digests` computes the digests of the shared files once for a sweep; `differences` says, in
words, why an earlier run's record does not match the run to make.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from federation import __version__
from federation.clip import clip, short_repr
from federation.runtime.record import model_digests

if TYPE_CHECKING:
    from federation.scenario import Scenario

VERSIONS = ("federation", "fmpy")


def versions() -> dict[str, str]:
    """The versions of the software that computes a run: this tool and fmpy."""
    import fmpy

    return {"federation": __version__, "fmpy": fmpy.__version__}


def input_digests(scenario: Scenario) -> dict[str, Any]:
    """The digests of what every run of the scenario shares: tool versions, scenario file, model files
    ({federate: {file as seen from the scenario's folder: sha256}}). A run adds its parameters."""
    return {"versions": versions(), "scenario_sha256": scenario.sha256(), "models": model_digests(scenario, strict=True)}


def differences(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """Why an earlier run's record (params.json) is not the run to make, in words; empty when identical.

    Both are records as sweep writes them: scenario path, params, overrides and `inputs` (input_digests)."""
    reasons: list[str] = []
    if not isinstance(before.get("inputs"), Mapping):
        return ["the earlier run recorded no digests of its inputs"]
    old, new = _mapping(before.get("inputs")), now["inputs"]
    old_versions = _mapping(old.get("versions"))
    for name in VERSIONS:
        if old_versions.get(name) != new["versions"][name]:
            what = "tool" if name == "federation" else name
            reasons.append(f"{what} version changed {old_versions.get(name, 'unknown')} -> {new['versions'][name]}")
    if before.get("scenario") != now["scenario"]:
        reasons.append(f"another scenario file (was {short_repr(before.get('scenario'))})")
    elif old.get("scenario_sha256") != new["scenario_sha256"]:
        reasons.append("scenario changed")
    old_models = _mapping(old.get("models"))
    for federate, files in new["models"].items():
        earlier = old_models.get(federate)
        if not isinstance(earlier, Mapping):
            continue  # a federate the earlier scenario did not have: the scenario changed
        changed = sorted(set(files) ^ set(earlier) | {f for f in files if f in earlier and earlier[f] != files[f]})
        if changed:
            reasons.append(f"model {federate} changed ({', '.join(changed)})")
    for key, label in (("params", "parameters"), ("overrides", "overrides")):
        changes = _changed_values(before.get(key), now[key])
        if changes:
            reasons.append(f"{label} changed ({changes})")
    return reasons


def _mapping(value: object) -> Mapping[str, Any]:
    """A mapping read from an earlier run's params.json, or an empty one when it holds something else."""
    return value if isinstance(value, Mapping) else {}


def _changed_values(before: object, now: Mapping[str, Any]) -> str:
    """'key old -> new' for every key whose value differs (as written to JSON), comma separated."""
    old = _mapping(before)
    unset = object()
    items = []
    for key in sorted(set(old) | set(now), key=str):
        a, b = old.get(key, unset), now.get(key, unset)
        if a is unset or b is unset or a != b or type(a) is not type(b):
            items.append(f"{clip(str(key), 200)} {'unset' if a is unset else short_repr(a)} -> "
                         f"{'unset' if b is unset else short_repr(b)}")
    return ", ".join(items)


# ------------------------------------------------------------------------------------------------------- models

def forget_modules(names: list[str]) -> None:
    """Drop modules from sys.modules, so that the next import reads their files again."""
    for name in names:
        module = sys.modules.pop(name, None)
        cached = getattr(module, "__cached__", None)
        if isinstance(cached, str):  # its timestamp has a resolution of 1 s: an edit within it would not show
            Path(cached).unlink(missing_ok=True)
    importlib.invalidate_caches()


