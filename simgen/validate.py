"""Checks for constructor arguments coming from config; each raises ConfigError naming the key."""

from __future__ import annotations

import math
from numbers import Real
from typing import Any, Iterable, Mapping, Optional, Sequence

from simgen.errors import ConfigError


def number(key: str, value: Any, low: Optional[float] = None, high: Optional[float] = None,
           low_open: bool = False) -> float:
    """A finite real number, optionally within [low, high] (or (low, high] when low_open)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ConfigError(key, f"expected a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ConfigError(key, f"expected a finite number, got {value!r}")
    if not _inside(value, low, high, low_open):
        raise ConfigError(key, f"expected a number {_bounds(low, high, low_open)}, got {value!r}")
    return value


def number_range(key: str, lo: float, hi: float, low: Optional[float] = None, high: Optional[float] = None,
                 low_open: bool = False) -> None:
    """Every number from lo to hi within [low, high] (or (low, high] when low_open); an infinite end (a range
    unbounded on that side) is not checked."""
    if lo == hi:
        number(key, lo, low, high, low_open)
    elif not all(_inside(end, low, high, low_open) for end in (lo, hi) if math.isfinite(end)):
        raise ConfigError(key, f"expected numbers {_bounds(low, high, low_open)}, got values from {lo} to {hi}")


def _inside(value: float, low: Optional[float], high: Optional[float], low_open: bool) -> bool:
    below = value <= low if (low is not None and low_open) else (low is not None and value < low)
    return not below and (high is None or value <= high)


def integer(key: str, value: Any, low: Optional[int] = None, high: Optional[int] = None) -> int:
    """An integer, optionally within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, f"expected an integer, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(key, f"expected an integer {_bounds(low, high)}, got {value!r}")
    return int(value)


def _bounds(low: Optional[float], high: Optional[float], low_open: bool = False) -> str:
    """'in [low, high]', '>= low', '> low' or '<= high', as the bounds given ask."""
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low}, {high}]"
    if low is not None:
        return f"{'>' if low_open else '>='} {low}"
    return f"<= {high}"


def boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, f"expected true or false, got {value!r}")
    return value


def choice(key: str, value: Any, options: Iterable[str]) -> str:
    options = list(options)
    if value not in options:
        raise ConfigError(key, f"expected one of {', '.join(map(str, options))}; got {value!r}")
    return value


def choices(key: str, values: Any, options: Iterable[str]) -> list[str]:
    """A non-empty list of names, each one of `options` (repeats allowed: they weigh a draw)."""
    options = list(options)
    if isinstance(values, str) or not isinstance(values, Sequence) or not values:
        raise ConfigError(key, f"expected a non-empty list of {', '.join(options)}, got {values!r}")
    return [choice(f"{key}[{i}]", v, options) for i, v in enumerate(values)]


def vector(key: str, value: Any, size: int) -> tuple:
    """A sequence of `size` real numbers, as a tuple of floats."""
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != size:
        raise ConfigError(key, f"expected a list of {size} numbers, got {value!r}")
    return tuple(number(f"{key}[{i}]", v) for i, v in enumerate(value))


def int_range(key: str, value: Any, low: int = 0, high: Optional[int] = None) -> tuple[int, int]:
    """An inclusive integer range given as `n` or `[min, max]`, with low <= min <= max <= high."""
    pair = [value, value] if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
        raise ConfigError(key, f"expected an integer or [min, max], got {value!r}")
    lo, hi = (integer(f"{key}[{i}]", v, low=low, high=high) for i, v in enumerate(pair))
    if lo > hi:
        raise ConfigError(key, f"expected min <= max, got {value!r}")
    return lo, hi


def mapping(key: str, value: Any, shape: str) -> dict:
    """`value` as a dict where it is a mapping; else a ConfigError naming `key` and the `shape` expected."""
    if not isinstance(value, Mapping):
        raise ConfigError(key, f"expected a mapping {shape}, got {value!r}")
    return dict(value)


def known_keys(key: str, cfg: Mapping, known: Sequence[str]) -> None:
    """Every key of `cfg` (the mapping at `key`) one of `known`."""
    unknown = sorted(map(str, set(cfg) - set(known)))
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}", f"unknown key (expected one of {', '.join(known)})")
