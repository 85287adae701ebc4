"""Effects post-process a rendered frame's RGB (sensor noise, blur, background images, ...).

An effect is `__call__(frame, rng) -> Optional[dict]`: it replaces `frame.rgb`, never changes depth or masks, and
returns what it drew (JSON values by name, which the frame's meta records) or None where it did not apply.
"""

from __future__ import annotations

from typing import Optional, Protocol

import numpy as np

from simgen.frame import Frame


class Effect(Protocol):
    def __call__(self, frame: Frame, rng: np.random.Generator) -> Optional[dict]: ...
