"""Check an FMU's binary for this platform (of the interface that runs: co-simulation or Model Exchange)
before anything runs it.

The binary must be in the archive and load, with its FMI entry points, in a throw-away
child process: a damaged library (say, truncated by a bad export) can crash the process
that loads it (SIGBUS, SIGSEGV) before any error can be raised, and the run with it.
"""

from __future__ import annotations

import functools
import signal
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

from adapters.fmu import archive as fmu_archive
from federation.kinds.interface import FederateInterface, InterfaceError

# What the adapters call: a library without them fails later, less clearly.
ENTRY_POINTS = {
    "2": ("fmi2Instantiate", "fmi2SetupExperiment", "fmi2DoStep", "fmi2FreeInstance"),
    "3": ("fmi3InstantiateCoSimulation", "fmi3DoStep", "fmi3FreeInstance"),
}
# Model Exchange: what adapters.fmu.exchange calls to integrate the model and handle its events.
ME_ENTRY_POINTS = {
    "2": ("fmi2Instantiate", "fmi2SetupExperiment", "fmi2EnterEventMode", "fmi2NewDiscreteStates",
          "fmi2EnterContinuousTimeMode", "fmi2CompletedIntegratorStep", "fmi2SetTime", "fmi2SetContinuousStates",
          "fmi2GetDerivatives", "fmi2GetEventIndicators", "fmi2GetContinuousStates",
          "fmi2GetNominalsOfContinuousStates", "fmi2FreeInstance"),
    "3": ("fmi3InstantiateModelExchange", "fmi3EnterEventMode", "fmi3UpdateDiscreteStates",
          "fmi3EnterContinuousTimeMode", "fmi3CompletedIntegratorStep", "fmi3SetTime", "fmi3SetContinuousStates",
          "fmi3GetContinuousStateDerivatives", "fmi3GetEventIndicators", "fmi3GetContinuousStates",
          "fmi3GetNominalsOfContinuousStates", "fmi3FreeInstance"),
}
PROBE_TIMEOUT = 30.0  # s; a library's constructors run on load

_PROBE = """\
import ctypes, sys
try:
    lib = ctypes.CDLL(sys.argv[1])
except OSError as exc:
    sys.exit(f"cannot be loaded: {exc}")
missing = [name for name in sys.argv[2:] if not hasattr(lib, name)]
if missing:
    sys.exit("does not export " + ", ".join(missing))
"""


def check_fmu_binary(path: Path, interface: FederateInterface, load: bool = True, model_exchange: bool = False) -> None:
    """Raise InterfaceError unless the FMU's binary for this platform is there and (with `load`) loads, in a
    child process: loading runs the library's constructors, its owner's code. With `model_exchange`, the binary
    of that interface, which must export the Model Exchange functions."""
    import fmpy

    fmi3 = (interface.fmi_version or "").startswith("3")
    platform = fmpy.platform_tuple if fmi3 else fmpy.platform
    named = interface.model_identifiers.get("model_exchange") if model_exchange else None
    try:
        identifier = fmu_archive.plain_file_name(path, "modelIdentifier", named or interface.model_identifier)
        with fmu_archive.open_fmu(path) as archive:
            names = archive.namelist()
    except fmu_archive.ArchiveError as exc:
        raise InterfaceError(str(exc)) from None
    binary = f"binaries/{platform}/{identifier}{fmpy.sharedLibraryExtension}"
    if binary not in names:
        found = sorted({n.split("/")[1] for n in names if n.startswith("binaries/") and n.count("/") >= 2})
        if platform not in found:
            raise InterfaceError(f"{path}: no binary for this platform ({platform}); the FMU has binaries for: "
                                 f"{fmu_archive.clip(', '.join(found)) or 'none'}")
        present = sorted(n for n in names if n.startswith(f"binaries/{platform}/") and not n.endswith("/"))
        raise InterfaceError(f"{path}: {binary} is missing (modelIdentifier {identifier!r}); "
                             f"binaries/{platform}/ holds: {fmu_archive.clip(', '.join(present)) or 'nothing'}")
    if not load:
        return
    resolved = Path(path).resolve()
    stat = resolved.stat()
    try:
        problem = _probe(resolved, stat.st_mtime_ns, stat.st_size, binary,
                         (ME_ENTRY_POINTS if model_exchange else ENTRY_POINTS)["3" if fmi3 else "2"])
    except subprocess.TimeoutExpired:  # not cached: a busy moment is no verdict on the library
        problem = f"did not finish loading within {PROBE_TIMEOUT:g} s"
    if problem:
        raise InterfaceError(f"{path}: {binary} {problem}")


@functools.lru_cache(maxsize=128)
def _probe(path: Path, mtime_ns: int, size: int, binary: str, entry_points: tuple[str, ...]) -> str:
    """What is wrong with loading `binary` of the FMU at `path` ('' if nothing); keyed like the interface cache."""
    folder = binary.rsplit("/", 1)[0]
    with tempfile.TemporaryDirectory(prefix="fmu-probe-") as tmp:
        try:
            with fmu_archive.open_fmu(path) as archive:  # the whole folder: a library may need its neighbours
                fmu_archive.extract(path, archive, Path(tmp), include=lambda name: name.startswith(folder + "/"))
        except fmu_archive.ArchiveError as exc:
            return f"cannot be extracted: {exc}"
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
            return f"cannot be extracted: {fmu_archive.clip(str(exc))}"
        extracted = str(Path(tmp) / binary)
        # Loaded from its own folder, as fmpy loads it (a library may find its neighbours from there).
        proc = subprocess.run([sys.executable, "-I", "-S", "-c", _PROBE, extracted, *entry_points],
                              capture_output=True, text=True, timeout=PROBE_TIMEOUT, cwd=Path(tmp) / folder)
    if proc.returncode == 0:
        return ""
    if proc.returncode < 0:
        try:
            name = signal.Signals(-proc.returncode).name
        except ValueError:
            name = f"signal {-proc.returncode}"
        return f"crashes the process that loads it ({name}): the library is damaged or not built for this platform"
    said = [line.replace(f"{extracted}: ", "").strip() for line in proc.stderr.splitlines() if line.strip()]
    return said[-1] if said else f"cannot be loaded (exit code {proc.returncode})"
