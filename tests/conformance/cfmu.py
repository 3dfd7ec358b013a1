"""Build a purpose-made C FMU for a test: one C file and its modelDescription.xml, zipped as an FMU.

The C file implements only the FMI functions its test needs; every other function fmpy binds on load
gets a stub that returns fmiError, so the FMU loads in any importer and fails loudly if one is called.
"""

from __future__ import annotations

import os
import re
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import fmpy
import fmpy.fmi2
import fmpy.fmi3

SOURCES = Path(__file__).resolve().parent / "cfmus"
_DEFINED = re.compile(r"\b(fmi[23]\w+)\s*\([^;{]*\)\s*\{", re.DOTALL)
_INCLUDED = re.compile(r'^#include "([^"]+)"', re.MULTILINE)


def fmi_functions(version: int) -> set[str]:
    """Every FMI function fmpy may bind for an FMU of this FMI version (both interfaces)."""
    module, classes = (fmpy.fmi2, ("FMU2Slave", "FMU2Model")) if version == 2 else (fmpy.fmi3, ("FMU3Slave", "FMU3Model"))
    prefix = f"fmi{version}"
    return {n for c in classes for n in dir(getattr(module, c)) if n.startswith(prefix)} | {f"{prefix}GetVersion"}


def build_c_fmu(source: str | Path, model_description: str | Path, out_dir: Path, name: str | None = None) -> Path:
    """Compile `source` (C text, or a file in cfmus/) into an FMU in `out_dir` and return its path.

    The FMI version and the model identifier come from the model description (text, or a file in cfmus/).
    """
    c_text = (SOURCES / source).read_text() if isinstance(source, Path) or str(source).endswith(".c") else str(source)
    xml = ((SOURCES / model_description).read_text() if isinstance(model_description, Path)
           or str(model_description).endswith(".xml") else str(model_description))
    root = ElementTree.fromstring(xml.encode())
    version = 3 if str(root.get("fmiVersion", "")).startswith("3") else 2
    identifiers = {str(e.get("modelIdentifier")) for e in root if e.get("modelIdentifier")}
    if len(identifiers) != 1:
        raise ValueError(f"expected one modelIdentifier, found {sorted(identifiers)}")
    identifier = identifiers.pop()
    out_dir.mkdir(parents=True, exist_ok=True)
    headers = "".join((SOURCES / h).read_text() for h in _INCLUDED.findall(c_text) if (SOURCES / h).is_file())
    defined = set(_DEFINED.findall(c_text + headers))  # what its own headers define too
    stubs = "".join(f"int {f}(void) {{ return 3; }}\n" for f in sorted(fmi_functions(version) - defined))
    c_file = out_dir / f"{identifier}.c"
    c_file.write_text(c_text + "\n/* stubs: fmiError for whatever this FMU does not implement */\n" + stubs)
    library = out_dir / f"{identifier}{fmpy.sharedLibraryExtension}"
    subprocess.run([os.environ.get("CC", "gcc"), "-shared", "-fPIC", "-std=c99", "-O2", "-ffp-contract=off",
                    "-Wall", "-I", str(SOURCES), "-o", str(library), str(c_file), "-lm"], check=True)
    platform = fmpy.platform_tuple if version == 3 else fmpy.platform
    path = out_dir / f"{name or identifier}.fmu"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("modelDescription.xml", xml)
        archive.write(library, f"binaries/{platform}/{identifier}{fmpy.sharedLibraryExtension}")
    return path
