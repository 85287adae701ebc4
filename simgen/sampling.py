"""Value samplers: `sample(rng) -> value`, declared in config and driven by an explicit rng.

A config value that is a plain number is a Constant, a pair `[low, high]` is a Uniform, and
anything with a `_target_` (say `simgen.sampling.Normal`) is that sampler. A sampler of numbers may tell the
range of its draws, `bounds() -> (least, greatest)`, so that a range can be checked before any frame is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real
from typing import Any, Optional, Protocol, Sequence, runtime_checkable

import numpy as np

from simgen import validate
from simgen.errors import ConfigError


@runtime_checkable
class Sampler(Protocol):
    def sample(self, rng: np.random.Generator) -> Any: ...


def _array(key: str, value: Any) -> np.ndarray:
    """A number or a list of numbers as a float array, checked."""
    if isinstance(value, Real) and not isinstance(value, bool):
        return np.asarray(validate.number(key, value))
    if isinstance(value, Sequence) and not isinstance(value, str):
        return np.asarray(validate.vector(key, value, len(value)))
    raise ConfigError(key, f"expected a number or a list of numbers, got {value!r}")


def _finite(key: str, value: Any) -> Any:
    """`value` as is, once every number in it (a number or nested lists of them) is finite."""
    if isinstance(value, Real) and not isinstance(value, bool):
        validate.number(key, value)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        for i, v in enumerate(value):
            _finite(f"{key}[{i}]", v)
    return value


def _scalar(value: Any) -> bool:
    """A single number (a 0-d array included), not a list or a bool."""
    return np.ndim(value) == 0 and isinstance(value, (Real, np.ndarray)) and not isinstance(value, bool)


def _plain(value: np.ndarray) -> Any:
    """A numpy result as a float or a tuple of floats (JSON-friendly, hashable)."""
    return float(value) if np.ndim(value) == 0 else tuple(float(v) for v in np.ravel(value))


@dataclass(frozen=True)
class Constant:
    value: Any

    def __post_init__(self):
        _finite("value", self.value)

    def sample(self, rng: np.random.Generator) -> Any:
        return self.value

    def bounds(self) -> Optional[tuple[float, float]]:
        return (float(self.value),) * 2 if _scalar(self.value) else None

    def extent(self) -> Optional[Extent]:
        return _numbers_extent([self.value])


class Uniform:
    """Uniform in [low, high]; low and high may be numbers or equal-length lists."""

    def __init__(self, low: Any, high: Any):
        self.low, self.high = _array("low", low), _array("high", high)
        if self.low.shape != self.high.shape or np.any(self.low > self.high):
            raise ConfigError("high", f"expected high >= low of the same shape, got {low!r}..{high!r}")

    def sample(self, rng: np.random.Generator) -> Any:
        return _plain(rng.uniform(self.low, self.high))

    def bounds(self) -> Optional[tuple[float, float]]:
        return (float(self.low), float(self.high)) if _scalar(self.low) else None

    def extent(self) -> Extent:
        return self.low, self.high

    def __repr__(self) -> str:
        return f"Uniform({_plain(self.low)}, {_plain(self.high)})"


class Normal:
    """Normal(mean, std), optionally clipped to [low, high]."""

    def __init__(self, mean: Any, std: Any, low: Any = None, high: Any = None):
        self.mean, self.std = _array("mean", mean), _array("std", std)
        if np.any(self.std < 0):
            raise ConfigError("std", f"expected std >= 0, got {std!r}")
        self.low = None if low is None else _array("low", low)
        self.high = None if high is None else _array("high", high)
        if self.low is not None and self.high is not None and np.any(self.low > self.high):
            raise ConfigError("high", f"expected high >= low, got {low!r}..{high!r}")

    def sample(self, rng: np.random.Generator) -> Any:
        value = rng.normal(self.mean, self.std)
        if self.low is not None or self.high is not None:
            value = np.clip(value, self.low, self.high)
        return _plain(value)

    def bounds(self) -> Optional[tuple[float, float]]:
        """[low, high] as clipped; an end not clipped is unbounded (infinite)."""
        if not all(v is None or _scalar(v) for v in (self.mean, self.std, self.low, self.high)):
            return None
        return (-np.inf if self.low is None else float(self.low), np.inf if self.high is None else float(self.high))

    def extent(self) -> Extent:
        shape = np.broadcast(*(v for v in (self.mean, self.std, self.low, self.high) if v is not None)).shape
        return (np.broadcast_to(-np.inf if self.low is None else self.low, shape).astype(float),
                np.broadcast_to(np.inf if self.high is None else self.high, shape).astype(float))


class LogUniform:
    """Log-uniform in [low, high], both > 0: every decade is equally likely."""

    def __init__(self, low: float, high: float):
        self.low = validate.number("low", low, low=0, low_open=True)
        self.high = validate.number("high", high, low=self.low)

    def sample(self, rng: np.random.Generator) -> float:
        return float(np.exp(rng.uniform(np.log(self.low), np.log(self.high))))

    def bounds(self) -> tuple[float, float]:
        return self.low, self.high


class UniformInt:
    """An integer uniform in [low, high], both inclusive."""

    def __init__(self, low: int, high: int):
        self.low, self.high = validate.int_range("low..high", [low, high], low=-(2**31))

    def sample(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.low, self.high + 1))

    def bounds(self) -> tuple[float, float]:
        return float(self.low), float(self.high)


class Choice:
    """One of `values`, with optional relative `weights`."""

    def __init__(self, values: Sequence[Any], weights: Optional[Sequence[float]] = None):
        if not isinstance(values, Sequence) or isinstance(values, str) or not values:
            raise ConfigError("values", f"expected a non-empty list, got {values!r}")
        self.values = [_finite(f"values[{i}]", v) for i, v in enumerate(values)]
        self.p = None
        if weights is not None:
            w = _array("weights", list(weights))
            if w.shape != (len(self.values),) or np.any(w < 0) or w.sum() <= 0:
                raise ConfigError("weights", f"expected {len(self.values)} non-negative weights, got {weights!r}")
            self.p = w / w.sum()

    def sample(self, rng: np.random.Generator) -> Any:
        return self.values[int(rng.choice(len(self.values), p=self.p))]

    def bounds(self) -> Optional[tuple[float, float]]:
        """The least and greatest of the values that can be drawn, when all are numbers."""
        drawn = [v for i, v in enumerate(self.values) if self.p is None or self.p[i] > 0]
        return (float(min(drawn)), float(max(drawn))) if all(map(_scalar, drawn)) else None

    def extent(self) -> Optional[Extent]:
        return _numbers_extent([v for i, v in enumerate(self.values) if self.p is None or self.p[i] > 0])


class OnSphere:
    """A unit vector, uniform on the sphere cap within `elevation` degrees [min, max] above the xy plane
    and `azimuth` degrees [min, max] around z."""

    def __init__(self, elevation: Sequence[float] = (-90.0, 90.0), azimuth: Sequence[float] = (0.0, 360.0)):
        self.elevation = Uniform(*validate.vector("elevation", elevation, 2))
        self.azimuth = Uniform(*validate.vector("azimuth", azimuth, 2))
        if not -90 <= self.elevation.low <= self.elevation.high <= 90:
            raise ConfigError("elevation", f"expected -90 <= min <= max <= 90, got {elevation!r}")

    def sample(self, rng: np.random.Generator) -> tuple:
        lo, hi = np.sin(np.radians([float(self.elevation.low), float(self.elevation.high)]))
        z = rng.uniform(lo, hi)  # uniform in z gives uniform area on the sphere
        az = np.radians(self.azimuth.sample(rng))
        r = np.sqrt(max(0.0, 1 - z * z))
        return (float(r * np.cos(az)), float(r * np.sin(az)), float(z))


Extent = tuple[np.ndarray, np.ndarray]  # the least and the greatest value of each element of a sampler's draws


def _numbers_extent(values: Sequence[Any]) -> Optional[Extent]:
    """The elementwise least and greatest of `values`, numbers or lists of numbers of one length; else None."""
    try:
        stacked = np.asarray(values, dtype=float)
    except (TypeError, ValueError):  # not numbers, or lists of different lengths: their draws are checked
        return None
    return stacked.min(axis=0), stacked.max(axis=0)


def extent(sampler: Sampler) -> Optional[Extent]:
    """The least and greatest value each element of `sampler`'s draws can take (infinite where unbounded), as
    arrays of the draws' shape; None where not known."""
    known = getattr(sampler, "extent", None)
    if callable(known):
        return known()
    scalar = bounds(sampler)
    return None if scalar is None else (np.asarray(scalar[0], dtype=float), np.asarray(scalar[1], dtype=float))


def check_extent(key: str, sampler: Sampler, size: int, low: float, high: float) -> None:
    """Where `sampler` draws `size` numbers at a time within a known range, each of them within [low, high] (an
    unbounded end is checked at each draw instead)."""
    known = extent(sampler)
    if known is None or np.shape(known[0]) != (size,):
        return
    for i, (least, greatest) in enumerate(zip(*known)):
        validate.number_range(f"{key}[{i}]", float(least), float(greatest), low, high)


def bounds(sampler: Sampler) -> Optional[tuple[float, float]]:
    """The least and greatest value `sampler` can draw (infinite where unbounded); None where not known."""
    known = getattr(sampler, "bounds", None)
    return known() if callable(known) else None


def as_sampler(key: str, value: Any, low: Optional[float] = None, high: Optional[float] = None,
               low_open: bool = False) -> Sampler:
    """A config value as a Sampler (sampler as is, number -> Constant, [low, high] -> Uniform) whose draws, where
    their range is known, all lie within [low, high] (or (low, high] when low_open)."""
    sampler = _sampler(key, value)
    known = bounds(sampler)
    if known is not None:
        validate.number_range(key, *known, low, high, low_open)
    return sampler


def _sampler(key: str, value: Any) -> Sampler:
    if isinstance(value, Sampler) and not isinstance(value, (Real, str)):
        return value
    if isinstance(value, Real) and not isinstance(value, bool):
        return Constant(validate.number(key, value))
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        try:
            return Uniform(value[0], value[1])
        except ConfigError as err:
            raise ConfigError(key, err.detail) from None
    raise ConfigError(key, f"expected a number, [low, high] or a sampler with _target_, got {value!r}")


def vector_sampler(key: str, value: Any, size: int) -> Sampler:
    """A config value for a vector of `size` numbers as a Sampler: a sampler as is, [x, y, ...] -> Constant,
    [[low...], [high...]] -> Uniform (each coordinate on its own)."""
    if isinstance(value, Sampler) and not isinstance(value, (Real, str)):
        return value
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) == size and all(isinstance(v, Real) and not isinstance(v, bool) for v in value):
            return Constant(tuple(validate.vector(key, value, size)))
        if len(value) == 2 and all(isinstance(v, Sequence) and len(v) == size for v in value):
            return as_sampler(key, value)
    raise ConfigError(key, f"expected {size} numbers, a pair [low, high] of such lists, or a sampler with "
                           f"_target_, got {value!r}")


class Bounded:
    """A config value's sampler of numbers in [low, high] (or (low, high] when low_open): its range is checked when
    the config is read where it is known (a number, [low, high], Uniform, Choice, ...), else each draw is."""

    def __init__(self, key: str, value: Any, low: float, high: Optional[float] = None, low_open: bool = False):
        self.key, self.low, self.high, self.low_open = key, low, high, low_open
        self.sampler = as_sampler(key, value, low, high, low_open)

    def sample(self, rng: np.random.Generator) -> float:
        return validate.number(self.key, self.sampler.sample(rng), self.low, self.high, low_open=self.low_open)

    def bounds(self) -> Optional[tuple[float, float]]:
        return bounds(self.sampler)
