"""Conformance: FMUs built at test time from our own C sources, run alone and coupled against fmpy as the reference master."""
