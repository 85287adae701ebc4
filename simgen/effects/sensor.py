"""Sensor effects on the rendered RGB only (depth and masks stay as rendered): noise, blur, compression,
colour and tone changes, lens falloff. Each applies with `probability`, its strength drawn per frame."""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from typing import Any, Optional

import cv2
import numpy as np

from simgen import validate
from simgen.frame import Frame
from simgen.sampling import Bounded, LogUniform, Uniform, as_sampler, bounds


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.clip(np.rint(image), 0, 255).astype(np.uint8))


def _luma(image: np.ndarray) -> np.ndarray:
    return image @ np.float32([0.299, 0.587, 0.114])


class _Effect(ABC):
    """Common part: an effect runs on a frame with `probability`; `draw` picks its strength, `apply` returns the new
    RGB (drawing per-pixel noise from `rng`)."""

    def __init__(self, probability: float):
        self.probability = validate.number("probability", probability, 0, 1)

    def __call__(self, frame: Frame, rng: np.random.Generator) -> Optional[dict]:
        if rng.uniform() >= self.probability:
            return None
        drawn = self.draw(rng)
        frame.rgb = self.apply(frame.rgb, rng, **drawn)
        return drawn

    @abstractmethod
    def draw(self, rng: np.random.Generator) -> dict[str, float]: ...

    @abstractmethod
    def apply(self, rgb: np.ndarray, rng: np.random.Generator, **drawn: float) -> np.ndarray: ...


class GaussianNoise(_Effect):
    """Additive Gaussian read noise of `sigma` grey levels (0-255), independent per pixel and channel."""

    def __init__(self, probability: float = 1.0, sigma: Any = (2.0, 8.0)):
        super().__init__(probability)
        self.sigma = Bounded("sigma", sigma, 0, 255)

    def draw(self, rng: np.random.Generator) -> dict[str, float]:
        return {"sigma": float(self.sigma.sample(rng))}

    def apply(self, rgb: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
        return _to_uint8(rgb + rng.standard_normal(rgb.shape, dtype=np.float32) * np.float32(sigma))


class PoissonNoise(_Effect):
    """Photon shot noise: a white pixel collects `photons` photons, so darker pixels are relatively noisier."""

    def __init__(self, probability: float = 1.0, photons: Any = (30.0, 300.0)):
        super().__init__(probability)
        self.photons = Bounded("photons", photons, 1e-3, 1e9)

    def draw(self, rng: np.random.Generator) -> dict[str, float]:
        return {"photons": float(self.photons.sample(rng))}

    def apply(self, rgb: np.ndarray, rng: np.random.Generator, photons: float) -> np.ndarray:
        return _to_uint8(rng.poisson(rgb * (photons / 255.0)) * (255.0 / photons))


class Blur(_Effect):
    """Defocus as a Gaussian blur of `sigma` pixels."""

    def __init__(self, probability: float = 0.5, sigma: Any = (0.5, 1.5)):
        super().__init__(probability)
        self.sigma = Bounded("sigma", sigma, 0, 100)

    def draw(self, rng: np.random.Generator) -> dict[str, float]:
        return {"sigma": float(self.sigma.sample(rng))}

    def apply(self, rgb: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
        return np.ascontiguousarray(cv2.GaussianBlur(rgb, (0, 0), sigma)) if sigma > 0 else rgb


class MotionBlur(_Effect):
    """Linear motion blur: a line kernel `length` pixels long at `angle` degrees."""

    def __init__(self, probability: float = 0.3, length: Any = (3.0, 9.0), angle: Any = (0.0, 180.0)):
        super().__init__(probability)
        self.length = Bounded("length", length, 1, 200)
        self.angle = as_sampler("angle", angle)

    def draw(self, rng: np.random.Generator) -> dict[str, float]:
        return {"length": float(self.length.sample(rng)), "angle": float(self.angle.sample(rng))}

    def apply(self, rgb: np.ndarray, rng: np.random.Generator, length: float, angle: float) -> np.ndarray:
        angle = np.radians(angle)
        size = int(np.ceil(length)) | 1
        kernel = np.zeros((size, size), np.float32)
        c, half = size // 2, (length - 1) / 2
        dx, dy = half * np.cos(angle), half * np.sin(angle)
        cv2.line(kernel, (int(round(c - dx)), int(round(c - dy))), (int(round(c + dx)), int(round(c + dy))), 1.0, 1)
        return np.ascontiguousarray(cv2.filter2D(rgb, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT))


class JpegArtifacts(_Effect):
    """Compression artifacts: a JPEG round trip at `quality` (1-100)."""

    def __init__(self, probability: float = 0.5, quality: Any = (30.0, 80.0)):
        super().__init__(probability)
        self.quality = Bounded("quality", quality, 1, 100)

    def draw(self, rng: np.random.Generator) -> dict[str, float]:
        return {"quality": int(round(self.quality.sample(rng)))}

    def apply(self, rgb: np.ndarray, rng: np.random.Generator, quality: int) -> np.ndarray:
        ok, buf = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1])


class ColorJitter(_Effect):
    """Brightness, contrast and saturation factors (1 = unchanged) and a hue shift in turns (0 = unchanged)."""

    def __init__(self, probability: float = 1.0, brightness: Any = (0.8, 1.2), contrast: Any = (0.8, 1.2),
                 saturation: Any = (0.8, 1.2), hue: Any = (-0.03, 0.03)):
        super().__init__(probability)
        self.factors = {k: Bounded(k, v, 0, 10) for k, v in
                        (("brightness", brightness), ("contrast", contrast), ("saturation", saturation))}
        self.hue = Bounded("hue", hue, -1, 1)

    def draw(self, rng: np.random.Generator) -> dict[str, float]:
        drawn = {name: float(v.sample(rng)) for name, v in self.factors.items()}
        return {**drawn, "hue": float(self.hue.sample(rng))}

    def apply(self, rgb: np.ndarray, rng: np.random.Generator, brightness: float, contrast: float,
              saturation: float, hue: float) -> np.ndarray:
        image = rgb.astype(np.float32) * brightness
        mean = float(_luma(image).mean())
        image = mean + (image - mean) * contrast
        grey = _luma(image)[..., None]
        out = _to_uint8(grey + (image - grey) * saturation)
        if hue != 0:
            hsv = cv2.cvtColor(out, cv2.COLOR_RGB2HSV)
            hsv[..., 0] = ((hsv[..., 0].astype(np.int32) + int(round(hue * 180))) % 180).astype(np.uint8)
            out = np.ascontiguousarray(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB))
        return out


def _log_uniform_pair(key: str, value: Any) -> Any:
    """A config value as as_sampler reads it, but a pair [low, high] with 0 < low drawn log-uniformly."""
    sampler = as_sampler(key, value)
    known = bounds(sampler) if sampler is not value and isinstance(sampler, Uniform) else None
    return LogUniform(*known) if known and known[0] > 0 else sampler


class Gamma(_Effect):
    """Tone curve out = 255 * (in / 255) ** gamma; gamma < 1 brightens the shadows. A [low, high] pair is drawn
    log-uniformly, so that [1/g, g] darkens as often as it brightens (a uniform draw darkens on average)."""

    def __init__(self, probability: float = 0.5, gamma: Any = (0.6667, 1.5)):
        super().__init__(probability)
        self.gamma = Bounded("gamma", _log_uniform_pair("gamma", gamma), 0.01, 100)

    def draw(self, rng: np.random.Generator) -> dict[str, float]:
        return {"gamma": float(self.gamma.sample(rng))}

    def apply(self, rgb: np.ndarray, rng: np.random.Generator, gamma: float) -> np.ndarray:
        lut = _to_uint8(255.0 * (np.arange(256) / 255.0) ** gamma)
        return np.ascontiguousarray(cv2.LUT(rgb, lut))


class Vignette(_Effect):
    """Lens falloff: corners darkened by `strength` (0 = none, 1 = black), smoothly from the centre."""

    def __init__(self, probability: float = 0.5, strength: Any = (0.2, 0.6)):
        super().__init__(probability)
        self.strength = Bounded("strength", strength, 0, 1)

    def draw(self, rng: np.random.Generator) -> dict[str, float]:
        return {"strength": float(self.strength.sample(rng))}

    def apply(self, rgb: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
        falloff = 1.0 - np.float32(strength) * squared_radius(*rgb.shape[:2])
        return _to_uint8(rgb * falloff[..., None])


@functools.lru_cache(maxsize=8)
def squared_radius(h: int, w: int) -> np.ndarray:
    """Squared distance from the image centre, 1 at the corners (float32, read-only, cached per size)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - (w - 1) / 2) ** 2 + (yy - (h - 1) / 2) ** 2) / np.float32((w / 2) ** 2 + (h / 2) ** 2)
    r2.flags.writeable = False
    return r2
