"""Federate adapters: FMU (via fmpy), plain Python models and recorded-data replay."""
