"""Unit conversion arithmetic (federation.kinds.units): the FMI definitions, exact where they can be."""

from __future__ import annotations

import random
from fractions import Fraction

from federation.kinds.units import (CONVERTED, INCOMPATIBLE, SAME, STATED, UNDEFINED, UNITLESS, base_units, convert,
                                    explicit_link, link_units)

TEMPERATURE = (0, 0, 0, 0, 1, 0, 0, 0)
POWER = (1, 2, -3, 0, 0, 0, 0, 0)
DEFS = {"K": (TEMPERATURE, 1.0, 0.0), "degC": (TEMPERATURE, 1.0, 273.15),
        "degF": (TEMPERATURE, 5 / 9, 273.15 - 32 * 5 / 9),
        "W": (POWER, 1.0, 0.0), "VA": (POWER, 1.0, 0.0), "kW": (POWER, 1000.0, 0.0), "m": ((0, 1, 0, 0, 0, 0, 0, 0), 1.0, 0.0)}
VALUES = [0.0, -0.0, 1.0, 0.1, -40.0, 1e-300, 123456.789, 1e300] + [random.Random(16).uniform(-1e4, 1e4) for _ in range(200)]


def test_degc_to_kelvin_is_exactly_v_plus_273_15_and_back() -> None:
    to_k, to_c = link_units("degC", DEFS, "K", DEFS), link_units("K", DEFS, "degC", DEFS)
    assert to_k.status == CONVERTED and to_k.conversion is not None and to_c.conversion is not None
    for v in VALUES:
        assert convert(to_k.conversion, v) == v + 273.15
        assert convert(to_c.conversion, v) == v - 273.15


def test_power_by_factor_is_the_correctly_rounded_product_or_quotient() -> None:
    to_w, to_kw = link_units("kW", DEFS, "W", DEFS), link_units("W", DEFS, "kW", DEFS)
    assert to_w.conversion is not None and to_kw.conversion is not None
    for v in VALUES[:-1]:  # 1e300 kW overflows W
        assert convert(to_w.conversion, v) == float(Fraction(v) * 1000)
        assert convert(to_kw.conversion, v) == float(Fraction(v) / 1000)


def test_identical_definitions_and_same_names_are_not_converted() -> None:
    """No arithmetic at all: the value arrives bit for bit (-0.0 stays -0.0)."""
    assert link_units("W", DEFS, "VA", DEFS) == link_units("W", {}, "W", {}) == link_units("K", DEFS, "K", DEFS)
    assert link_units("W", DEFS, "VA", DEFS).status == SAME and link_units("W", DEFS, "VA", DEFS).conversion is None


def test_the_standard_formula_between_two_offset_units() -> None:
    link = link_units("degF", DEFS, "degC", DEFS)
    assert link.conversion is not None
    for v in (-40.0, 32.0, 212.0, 98.6):
        exact = (Fraction(5, 9) * Fraction(v) - 32 * Fraction(5, 9))  # the exact Celsius value
        assert abs(convert(link.conversion, v) - float(exact)) <= 1e-12 * max(1.0, abs(float(exact)))


def test_relative_quantities_ignore_offsets() -> None:
    """FMI: a temperature difference of 10 degC is 10 K."""
    assert link_units("degC", DEFS, "K", DEFS, relative=True).status == SAME
    link = link_units("degF", DEFS, "degC", DEFS, relative=True)
    assert link.conversion == (5 / 9, 0.0, 1.0)


def test_what_is_refused_or_taken_as_is() -> None:
    assert link_units("K", DEFS, "m", DEFS).status == INCOMPATIBLE and link_units("K", DEFS, "m", DEFS).refused
    assert link_units("K", {}, "kelvin", {}).status == UNDEFINED  # names differ, no definition says how
    assert link_units(None, {}, "K", DEFS).status == link_units("K", DEFS, None, {}).status == UNITLESS
    assert not link_units(None, {}, "K", DEFS).refused


def test_a_name_undefined_on_its_side_takes_the_other_sides_definition() -> None:
    """A python model's 'kW' (python models define no unit) into an FMU input in W that defines kW."""
    assert link_units("kW", {}, "W", DEFS).conversion == (1000.0, 0.0, 1.0)
    assert link_units("W", DEFS, "kW", {}).conversion == (1.0, 0.0, 1000.0)


def test_a_stated_conversion_is_factor_times_v_plus_offset() -> None:
    link = explicit_link(1.0, 273.15)
    assert link.status == STATED and link.conversion is not None and not link.refused
    assert all(convert(link.conversion, v) == v + 273.15 for v in VALUES)


def test_base_units_in_words() -> None:
    assert base_units(DEFS["W"]) == "kg.m2.s-3" and base_units(DEFS["K"]) == "K"
    assert base_units(((0,) * 8, 1.0, 0.0)) == "1" and base_units(None) == "?"
