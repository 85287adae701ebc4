"""Effects post-process a rendered frame's RGB (sensor noise, blur, background images, ...).

An effect is `__call__(frame, rng) -> None`: it replaces `frame.rgb` and never changes depth or masks.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from simgen.frame import Frame


class Effect(Protocol):
    def __call__(self, frame: Frame, rng: np.random.Generator) -> None: ...
