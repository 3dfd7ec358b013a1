"""One extraction of each FMU per process (keyed by path, size and mtime), with its parsed modelDescription."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import fmpy
from fmpy.model_description import ModelDescription, ScalarVariable

from adapters.fmu import archive as fmu_archive
from adapters.fmu.binding import FMUError

__all__ = ["ExtractedFMU", "extract_fmu"]


@dataclass(frozen=True)
class ExtractedFMU:
    path: Path
    directory: str
    model: ModelDescription

    @property
    def variables(self) -> dict[str, ScalarVariable]:
        return {v.name: v for v in self.model.modelVariables}


_cache: dict[tuple[str, int, int], ExtractedFMU] = {}
_cache_lock = threading.Lock()


def extract_fmu(path: Path) -> ExtractedFMU:
    """Read and unzip an FMU once per process (keyed by path, size and mtime)."""
    path = Path(path).resolve()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is None:
            # Our own directory, its cleanup registered before extracting: a damaged zip leaves nothing behind.
            directory = tempfile.mkdtemp(prefix=f"fmu-{path.stem}-")
            atexit.register(shutil.rmtree, directory, True)
            try:
                model = _extract(path, Path(directory))
            except Exception:
                shutil.rmtree(directory, ignore_errors=True)
                raise
            hit = _cache[key] = ExtractedFMU(path, directory, model)
        return hit


def _extract(path: Path, directory: Path) -> ModelDescription:
    """Check the archive, extract it into `directory` and read its model description (FMUError if refused)."""
    try:
        with fmu_archive.open_fmu(path) as archive:
            fmu_archive.read_model_description(path, archive)  # well-formed, within its limit, no entities
            fmu_archive.extract(path, archive, directory)
    except fmu_archive.ArchiveError as exc:
        raise FMUError(str(exc)) from None
    except Exception as exc:  # a damaged member (bad CRC, broken stream) or a full disk
        raise FMUError(f"{path}: cannot extract the FMU: {fmu_archive.clip(str(exc))}") from exc
    try:
        # The document just checked. As `validate` reads it: fmpy's schema checks refuse common
        # third-party FMUs (a unit without a UnitDefinition) that run fine; validation checks what matters.
        model = fmpy.read_model_description(str(directory), validate=False)
    except Exception as exc:  # fmpy raises bare Exceptions (and lxml's) for an XML it cannot use
        raise FMUError(f"{path}: cannot read modelDescription.xml: {fmu_archive.parse_error(exc)}") from exc
    offered = [interface for interface in (model.coSimulation, model.modelExchange) if interface is not None]
    if not offered:
        raise FMUError(f"{path}: the FMU supports neither co-simulation nor model exchange")
    try:  # each names the library fmpy loads: it must not name a file outside the FMU's folder
        for interface in offered:
            fmu_archive.plain_file_name(path, "modelIdentifier", interface.modelIdentifier)
    except fmu_archive.ArchiveError as exc:
        raise FMUError(str(exc)) from None
    return model
