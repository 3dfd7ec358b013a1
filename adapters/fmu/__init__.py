"""The FMU federate kind: an FMI 2.0 or 3.0 FMU driven through fmpy (co-simulation, or Model Exchange).

archive (safe reading of the zip), interface (modelDescription.xml, cached, with the FMI type tables),
probe (the platform binary), binding (FMI calls through fmpy, the FMU's log), cache (one extraction per
process), federate (stepping it in the federation), exchange (a Model Exchange FMU integrated by a solver,
as fmpy's own master does), kind (what the federation asks of it).
"""

from adapters.fmu.kind import KIND

__all__ = ["KIND"]
