"""FMI 3 arrays against fmpy: exposed, connected, set as parameters and recorded, element by element.

tests/conformance/cfmus/arrays3.c has 1-D and 2-D Float64 arrays, an Int32 and a Boolean array, an array whose size
a structural parameter sets, and a Float64 array input. Alone, each element's column equals fmpy's
(`result['Y'][:, i-1, j-1]` for `a.Y[i,j]`) exactly, in embedded and grpc mode; coupled, array to array, element to
scalar and scalar to element, embedded and grpc give the same bytes and the values the model's equations give.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import fmpy
import numpy
import pytest

from conformance import suite
from conformance.cfmu import build_c_fmu
from federation.kinds.arrays import split_element
from federation.runtime.embedded import run_embedded
from federation.scenario import ScenarioError, load_scenario

STOP, STEP = 3.0, 0.5


@pytest.fixture(scope="session")
def arrays_fmu(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_c_fmu("arrays3.c", "arrays3.xml", tmp_path_factory.mktemp("arrays3"))


def write_scenario(folder: Path, federates: dict[str, Any], connections: list[str] | None = None) -> Path:
    return suite.write_scenario(folder, federates, connections, federation="arrays", stop=STOP, step=STEP)


def run_grpc(path: Path, out: Path) -> None:
    done = suite.cli_run(path, out, "direct")
    assert done.returncode == 0, done.stderr


def fmpy_reference(fmu: Path, start_values: dict[str, Any]) -> Any:
    """fmpy's simulate_fmu, its array shapes those the structural parameter given sets (fmpy takes them from the
    start values in the model description, and sets the structural parameter in Instantiated)."""
    md = fmpy.read_model_description(str(fmu))
    if "n" in start_values:
        next(v for v in md.modelVariables if v.name == "z").shape = (start_values["n"],)
    flat = {k: numpy.asarray(v).flatten().tolist() if isinstance(v, list) else v for k, v in start_values.items()}
    return fmpy.simulate_fmu(str(fmu), model_description=md, start_time=0.0, stop_time=STOP, output_interval=STEP,
                             start_values=flat)


@pytest.mark.parametrize("parameters", [
    {},
    {"x": 1.0, "u": [1.0, 0.25, 2.0], "k": [0.5, -1.0, 3e3], "M": [[1.0, 0.0, -1.0], [2.5, 7.0, 0.125]], "n": 5},
], ids=["starts", "lists"])
def test_alone_every_element_equals_fmpys_column_in_embedded_and_grpc(arrays_fmu: Path, tmp_path: Path,
                                                                     parameters: dict[str, Any]) -> None:
    path = write_scenario(tmp_path / "scen", {"a": {"fmu": str(arrays_fmu), "site": "lab", "parameters": parameters}})
    embedded, grpc = tmp_path / "embedded", tmp_path / "grpc"
    result = run_embedded(load_scenario(path), embedded, plot=False)
    assert result.status == "completed", result.error
    run_grpc(path, grpc)
    assert (grpc / "results.csv").read_bytes() == (embedded / "results.csv").read_bytes()
    columns = suite.columns(embedded)
    reference = fmpy_reference(arrays_fmu, parameters)
    n = parameters.get("n", 2)
    assert list(columns) == (["time", "a.y[1]", "a.y[2]", "a.y[3]"]
                             + [f"a.Y[{i},{j}]" for i in (1, 2) for j in (1, 2, 3)]
                             + [f"a.z[{i}]" for i in range(1, n + 1)]
                             + ["a.c[1]", "a.c[2]", "a.b[1]", "a.b[2]", "a.b[3]", "a.s"])  # declaration order
    assert columns["time"] == reference["time"].tolist()
    for name, values in columns.items():
        if name == "time":
            continue
        split = split_element(name.removeprefix("a."))
        base, index = split if split else (name.removeprefix("a."), ())
        expected = reference[base][(slice(None), *(i - 1 for i in index))].astype(float)
        assert numpy.max(numpy.abs(numpy.array(values) - expected)) == 0.0, name
    assert columns["a.c[2]"][-1] == -n * STOP / STEP  # the structural parameter set the size and the value


def coupled(fmu: Path, folder: Path) -> Path:
    """Three sites: a's array feeds b's (array to array), one element of it b's scalar, a scalar one element of c's."""
    return write_scenario(folder, {
        "a": {"fmu": str(fmu), "site": "lab", "parameters": {"x": 1.0, "u": [1.0, 0.25, 2.0]},
              "expose": ["y", "Y", "s"]},
        "b": {"fmu": str(fmu), "site": "shop", "expose": ["y", "Y[2,3]", "s"]},
        "c": {"fmu": str(fmu), "site": "depot", "expose": ["s"]},  # array inputs, scalar outputs: the native step
    }, ["a.y -> b.u", "a.y[2] -> b.x", "a.s -> c.u[2]"])


def test_coupled_array_to_array_element_to_scalar_and_scalar_to_element(arrays_fmu: Path, tmp_path: Path) -> None:
    path = coupled(arrays_fmu, tmp_path / "scen")
    embedded, grpc = tmp_path / "embedded", tmp_path / "grpc"
    assert run_embedded(load_scenario(path), embedded, plot=False).status == "completed"
    run_grpc(path, grpc)
    assert (grpc / "results.csv").read_bytes() == (embedded / "results.csv").read_bytes()
    col = suite.columns(embedded)
    assert [c for c in col if c.startswith("b.")] == ["b.y[1]", "b.y[2]", "b.y[3]", "b.Y[2,3]", "b.s"]
    rows = len(col["time"])
    for r in range(1, rows):  # Jacobi: b steps from t with a's outputs at t
        t = col["time"][r]
        u = [col[f"a.y[{i}]"][r - 1] for i in (1, 2, 3)]
        x = col["a.y[2]"][r - 1]
        assert [col[f"b.y[{i}]"][r] for i in (1, 2, 3)] == [k * ui + x + t for k, ui in zip((1, 2, 3), u)]
        assert col["b.Y[2,3]"][r] == 6.0 * (t + 1.0) + u[2]
        assert col["b.s"][r] == sum(u) + 10.0 * x
        assert col["c.s"][r] == col["a.s"][r - 1]  # c.u[2] fed, c.u[1] and c.u[3] kept at their start, 0


def test_validate_names_both_sides_and_their_shapes(arrays_fmu: Path, tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "scen", {
        "a": {"fmu": str(arrays_fmu), "site": "lab", "parameters": {"n": 4}},
        "b": {"fmu": str(arrays_fmu), "site": "shop"},
    }, ["a.Y -> b.u", "a.z -> b.u", "a.y -> b.x", "a.s -> b.u", "a.y[4] -> b.x"])
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "connections[0]: shape mismatch: a.Y has shape [2,3], b.u has shape [3]" in message
    assert "connections[1]: shape mismatch: a.z has shape [4], b.u has shape [3]" in message  # n = 4 sets z's
    assert "connections[2]: shape mismatch: a.y has shape [3], b.x has shape () (a scalar); connect one element, " \
           "e.g. a.y[1] -> b.x" in message
    assert "connections[3]: shape mismatch: a.s has shape () (a scalar), b.u has shape [3]; connect it to one " \
           "element, e.g. a.s -> b.u[1]" in message
    assert ("connections[4]: a.y[4] is not an element of a.y, an array of shape [3] (indices start at 1: y[1] to "
            "y[3])") in message


def test_array_parameters_take_lists_of_their_shape(arrays_fmu: Path, tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "scen", {"a": {"fmu": str(arrays_fmu), "site": "lab", "parameters": {
        "k": [1.0, 2.0], "M": [[1.0, 2.0, 3.0], [4.0, 5.0]], "u": 1.0, "x": [1.0], "n": -1}}})
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "federates.a.parameters.k: a.k is an array of shape [3]: give a list of that shape; got a list of " \
           "shape [2]" in message
    assert "federates.a.parameters.M: a.M is an array of shape [2,3]: give a list of that shape (2 nested levels, " \
           "one per dimension, row-major); got a ragged list" in message
    assert "federates.a.parameters.u: a.u is an array of shape [3]: give a list of that shape; got a scalar" in message
    assert "federates.a.parameters.x: a.x is a scalar; got a list [1.0]" in message
    assert "federates.a.parameters.n: value -1 is outside the range of UInt64" in message


def test_inspect_shows_shapes(arrays_fmu: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "federation.cli", "inspect", str(arrays_fmu)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "  u [W]  Float64 array [3]  start=[0.0, 0.0, 0.0]  " in lines, lines
    assert "  Y  Float64 array [2,3]  start=[]  " in lines, lines
    assert "  z  Float64 array [n=2]  start=[]  " in lines, lines  # its size is the structural parameter n's
    assert "  b  Boolean array [3]  start=[]  " in lines, lines


@pytest.mark.slow
def test_coupled_arrays_on_ray_give_the_embedded_bytes(arrays_fmu: Path, tmp_path: Path) -> None:
    """The coordinator reads no model on Ray: each array's elements come from the FMUs' model descriptions here."""
    pytest.importorskip("ray")
    path = coupled(arrays_fmu, tmp_path / "scen")
    assert run_embedded(load_scenario(path), tmp_path / "embedded", plot=False).status == "completed"
    done = subprocess.run([sys.executable, "-m", "federation.cli", "run", str(path), "--mode", "ray", "--no-plot",
                           "--out", str(tmp_path / "ray")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "ray" / "results.csv").read_bytes() == (tmp_path / "embedded" / "results.csv").read_bytes()
