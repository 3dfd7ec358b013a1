"""The FMU federate kind: an FMI 2.0 or 3.0 co-simulation FMU driven through fmpy.

archive (safe reading of the zip), interface (modelDescription.xml), probe (the platform binary),
federate (stepping it through fmpy), kind (what the federation asks of it).
"""

from adapters.fmu.kind import KIND

__all__ = ["KIND"]
