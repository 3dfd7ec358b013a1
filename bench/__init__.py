"""Benchmarks: ring / scale figures of the embedded runtime against direct fmpy and peer frameworks."""
