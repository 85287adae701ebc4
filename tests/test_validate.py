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
