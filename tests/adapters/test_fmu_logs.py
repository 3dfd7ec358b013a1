"""Each FMU instance's log lines reach its own federate, with several FMUs in one process.

The `chatter` model is built from C at test time with the project's FMU builder: it warns at every
step with its own `tag` (and a literal '%', which FMI 2's variadic logger must not mangle) and fails
its step from `fail_at` on with an error naming its tag. Three chatters run in one federation, as
three instances of one FMU (one shared library) or as three FMUs, in FMI 2 and FMI 3; the one that
fails must carry its own log, and every warning must name the federate whose instance logged it.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from adapters.fmu import federate as fmu_adapter
from adapters.fmu.federate import FMUError
from federation.errors import FederationFailed
from federation.runtime.embedded import run_embedded
from federation.runtime.local import run_grpc
from federation.scenario import load_scenario

CHATTER_C = r"""
/* chatter: warns at every step naming its tag; its step fails from t >= fail_at (if fail_at >= 0). */
#include <stdio.h>
#include "model.h"

int model_validate(const ModelData *m, const char **bad, char *msg) {
    if (R_(m, fail_at) >= 0.0 && m->time >= R_(m, fail_at)) {
        *bad = "fail_at";
        snprintf(msg, MODEL_MSG_LEN, "chatter %g gives up at t=%g", R_(m, tag), m->time);
        return 1;
    }
    return 0;
}

int model_init(ModelData *m) {
    m->priv = NULL;
    R_(m, y) = R_(m, tag);
    return 0;
}

void model_do_step(ModelData *m, double t, double h) {
    char text[MODEL_MSG_LEN];
    snprintf(text, sizeof text, "chatter %g steps at t=%g (100%% itself)", R_(m, tag), t);
    m->log(m->log_env, 0, text);
    R_(m, y) = R_(m, tag) + t + h;
}

void model_free(ModelData *m) {
    m->priv = NULL;
}
"""

CHATTER_JSON = {
    "description": "warns at every step naming its tag; fails from fail_at on",
    "author": "federation tests",
    "variables": [
        {"name": "y", "valueReference": 1, "type": "Real", "causality": "output", "variability": "continuous",
         "unit": "1", "description": "tag + time"},
        {"name": "tag", "valueReference": 10, "type": "Real", "causality": "parameter", "variability": "fixed",
         "start": 0.0, "unit": "1", "description": "names this instance in its log lines"},
        {"name": "fail_at", "valueReference": 11, "type": "Real", "causality": "parameter", "variability": "fixed",
         "start": -1.0, "unit": "s", "description": "steps from this time on fail (negative: never)"},
    ],
}

TAGS = {"alpha": 1, "bravo": 2, "charlie": 3}  # bravo fails at t = 3 s
WARNING = re.compile(r"FMU (\w+) warns: chatter (\d+) steps at t=(\d+) \(100% itself\)")


@pytest.fixture(scope="module")
def chatters(build_module: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tmp/dist/fmi{2,3}/chatter_{alpha,bravo,charlie}.fmu: one model under three model identifiers."""
    root = tmp_path_factory.mktemp("chatters")
    for federate in TAGS:
        name = f"chatter_{federate}"
        (root / "models" / name).mkdir(parents=True)
        (root / "models" / name / f"{name}.c").write_text(CHATTER_C)
        (root / "models" / name / "model.json").write_text(json.dumps(CHATTER_JSON))
        for version in (2, 3):
            build_module.build_one(name, version, build_dir=root / "build", dist_dir=root / "dist",
                                   models_dir=root / "models")
    return root / "dist"


def chatter_scenario(directory: Path, chatters: Path, fmi: int, shared: bool, fail_at: float | None = None) -> Path:
    """Three chatters on one site (so in one process in every mode); bravo fails from fail_at on."""
    federates = {}
    for name, tag in TAGS.items():
        parameters = {"tag": float(tag), **({"fail_at": fail_at} if name == "bravo" and fail_at is not None else {})}
        fmu = chatters / f"fmi{fmi}" / f"chatter_{'alpha' if shared else name}.fmu"
        federates[name] = {"fmu": str(fmu), "site": "site", "parameters": parameters}
    scenario = directory / "scenario.yaml"
    scenario.write_text(yaml.safe_dump({"federation": "chatter", "time": {"start": 0.0, "stop": 5.0, "step": 1.0},
                                        "federates": federates}, sort_keys=False))
    return scenario


def attributed(messages: list[str]) -> set[tuple[str, int, int]]:
    """(federate named, tag of the instance that logged, time) of each step warning; each pair must match."""
    seen = {(m[1], int(m[2]), int(m[3])) for m in map(WARNING.search, messages) if m}
    assert all(TAGS[federate] == tag for federate, tag, _ in seen), sorted(seen)
    return seen


@pytest.mark.parametrize("fmi", [2, 3])
@pytest.mark.parametrize("shared", [True, False], ids=["one-fmu-three-instances", "three-fmus"])
@pytest.mark.parametrize("path", ["native", "ctypes"])
def test_each_log_line_reaches_the_federate_whose_instance_logged_it(
        chatters: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
        fmi: int, shared: bool, path: str) -> None:
    if path == "ctypes":  # the native helper steps through the same FMU callbacks; both paths are checked
        monkeypatch.setattr(fmu_adapter.native, "stepper", lambda *args: None)
    with caplog.at_level(logging.WARNING, logger="adapters.fmu"), pytest.raises(FederationFailed) as info:
        run_embedded(load_scenario(chatter_scenario(tmp_path, chatters, fmi, shared, fail_at=3.0)), tmp_path / "out",
                     plot=False)

    assert isinstance(info.value.__cause__, FMUError) and info.value.federate == "bravo"
    first, *fmu_log = str(info.value).splitlines()
    assert first.startswith("federate 'bravo' "), first
    assert "doStep at t=3.0 s failed" in first, first
    assert any("chatter 2 gives up at t=3" in line for line in fmu_log), fmu_log
    assert any("chatter 2 steps at t=2 (100% itself)" in line for line in fmu_log), fmu_log
    assert not [line for line in fmu_log if re.search(r"chatter [13]\b", line)], fmu_log

    seen = attributed([r.getMessage() for r in caplog.records])
    for federate, tag in TAGS.items():  # every federate stepped at t = 0, 1, 2 before bravo's failure
        assert {(federate, tag, t) for t in (0, 1, 2)} <= seen, sorted(seen)


@pytest.mark.slow
@pytest.mark.parametrize("fmi", [2, 3])
def test_a_host_credits_each_warning_to_its_federate(chatters: Path, tmp_path: Path, fmi: int) -> None:
    """grpc mode: the site's host runs the three instances in one process and logs their warnings."""
    scenario = load_scenario(chatter_scenario(tmp_path, chatters, fmi, shared=True))
    result = run_grpc(scenario, tmp_path / "out", plot=False, insecure=True)
    assert result.status == "completed", result.error
    seen = attributed((tmp_path / "out" / "logs" / "host-site.log").read_text().splitlines())
    for federate, tag in TAGS.items():
        assert {(federate, tag, t) for t in range(5)} <= seen, sorted(seen)
