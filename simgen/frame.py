"""What the world renders for one camera view."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np


@dataclass
class Frame:
    """rgb: HxWx3 uint8; depth: HxW float32 metres along the optical axis, 0 where nothing was hit;
    instance: HxW int32, k+1 where scene.objects[k] is visible, 0 for background, fixtures and distractors;
    amodal (when asked for): {k+1: (x0, y0, mask)}, the object's whole silhouette as if nothing else were there,
    a boolean crop whose top-left pixel is (x0, y0) in the image's pixel grid; it reaches past the image where the
    object does (up to one image size beyond each border);
    effects: what each effect that applied drew ({name: {parameter: value}}), recorded in the frame's meta."""

    rgb: np.ndarray
    depth: np.ndarray
    instance: np.ndarray
    amodal: Optional[dict] = None
    effects: dict = field(default_factory=dict)
