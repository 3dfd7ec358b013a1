"""federation: a federated, HLA-style co-simulation orchestrator for FMU digital twins."""

__version__ = "0.1.0"
