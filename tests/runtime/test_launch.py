"""The local launcher's contract with its children: typed host options, a machine-readable RTI readiness.

Real processes throughout: `federation run --mode grpc` (run_grpc), `federation host --options`,
`federation rti serve --ready-file`.
"""

from __future__ import annotations

import ast
import json
import subprocess
import textwrap
import time
from pathlib import Path

from federation.runtime.launch import HostOptions
from federation.runtime.local import federation_command, run_grpc
from federation.runtime.processes import stop_all
from federation.scenario import load_scenario

# Values that text would turn into other values: YAML 1.1 writes "1e3" and "inf" unquoted, and a
# --set reader takes them for numbers; 1e-320 is a float below YAML's plain float syntax.
TRICKY = {"a": "1e3", "b": "inf", "c": 1e-320, "d": 10**30, "e": "-.5E-1"}


def _recording_scenario(folder: Path) -> Path:
    """One Python-model federate that writes the parameters it was built with to `record`."""
    (folder / "rec_models.py").write_text(textwrap.dedent('''
        from pathlib import Path


        class Record:
            inputs = {}
            outputs = {"y": "1"}

            def __init__(self, record="", a=0, b=0, c=0, d=0, e=0):
                Path(record).write_text(repr({"a": a, "b": b, "c": c, "d": d, "e": e}))

            def step(self, t, dt, inputs):
                return {"y": t + dt}
        '''))
    path = folder / "rec.yaml"
    path.write_text(textwrap.dedent(f"""
        federation: typed-options
        time: {{start: 0.0, stop: 2.0, step: 1.0}}
        federates:
          rec: {{python: "rec_models:Record", site: alpha, step: 1.0,
                 parameters: {{record: {str(folder / 'record.txt')!r}, a: 0, b: 0, c: 0, d: 0, e: 0}}}}
        output: {{variables: [rec.y]}}
        """))
    return path


def test_override_values_reach_a_host_process_as_typed(tmp_path: Path) -> None:
    """A value given in code reaches the host process with its type: no text round trip on the way."""
    scenario = load_scenario(_recording_scenario(tmp_path), {f"rec.{k}": v for k, v in TRICKY.items()})
    result = run_grpc(scenario, tmp_path / "out", plot=False, insecure=True)
    assert result.status == "completed", result.error
    assert ast.literal_eval((tmp_path / "record.txt").read_text()) == TRICKY
    options = HostOptions.read(tmp_path / "out" / "launch" / "host-alpha.json")
    assert options.site == "alpha" and options.overrides == {f"rec.{k}": v for k, v in TRICKY.items()}


def test_host_options_round_trip_infinities() -> None:
    """inf and nan stay floats in the JSON file (pydantic would write null)."""
    options = HostOptions(scenario=Path("s.yaml"), site="a", rti="127.0.0.1:1",
                          overrides={"x.p": float("inf"), "x.q": float("-inf")})
    assert HostOptions.model_validate_json(options.model_dump_json()).overrides == options.overrides


def _host(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(federation_command("host", *args), capture_output=True, text=True, timeout=120)


def test_host_refuses_bad_options_naming_them(tmp_path: Path) -> None:
    bad = tmp_path / "opts.json"
    bad.write_text('{"scenario": "s.yaml", "site": "a"}')
    proc = _host("--options", str(bad))
    assert proc.returncode == 2 and str(bad) in " ".join(proc.stderr.split()) and "rti" in proc.stderr
    proc = _host("--options", str(tmp_path / "missing.json"))
    assert proc.returncode == 2 and "missing.json" in proc.stderr
    good = HostOptions(scenario=tmp_path / "s.yaml", site="a", rti="127.0.0.1:1").write(tmp_path / "good.json")
    proc = _host("--options", str(good), "--site", "b")
    assert proc.returncode == 2 and "--site" in proc.stderr
    proc = _host(str(tmp_path / "s.yaml"), "--site", "a")
    assert proc.returncode == 2 and "--rti" in proc.stderr


def test_rti_serve_writes_its_ready_file(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    proc = subprocess.Popen(federation_command("rti", "serve", "--listen", "127.0.0.1:0", "--no-gate", "--ready-file",
                                               str(ready), "--audit", str(tmp_path / "audit.jsonl")),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the RTI never wrote its ready file"
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        assert info["pid"] == proc.pid
        assert info["listen"] == f"127.0.0.1:{info['port']}" and info["port"] > 0
        assert proc.stdout is not None and proc.stdout.readline().strip() == f"RTI listening on {info['listen']}"
        assert not list(tmp_path.glob("*.tmp"))
    finally:
        stop_all([proc])  # type: ignore[list-item]
