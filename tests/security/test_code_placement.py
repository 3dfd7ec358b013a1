"""Whose code runs where: a site runs only its own models, `validate --no-exec` runs none, and no error
quotes a file it could not read as what it was meant to be.

Models here announce every time their code runs: a python module appends a line to a log when it
is imported, and an FMU's library does so from a constructor when it is loaded. Each line names
the process (its command line), so a test sees which process ran whose code.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import fmpy
import pytest

from federation.kinds.interface import REMOTE
from federation.scenario import ScenarioError, load_scenario
from federation.security.policy import PolicyError, load_policy

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "federation.cli"]
SECRET = "SECRET-4f1d"  # in every file below that the tool must not quote


def announcing_module(folder: Path, name: str, log: Path) -> None:
    """`name`.py: a federate class Relay (input u, output y) whose module logs each import with the importer's argv."""
    (folder / f"{name}.py").write_text(textwrap.dedent(f"""\
        import sys
        with open({str(log)!r}, "a") as _log:
            _log.write(" ".join(sys.argv) + "\\n")

        class Relay:
            inputs = ["u"]
            outputs = ["y", "spare"]
            def step(self, t, dt, inputs):
                return {{"y": inputs.get("u", 0.0) + 1.0, "spare": 0.0}}
        """))


def announcing_fmu(path: Path, log: Path) -> Path:
    """An FMI 2 FMU whose library, once loaded, appends a line to `log` (its entry points do nothing)."""
    src = path.with_suffix(".c")
    entry = "".join(f"int {name}(void) {{ return 0; }}\n" for name in
                    ("fmi2Instantiate", "fmi2SetupExperiment", "fmi2DoStep", "fmi2FreeInstance"))
    src.write_text('#include <stdio.h>\n__attribute__((constructor)) static void loaded(void) {\n'
                   f'  FILE *f = fopen("{log}", "a"); if (f) {{ fputs("loaded\\n", f); fclose(f); }}\n}}\n' + entry)
    library = path.with_suffix(".so")
    subprocess.run([os.environ.get("CC", "gcc"), "-shared", "-fPIC", "-o", str(library), str(src)], check=True)
    xml = """<?xml version="1.0" encoding="UTF-8"?>
<fmiModelDescription fmiVersion="2.0" modelName="toy" guid="{toy}">
  <CoSimulation modelIdentifier="toy"/>
  <ModelVariables>
    <ScalarVariable name="x" valueReference="1" causality="output" variability="continuous"><Real/></ScalarVariable>
    <ScalarVariable name="w" valueReference="2" causality="input" variability="continuous"><Real start="0"/></ScalarVariable>
  </ModelVariables>
  <ModelStructure><Outputs><Unknown index="1"/></Outputs></ModelStructure>
</fmiModelDescription>
"""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("modelDescription.xml", xml)
        archive.write(library, f"binaries/{fmpy.platform}/toy{fmpy.sharedLibraryExtension}")
    return path


def two_sites(folder: Path, logs: Path) -> Path:
    """alpha runs `first` (module alpha_model), beta runs `second` (module beta_model), and gamma's FMU is not
    even an FMU: only its own host would find out."""
    folder.mkdir(parents=True)
    logs.mkdir(exist_ok=True)
    announcing_module(folder, "alpha_model", logs / "alpha_model.log")
    announcing_module(folder, "beta_model", logs / "beta_model.log")
    (folder / "gamma.fmu").write_bytes(b"not an FMU at all " + SECRET.encode())
    path = folder / "scenario.yaml"
    path.write_text(textwrap.dedent("""\
        federation: placement
        time: {start: 0.0, stop: 3.0, step: 1.0}
        federates:
          first: {python: "alpha_model:Relay", site: alpha}
          second: {python: "beta_model:Relay", site: beta}
        connections: [first.y -> second.u, second.y -> first.u]
        """))
    return path


def importers(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_a_site_loads_only_its_own_models_even_with_the_others_files_at_hand(tmp_path: Path) -> None:
    path = two_sites(tmp_path / "scen", tmp_path / "logs")
    path.write_text(path.read_text().replace("connections:", "  third: {fmu: gamma.fmu, site: gamma}\nconnections:"))
    alpha = load_scenario(path, site="alpha")  # gamma's file is not even read here: its owner's host reports it
    assert importers(tmp_path / "logs" / "beta_model.log") == []  # beta's code never ran at alpha
    assert len(importers(tmp_path / "logs" / "alpha_model.log")) == 1  # alpha's own model: checked
    assert alpha.interfaces["second"].kind == REMOTE and alpha.interfaces["third"].kind == REMOTE
    assert alpha.exposed("second") == ["y"]  # several sites: only what the scenario connects, never 'spare'
    with pytest.raises(ScenarioError) as error:
        load_scenario(path, site="gamma")
    assert "federates.third.fmu" in str(error.value) and "not an FMU" in str(error.value)
    assert importers(tmp_path / "logs" / "beta_model.log") == []


def test_in_a_grpc_run_each_host_imports_only_its_own_module(tmp_path: Path) -> None:
    path = two_sites(tmp_path / "scen", tmp_path / "logs")
    proc = subprocess.run([*CLI, "run", str(path), "--mode", "grpc", "--insecure", "--no-plot",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    for module, own, other in (("alpha_model", "alpha", "beta"), ("beta_model", "beta", "alpha")):
        lines = importers(tmp_path / "logs" / f"{module}.log")
        assert any(f"host-{own}.json" in line for line in lines), lines  # its own host ran it (its HostOptions)
        assert not any(f"host-{other}.json" in line for line in lines), lines  # the other site's never did
    assert (tmp_path / "out" / "results.csv").read_text().splitlines()[0] == "time,first.y,second.y"


def test_validate_runs_model_code_and_no_exec_runs_none(tmp_path: Path) -> None:
    folder = tmp_path / "scen"
    folder.mkdir()
    logs = tmp_path / "logs"
    logs.mkdir()
    announcing_module(folder, "ems_model", logs / "module.log")
    announcing_fmu(folder / "toy.fmu", logs / "library.log")
    path = folder / "scenario.yaml"
    path.write_text(textwrap.dedent("""\
        federation: untrusted
        time: {start: 0.0, stop: 3.0, step: 1.0}
        federates:
          ems: {python: "ems_model:Relay", site: lab}
          toy: {fmu: toy.fmu, site: lab}
        connections: [toy.x -> ems.u, ems.y -> toy.w]
        """))
    proc = subprocess.run([*CLI, "validate", "--no-exec", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert importers(logs / "module.log") == [] and importers(logs / "library.log") == []
    said = " ".join(proc.stderr.split())
    assert "federates.ems.python: not imported (--no-exec)" in said, said
    assert "federates.toy.fmu: its binary for this platform was not loaded (--no-exec)" in said, said
    # every check that needs no model code is still made: toy's modelDescription is data
    path.write_text(path.read_text().replace("toy.x -> ems.u", "toy.nope -> ems.u"))
    proc = subprocess.run([*CLI, "validate", "--no-exec", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "connections[0]: federate 'toy' has no variable 'nope'" in proc.stderr, proc.stderr
    assert importers(logs / "module.log") == [] and importers(logs / "library.log") == []
    # without --no-exec, validate says what it does: it imports the module and loads the library
    path.write_text(path.read_text().replace("toy.nope -> ems.u", "toy.x -> ems.u"))
    proc = subprocess.run([*CLI, "validate", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert len(importers(logs / "module.log")) == 1 and len(importers(logs / "library.log")) == 1
    assert "shared by each site" in proc.stdout and "; toy.x (no expose list, one site: every output)" in proc.stdout
    help_text = " ".join(subprocess.run([*CLI, "validate", "--help"], capture_output=True, text=True).stdout.split())
    assert "imports python: modules and loads FMU binaries" in help_text and "--no-exec" in help_text


def test_no_error_quotes_a_file_it_could_not_read(tmp_path: Path) -> None:
    """A path given by mistake (or on purpose) may name any file its user can read: a line of it must never
    reach a message, whatever that file was taken for."""
    system = tmp_path / "passwd"
    system.write_text(f"root:x:0:0:{SECRET}:/root:/bin/bash\ndaemon:x:1:1:{SECRET}:/usr/sbin\n")
    folder = tmp_path / "scen"
    folder.mkdir()
    (folder / "syntax_model.py").write_text(f'password = "{SECRET}" +\n')
    (folder / "cells.csv").write_text(f"time,P\n0,1\n1,{SECRET}\n")
    (folder / "alias.yaml").write_text(f"federation: x\nfederates: *{SECRET}\n")
    (folder / "tag.yaml").write_text(f"federation: !{SECRET} x\n")
    (folder / "tab.yaml").write_text(f"federation: x\n\t{SECRET}: 1\n")
    (folder / "config.json").write_text(f'{{"{SECRET}": {{"token": "{SECRET}"}}}}')
    head = "federation: x\ntime: {start: 0, stop: 2, step: 1}\nfederates:\n"
    scenarios = {
        "replay": f"  m: {{replay: {system}, site: o}}\n",
        "replay_cells": "  m: {replay: cells.csv, site: o}\n",
        "fmu": f"  m: {{fmu: {system}, site: o}}\n",
        "python": "  m: {python: syntax_model:X, site: o}\n",
    }
    said: list[str] = []
    for name, federate in scenarios.items():
        (folder / f"{name}.yaml").write_text(head + federate)
        with pytest.raises(ScenarioError) as error:
            load_scenario(folder / f"{name}.yaml")
        said.append(str(error.value))
    for path in (system, folder / "alias.yaml", folder / "tag.yaml", folder / "tab.yaml", folder / "config.json"):
        with pytest.raises(ScenarioError) as error:
            load_scenario(path)
        said.append(str(error.value))
        with pytest.raises(PolicyError) as policy_error:
            load_policy(path)
        said.append(str(policy_error.value))
    assert not [text for text in said if SECRET in text], "\n".join(said)
    assert "row 3, column 'P': not a number" in said[1] and "invalid syntax (line 1 of syntax_model.py)" in said[3]
    assert "not a scenario file: none of its 1 top-level keys is 'federation'" in said[-2]
    proc = subprocess.run([*CLI, "validate", str(system)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and SECRET not in proc.stdout + proc.stderr, proc.stderr
