"""The `federation` command as a user runs it: real subprocesses, real exit codes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = ROOT / "examples" / "grid_furnace_vehicle" / "scenario.yaml"
CLI = [sys.executable, "-m", "federation.cli"]


def federation(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=ROOT, timeout=300, **kw)  # type: ignore[call-overload]


def test_validate_reports_every_problem_and_exits_nonzero(fmu_dist: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(textwrap.dedent(f"""
        federation: bad
        time: {{start: 0, stop: 10, step: 3}}
        federates:
          grid: {{fmu: {fmu_dist / 'fmi3' / 'grid.fmu'}, site: utility}}
          furnace: {{fmu: {fmu_dist / 'fmi3' / 'furnace.fmu'}, site: furnace_maker}}
        connections:
          - grid.nope -> furnace.f_grid
          - grid.f -> furnace.P_el
        """))
    proc = federation("validate", str(bad))
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if "bad.yaml" in line]
    assert len(lines) >= 3, proc.stderr
    text = proc.stderr
    assert "time" in text and "nope" in text and "P_el" in text


def test_validate_accepts_the_flagship(fmu_dist: Path) -> None:
    proc = federation("validate", str(FLAGSHIP))
    assert proc.returncode == 0 and "OK" in proc.stdout


def test_inspect_prints_the_interface_with_units(fmu_dist: Path) -> None:
    proc = federation("inspect", str(fmu_dist / "fmi2" / "grid.fmu"))
    assert proc.returncode == 0
    assert "FMI 2.0" in proc.stdout and "P_furnace [W]" in proc.stdout and "f [Hz]" in proc.stdout
    assert "H [s]" in proc.stdout
    proc = federation("inspect", str(fmu_dist / "fmi3" / "vehicle.fmu"))
    assert proc.returncode == 0 and "n_ev  Int32  start=100" in proc.stdout, proc.stdout  # the FMI type itself


ARRAYS_FMU = """<?xml version="1.0" encoding="UTF-8"?>
<fmiModelDescription fmiVersion="3.0" modelName="arrays" instantiationToken="{arrays}">
  <CoSimulation modelIdentifier="arrays"/>
  <DefaultExperiment startTime="10" stopTime="70" stepSize="0.5" tolerance="1e-6"/>
  <ModelVariables>
    <Float64 name="gains" valueReference="1" causality="parameter" variability="fixed" start="1.5 -2 3e3">
      <Dimension start="3"/></Float64>
    <Boolean name="flags" valueReference="2" causality="parameter" variability="fixed" start="true false">
      <Dimension start="2"/></Boolean>
    <Int32 name="table" valueReference="3" causality="parameter" variability="fixed" start="{table}">
      <Dimension start="25"/><Dimension start="4"/></Int32>
    <String name="labels" valueReference="4" causality="parameter" variability="fixed">
      <Dimension start="2"/><Start value="north east"/><Start value="south"/></String>
    <Float64 name="k" valueReference="5" causality="parameter" variability="fixed" start="4"/>
    <Float64 name="y" valueReference="6" causality="output" variability="continuous"/>
  </ModelVariables>
  <ModelStructure><Output valueReference="6"/></ModelStructure>
</fmiModelDescription>
"""


def test_inspect_shows_the_default_experiment_and_whole_array_start_values(fmu_dist: Path, tmp_path: Path) -> None:
    fmu, xml = tmp_path / "arrays.fmu", ARRAYS_FMU.replace("{table}", " ".join(map(str, range(100))))
    with zipfile.ZipFile(fmu, "w") as archive:  # inspect reads the model description only
        archive.writestr("modelDescription.xml", xml)
    proc = federation("inspect", str(fmu))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "default experiment: startTime=10.0 s, stopTime=70.0 s, stepSize=0.5 s, tolerance=1e-06" in lines, lines
    assert "  gains  Float64 array [3]  start=[1.5, -2.0, 3000.0]  " in lines, lines
    assert "  flags  Boolean array [2]  start=[True, False]  " in lines, lines
    assert "  labels  String array [2]  start=['north east', 'south']  " in lines, lines
    assert f"  table  Int32 array [25,4]  start=[{', '.join(map(str, range(20)))}, ... 80 more]  " in lines, lines
    assert "  k  Float64  start=4.0  " in lines, lines
    # a twin's, as its model.json declares it (FMI 2); tolerance is not given
    proc = federation("inspect", str(fmu_dist / "fmi2" / "grid.fmu"))
    assert "default experiment: startTime=0.0 s, stopTime=86400.0 s, stepSize=1.0 s" in proc.stdout.splitlines()
    bare = tmp_path / "bare.fmu"
    with zipfile.ZipFile(bare, "w") as archive:
        archive.writestr("modelDescription.xml", re.sub(r"\s*<DefaultExperiment[^>]*>", "", xml))
    assert "default experiment: none declared" in federation("inspect", str(bare)).stdout.splitlines()


def test_inspect_says_which_interfaces_an_fmu_offers(fmu_dist: Path, tmp_path: Path) -> None:
    from conformance.exchange_fmus import model_description

    for both, expected in ((False, "interface: Model Exchange (integrated by a solver: `solver: CVode` or `Euler`)"),
                           (True, "interface: co-simulation and Model Exchange (runs as co-simulation; "
                                  "`interface: model_exchange` integrates it with a solver)")):
        fmu = tmp_path / f"bounce{both}.fmu"
        with zipfile.ZipFile(fmu, "w") as archive:  # inspect reads the model description only
            archive.writestr("modelDescription.xml", model_description("bounce", 3, both=both))
        proc = federation("inspect", str(fmu))
        assert proc.returncode == 0 and proc.stdout.splitlines()[1] == expected, proc.stdout + proc.stderr
    proc = federation("inspect", str(fmu_dist / "fmi2" / "grid.fmu"))
    assert proc.stdout.splitlines()[1] == "interface: co-simulation"


def test_inspect_rejects_a_corrupt_fmu(tmp_path: Path) -> None:
    junk = tmp_path / "junk.fmu"
    junk.write_bytes(b"not a zip")
    proc = federation("inspect", str(junk))
    assert proc.returncode != 0 and "junk.fmu" in proc.stderr


def test_errors_are_printed_verbatim_and_an_unwritable_out_is_named(fmu_dist: Path, tmp_path: Path) -> None:
    # Square brackets in a message are text, not console markup (a unit "[s]" must survive).
    data = FLAGSHIP.read_text().replace("step: 5.0}", "step: 1.0e-10}").replace("../../", f"{FLAGSHIP.parents[2]}/")
    (tmp_path / "bad [s].yaml").write_text(data)
    proc = federation("validate", str(tmp_path / "bad [s].yaml"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "bad [s].yaml" in proc.stderr and "below the 1 ns resolution" in proc.stderr
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    proc = federation("run", str(FLAGSHIP), "--out", str(blocker / "sub"), "--stop", "60")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "cannot write results to" in proc.stderr and "a-file" in proc.stderr


def test_run_with_out_and_stop_is_quiet_when_not_a_terminal(fmu_dist: Path, tmp_path: Path) -> None:
    proc = federation("run", str(FLAGSHIP), "--out", str(tmp_path), "--stop", "3600")
    assert proc.returncode == 0, proc.stderr
    rows = (tmp_path / "results.csv").read_text().splitlines()
    assert len(rows) == 1 + 3600 // 5 + 1 and rows[-1].startswith("3600.0,")
    assert "━" not in proc.stderr  # no progress bar drawn into a pipe
    assert (tmp_path / "results.png").exists() and (tmp_path / "run.json").exists()


def test_ctrl_c_stops_cleanly_and_keeps_results(fmu_dist: Path, tmp_path: Path) -> None:
    # A shell's background job inherits SIGINT ignored (and Python keeps it so): as a terminal would, restore it.
    proc = subprocess.Popen([*CLI, "run", str(FLAGSHIP), "--out", str(tmp_path)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    results = tmp_path / "results.csv"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not results.exists() or results.stat().st_size < 50_000):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    rows = results.read_text().splitlines()
    assert rows[0].startswith("time,") and 2 < len(rows) < 17282
    assert all(len(r.split(",")) == len(rows[0].split(",")) for r in rows)  # no torn line
    info = json.loads((tmp_path / "run.json").read_text())
    assert info["status"] == "interrupted"


@pytest.mark.parametrize("mode", ["embedded", "grpc"])
def test_a_parameter_its_owner_keeps_private_cannot_be_set(fmu_dist: Path, tmp_path: Path, mode: str) -> None:
    proc = federation("run", str(FLAGSHIP), "--mode", mode, "--stop", "60", "--out", str(tmp_path),
                      "--set", "furnace.P_max=5e6")
    assert proc.returncode != 0
    text = " ".join(proc.stderr.split())
    assert "furnace.P_max" in text and "tunable" in text and "furnace_maker" in text


def test_set_accepts_a_tunable_parameter_in_exponent_notation(fmu_dist: Path, tmp_path: Path) -> None:
    proc = federation("run", str(FLAGSHIP), "--stop", "60", "--out", str(tmp_path), "--set", "grid.H=4e0")
    assert proc.returncode == 0, proc.stderr


def test_rti_serve_takes_any_limit_and_names_a_bad_one() -> None:
    from federation.server import Limits, with_limits

    limits = with_limits(Limits(), ["max_batch_messages=8192", "reap_after=2.5"])
    assert (limits.max_batch_messages, limits.reap_after, limits.hello_timeout) == (8192, 2.5, Limits().hello_timeout)
    for bad, words in [("nope=1", ["'nope=1'", "max_batch_messages"]),
                       ("max_batch_messages=1.5", ["max_batch_messages", "not an integer"]),
                       ("reap_after=-1", ["reap_after", "above 0"])]:
        proc = federation("rti", "serve", "--listen", "127.0.0.1:0", "--limit", bad)
        text = " ".join(proc.stderr.split())
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert all(w in text for w in words), text


@pytest.mark.parametrize("value", ["@x", "%x", "*a", "{a:", "[1,2"])
def test_set_takes_a_value_that_is_not_yaml_as_the_text_typed(fmu_dist: Path, tmp_path: Path, value: str) -> None:
    proc = federation("run", str(FLAGSHIP), "--stop", "60", "--out", str(tmp_path), "--set", f"furnace.T_set={value}")
    text = " ".join(proc.stderr.split())
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert f"value {value!r} does not match the Real type of furnace.T_set" in text, text


@pytest.mark.parametrize("param, words", [
    ("furnace.T_set=@x,1", ["'@x' does not match the Real type of furnace.T_set"]),
    ("nosuch.x=1,2", ["overrides.nosuch.x", "unknown federate 'nosuch'"]),
    ("furnace.T_set=1200,,1300", ["--param furnace.T_set: an empty value in '1200,,1300'"]),
    ("furnace.T_set=1200,1200", ["--param furnace.T_set: 1200 and 1200 are the same value"]),
])
def test_sweep_refuses_a_bad_param_before_any_run(fmu_dist: Path, tmp_path: Path, param: str, words: list[str]) -> None:
    proc = federation("sweep", str(FLAGSHIP), "--mode", "embedded", "--stop", "60", "--out", str(tmp_path / "s"),
                      "--param", param)
    text = " ".join(proc.stderr.split())
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert all(w in text for w in words), text
    assert not (tmp_path / "s").exists()


def test_sweep_reads_exponent_notation_and_draws_whole_numbers_for_an_integer_parameter(fmu_dist: Path, tmp_path: Path) -> None:
    proc = federation("sweep", str(FLAGSHIP), "--mode", "embedded", "--stop", "60", "--out", str(tmp_path / "grid"),
                      "--param", "furnace.T_set=1.1e3,1.2e3")
    assert proc.returncode == 0 and "2 runs, 2 completed" in proc.stdout, proc.stderr
    assert sorted(p.name for p in (tmp_path / "grid").iterdir() if p.is_dir()) == ["furnace.T_set=1100.0",
                                                                                   "furnace.T_set=1200.0"]
    proc = federation("sweep", str(FLAGSHIP), "--mode", "embedded", "--stop", "60", "--out", str(tmp_path / "mc"),
                      "--param", "vehicle.n_ev=10..20", "--samples", "2")
    assert proc.returncode == 0 and "2 runs, 2 completed" in proc.stdout, proc.stderr


def test_sweep_names_an_out_that_is_a_file_as_run_does(fmu_dist: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for command in (["run"], ["sweep", "--mode", "embedded", "--param", "furnace.T_set=1200"]):
        proc = federation(*command, str(FLAGSHIP), "--stop", "60", "--out", str(blocker))
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert f"cannot write results to {blocker}: File exists" in " ".join(proc.stderr.split()), proc.stderr


def test_a_terminated_grpc_run_ends_as_interrupted_and_leaves_nothing_behind(fmu_dist: Path, tmp_path: Path) -> None:
    import psutil

    tmp = tmp_path / "tmp"  # where the run's throw-away certificates (a CA key among them) go
    tmp.mkdir()
    out = tmp_path / "out"
    proc = subprocess.Popen([*CLI, "run", str(FLAGSHIP), "--mode", "grpc", "--out", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TMPDIR": str(tmp)})
    deadline = time.monotonic() + 90
    children: list[psutil.Process] = []
    # Running: its recording has begun and its processes (the RTI and the hosts) are up. results.csv alone
    # may come first: the recorder is made before anything is launched.
    while time.monotonic() < deadline and not ((out / "results.csv").exists() and len(children) >= 2):
        time.sleep(0.05)
        children = psutil.Process(proc.pid).children(recursive=True)
    assert len(children) >= 2, "the run started no host"
    proc.terminate()  # a CI job's timeout, or `kill`: it used to leave no run.json and the CA key in TMPDIR
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
    assert list(tmp.iterdir()) == []
    psutil.wait_procs(children, timeout=10)
    assert not [c.pid for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.parametrize("listen", ["127.0.0.1", "127.0.0.1:abc", "127.0.0.1:99999", "in-use"])
def test_rti_serve_names_an_address_it_cannot_listen_on(listen: str, tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        if listen == "in-use":
            listen = f"127.0.0.1:{taken.getsockname()[1]}"
        # A traceback before, or a silent bind elsewhere (99999 wrapped to 34463, no port meant 443).
        proc = federation("rti", "serve", "--listen", listen, "--audit", str(tmp_path / "audit.jsonl"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    said = " ".join(proc.stderr.split())
    assert f"got '{listen}'" in said or f"cannot listen on {listen}: the port is in use" in said, said


@pytest.mark.parametrize("command", [["run", str(FLAGSHIP), "--mode", "grpc", "--stop", "60", "--grant-timeout"],
                                     ["rti", "serve", "--listen", "127.0.0.1:0", "--grant-timeout"]])
@pytest.mark.parametrize("value", ["0", "-5", "nan"])
def test_a_grant_timeout_that_is_no_duration_is_refused_up_front(command: list[str], value: str,
                                                                  tmp_path: Path) -> None:
    # run used to start every process and then fail blaming the recorder (0) or with a raw gRPC error;
    # rti serve took it and failed every federation.
    proc = federation(*command, value, "--out" if command[0] == "run" else "--audit",
                      str(tmp_path / ("out" if command[0] == "run" else "audit.jsonl")))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "grant" in proc.stderr and "above 0" in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()


def test_validate_warns_when_nothing_will_be_recorded(fmu_dist: Path, tmp_path: Path) -> None:
    path = tmp_path / "blind.yaml"
    path.write_text(textwrap.dedent(f"""
        federation: blind
        time: {{start: 0, stop: 10, step: 1}}
        federates:
          grid: {{fmu: {fmu_dist / 'fmi3' / 'grid.fmu'}, site: utility, expose: []}}
        """))
    proc = federation("validate", str(path))
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr
    text = " ".join(proc.stderr.split())
    assert "warning" in text and "blind.yaml: federates: nothing will be recorded" in text
    assert "grid: expose is empty" in text


@pytest.mark.parametrize("listen", ["0.0.0.0:0", "[::]:0", "example.invalid:0", ":0"])
def test_rti_serve_without_tls_refuses_to_listen_beyond_loopback(listen: str, tmp_path: Path) -> None:
    proc = federation("rti", "serve", "--listen", listen, "--audit", str(tmp_path / "audit.jsonl"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    said = " ".join(proc.stderr.split())
    assert "refusing to listen on" in said and "without TLS" in said and "--insecure" in said, said
    assert not (tmp_path / "audit.jsonl").exists()


def test_rti_serve_insecure_beyond_loopback_says_which_address(tmp_path: Path) -> None:
    proc = subprocess.Popen([*CLI, "rti", "serve", "--listen", "0.0.0.0:0", "--insecure", "--audit",
                             str(tmp_path / "audit.jsonl")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().startswith("RTI listening on 0.0.0.0:")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "serving plaintext beyond loopback, on 0.0.0.0:0" in err, err


# ------------------------------------------------------------------------------------- from any working directory

SCRIPT = Path(sys.executable).with_name("federation")  # the venv's `federation`, as a user runs it

MODELS = '''
class Source:
    inputs = []
    outputs = {"y": "1"}
    def step(self, t, dt, inputs):
        return {"y": t + dt}

class Sink:
    inputs = {"u": "1"}
    outputs = {"z": "1"}
    def step(self, t, dt, inputs):
        return {"z": 2 * inputs["u"]}

class Raises(Sink):
    def step(self, t, dt, inputs):
        if t >= 2:
            raise ZeroDivisionError("boom")
        return super().step(t, dt, inputs)

class BrokenInit(Sink):
    def __init__(self):
        raise RuntimeError("cannot start")
'''


def python_scenario(folder: Path, sink: str = "Sink") -> Path:
    """A scenario with python federates whose module, models.py, sits beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "models.py").write_text(MODELS)
    path = folder / "scenario.yaml"
    path.write_text(textwrap.dedent(f"""\
        federation: beside
        time: {{start: 0.0, stop: 4.0, step: 1.0}}
        federates:
          source: {{python: "models:Source", site: lab}}
          sink: {{python: "models:{sink}", site: shop, expose: [z]}}  # shared though not connected: recorded
        connections: [source.y -> sink.u]
        """))
    return path


def run_elsewhere(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.mark.parametrize("mode", ["embedded", "grpc"])
def test_the_flagship_validates_and_runs_from_any_folder(fmu_dist: Path, tmp_path: Path, mode: str) -> None:
    proc = run_elsewhere(tmp_path / "cwd", "validate", str(FLAGSHIP))
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr
    proc = run_elsewhere(tmp_path / "cwd", "run", str(FLAGSHIP), "--mode", mode, "--stop", "600", "--no-plot",
                         "--out", "out")
    assert proc.returncode == 0, proc.stderr
    rows = (tmp_path / "cwd" / "out" / "results.csv").read_text().splitlines()
    assert rows[0].split(",")[-1] == "ems.curtail" and len(rows) == 1 + 600 // 5 + 1


@pytest.mark.parametrize("mode", ["embedded", "grpc"])
def test_a_python_model_beside_its_scenario_runs_from_any_folder(tmp_path: Path, mode: str) -> None:
    path = python_scenario(tmp_path / "scen")
    proc = run_elsewhere(tmp_path / "cwd", "validate", str(path))
    assert proc.returncode == 0, proc.stderr
    proc = run_elsewhere(tmp_path / "cwd", "run", str(path), "--mode", mode, "--no-plot", "--out", "out")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "cwd" / "out" / "results.csv").read_text().splitlines()[-1] == "4.0,4.0,6.0"  # Jacobi: u(3)


def test_a_module_in_the_working_directory_is_not_the_scenarios(tmp_path: Path) -> None:
    path = python_scenario(tmp_path / "scen")
    (tmp_path / "scen" / "models.py").rename(tmp_path / "models.py")  # now beside the working directory only
    proc = run_elsewhere(tmp_path, "validate", str(path))
    assert proc.returncode == 2
    assert f"module 'models' not found in {(tmp_path / 'scen').resolve()}" in " ".join(proc.stderr.split())


# ---------------------------------------------------------------------------------------- how a failed run ends

@pytest.mark.parametrize("mode", ["embedded", "grpc"])
def test_a_run_that_fails_before_its_first_step_says_so_and_mentions_no_results(tmp_path: Path, mode: str) -> None:
    path = python_scenario(tmp_path / "scen", "BrokenInit")
    proc = run_elsewhere(tmp_path, "run", str(path), "--mode", mode, "--insecure", "--no-plot", "--out", "out")
    said = " ".join(proc.stderr.split())
    assert proc.returncode == 1 and "cannot start" in said, said
    assert "it failed before its first step (t=0 s): no step was completed" in said
    assert "results" not in said.replace("results.csv", "")


def test_a_run_that_fails_later_keeps_and_names_its_results(tmp_path: Path) -> None:
    path = python_scenario(tmp_path / "scen", "Raises")
    (tmp_path / "out").mkdir()
    # a previous run's record is not this run's
    (tmp_path / "out" / "run.json").write_text('{"status": "completed", "last_time_s": 4.0, "steps": {"a": 4}}')
    proc = run_elsewhere(tmp_path, "run", str(path), "--no-plot", "--out", "out", "--force")
    said = " ".join(proc.stderr.split())
    assert proc.returncode == 1 and "boom" in said, said
    assert f"results up to the last completed step are in {tmp_path / 'out'}" in said
    assert "before its first step" not in said


# ------------------------------------------------------------------------------------ an FMU is not a scenario

@pytest.mark.parametrize("command", [["validate"], ["run"], ["sweep", "--param", "grid.H=4,5"],
                                     ["host", "--site", "utility", "--rti", "127.0.0.1:1"]])
def test_an_fmu_given_as_the_scenario_is_named_and_inspect_is_suggested(fmu_dist: Path, tmp_path: Path,
                                                                        command: list[str]) -> None:
    fmu = fmu_dist / "fmi3" / "grid.fmu"
    proc = run_elsewhere(tmp_path, command[0], str(fmu), *command[1:])
    said = " ".join(proc.stderr.split())
    assert proc.returncode == 2 and "Traceback" not in said, said
    assert "grid.fmu is an FMU, not a scenario file" in said and f"federation inspect {fmu}" in said


def test_a_zip_given_as_the_scenario_is_named(tmp_path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(tmp_path / "bundle.zip", "w") as archive:
        archive.writestr("scenario.yaml", "federation: x\n")
    proc = run_elsewhere(tmp_path, "validate", "bundle.zip")
    assert proc.returncode == 2 and "bundle.zip is a zip archive, not a scenario file (a YAML file)" in proc.stderr
