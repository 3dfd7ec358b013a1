"""Ring (or chain) scenarios of `node` FMUs, generated programmatically; shared by every benchmark and runtime mode.

    from bench.ring_scenario import write_ring
    path = write_ring(tmp_dir, n=8, steps=2000, fmi="2")      # -> tmp_dir/ring_n8_s2000_fmi2.yaml

Node i feeds node i+1 (`n{i}.y -> n{i+1}.u`); a ring also closes `n{N-1}.y -> n0.u`. With the default tau = 0 every
node computes y = u + 1 at the end of a step, like the mosaik/HELICS peer rings in shared/bench.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
_build_lock = threading.Lock()


def node_fmu(fmi: str | int = "2") -> Path:
    """Path of the node FMU for FMI 2 or 3, built (incrementally, a no-op when up to date) from fmus/node/."""
    version = int(fmi)
    with _build_lock:
        subprocess.run([sys.executable, str(REPO / "fmus" / "build.py"), "node", "--fmi", str(version)],
                       check=True, capture_output=True)
    return REPO / "fmus" / "dist" / f"fmi{version}" / "node.fmu"


def ring_dict(n: int, steps: int, fmu: Path, step: float = 1.0, tau: float = 0.0, topology: str = "ring",
              sites: int | None = None) -> dict:
    """The scenario mapping: n node federates, `steps` communication steps of `step` seconds.

    sites: number of distinct sites the nodes are dealt round-robin to; default one site per node.
    """
    if n < 1 or (topology == "ring" and n < 2):
        raise ValueError(f"a {topology} needs more nodes (got {n})")
    if topology not in ("ring", "chain"):
        raise ValueError(f"topology must be 'ring' or 'chain', got {topology!r}")
    k = n if sites is None else max(1, sites)
    federates = {f"n{i}": {"fmu": str(fmu), "site": f"s{i % k}", "parameters": {"tau": float(tau)}}
                 for i in range(n)}
    links = n if topology == "ring" else n - 1
    connections = [f"n{i}.y -> n{(i + 1) % n}.u" for i in range(links)]
    return {
        "federation": f"{topology}{n}",
        "time": {"start": 0.0, "stop": float(steps) * step, "step": float(step)},
        "federates": federates,
        "connections": connections,
        "output": {"variables": ["n0.y"]},
    }


def write_ring(directory: Path | str, n: int, steps: int, fmi: str | int = "2", *, step: float = 1.0,
               tau: float = 0.0, topology: str = "ring", sites: int | None = None,
               fmu: Path | None = None) -> Path:
    """Write a ring/chain scenario YAML into `directory` and return its path (FMU path absolute)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    fmu = (fmu or node_fmu(fmi)).resolve()
    data = ring_dict(n, steps, fmu, step=step, tau=tau, topology=topology, sites=sites)
    path = directory / f"{topology}_n{n}_s{steps}_fmi{int(fmi)}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, width=200))
    return path
