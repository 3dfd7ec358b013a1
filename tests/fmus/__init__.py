"""Tests of the digital-twin FMUs built from fmus/."""
