"""Config checks name the key and say in words what was expected."""

import pytest

from simgen import validate
from simgen.errors import ConfigError


@pytest.mark.parametrize("check, expected", [
    (lambda: validate.integer("workers", -3, low=0), "workers: expected an integer >= 0, got -3"),
    (lambda: validate.integer("camera.width", 0, 1, 8192), "camera.width: expected an integer in [1, 8192], got 0"),
    (lambda: validate.integer("k", 9, high=8), "k: expected an integer <= 8, got 9"),
    (lambda: validate.number("scale", 0, low=0, low_open=True), "scale: expected a number > 0, got 0.0"),
    (lambda: validate.number("p", 2, 0, 1), "p: expected a number in [0, 1], got 2.0"),
])
def test_out_of_range_values_are_named_with_their_bounds(check, expected):
    with pytest.raises(ConfigError) as err:
        check()
    assert str(err.value) == expected


@pytest.mark.parametrize("value, shown", [(float("nan"), "nan"), (float("inf"), "inf"), (-float("inf"), "-inf")])
def test_non_finite_numbers_are_refused(value, shown):
    with pytest.raises(ConfigError) as err:
        validate.number("camera.fov", value)
    assert str(err.value) == f"camera.fov: expected a finite number, got {shown}"


@pytest.mark.parametrize("lo, hi, expected", [
    (0.5, 2.0, None),
    (1.0, float("inf"), None),  # unbounded above: only the finite end is checked
    (0.0, 0.0, "scale: expected a number > 0, got 0.0"),
    (-1.0, 2.0, "scale: expected numbers > 0, got values from -1.0 to 2.0"),
    (-float("inf"), -1.0, "scale: expected numbers > 0, got values from -inf to -1.0"),
])
def test_number_range_checks_both_ends(lo, hi, expected):
    if expected is None:
        validate.number_range("scale", lo, hi, low=0, low_open=True)
        return
    with pytest.raises(ConfigError) as err:
        validate.number_range("scale", lo, hi, low=0, low_open=True)
    assert str(err.value) == expected
