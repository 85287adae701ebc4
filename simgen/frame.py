"""What the world renders for one camera view."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Frame:
    """rgb: HxWx3 uint8; depth: HxW float32 metres along the optical axis, 0 where nothing was hit;
    instance: HxW int32, k+1 where scene.objects[k] is visible, 0 for background, fixtures and distractors."""

    rgb: np.ndarray
    depth: np.ndarray
    instance: np.ndarray
