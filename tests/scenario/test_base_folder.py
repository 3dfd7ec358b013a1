"""A scenario's `base`: the folder its relative model paths and python modules resolve against, when it is
not the file's own (a copy written elsewhere, as the Python API writes one into a run's folder)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from federation.runtime.embedded import run_embedded
from federation.scenario import ScenarioError, load_scenario

from .conftest import DATA


def scenario(folder: Path, base: str | None) -> Path:
    data: dict[str, object] = {
        "federation": "based", "time": {"start": 0.0, "stop": 100.0, "step": 50.0},
        "federates": {"weather": {"replay": "data/measured.csv", "site": "a"},
                      "ems": {"python": "toy_ems:Dispatcher", "site": "b"}},
        "output": {"variables": []},
    }
    if base is not None:
        data["base"] = base
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def models(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    (folder / "data").mkdir(parents=True)
    shutil.copy(DATA / "toy_ems.py", folder / "toy_ems.py")
    shutil.copy(DATA / "measured.csv", folder / "data" / "measured.csv")
    return folder


@pytest.mark.parametrize("written", ["absolute", "relative"])
def test_models_and_modules_resolve_against_base(tmp_path: Path, models: Path, written: str) -> None:
    base = str(models) if written == "absolute" else "../models"
    sc = load_scenario(scenario(tmp_path / "elsewhere", base))
    assert sc.folder() == models
    assert sc.replay_path("weather") == models / "data" / "measured.csv"
    assert sc.search_paths() == [models]
    assert set(sc.interfaces) == {"weather", "ems"}  # the module was imported from base
    assert run_embedded(sc, tmp_path / "out", plot=False).status == "completed"


def test_without_base_the_file_folder_is_used(tmp_path: Path, models: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(scenario(tmp_path / "elsewhere", None))
    keys = [p.key for p in caught.value.problems]
    assert "federates.weather.replay" in keys and "federates.ems.python" in keys
    assert load_scenario(scenario(models, None)).folder() == models


def test_a_base_that_is_not_a_folder_is_one_problem_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(scenario(tmp_path / "elsewhere", "../missing"))
    assert [(p.key, p.message) for p in caught.value.problems] == [("base", f"{tmp_path / 'missing'} is not a folder")]


def test_base_is_not_part_of_what_the_sites_share(tmp_path: Path, models: Path) -> None:
    """Each site's copy may keep its models elsewhere: base is no part of the shared digest."""
    here = load_scenario(scenario(models, None))
    there = load_scenario(scenario(tmp_path / "elsewhere", str(models)))
    assert here.shared_digest() == there.shared_digest()
