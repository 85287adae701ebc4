"""Textures on bodies. resetSimulation invalidates texture ids and PyBullet then reuses them (a stale id
silently shows another texture), so every build loads the textures it uses afresh."""

from __future__ import annotations

from typing import Iterable

import pybullet as p

from simgen.scene import ObjectSpec
from simgen.textures import TextureFiles

WHITE = (1.0, 1.0, 1.0, 1.0)  # rgbaColor multiplies the texture: white shows it as it is


def links(body: int, client: int) -> range:
    return range(-1, p.getNumJoints(body, physicsClientId=client))


def apply_textures(bodies: Iterable[tuple[int, ObjectSpec]], files: TextureFiles, client: int) -> int:
    """Load each distinct texture of this build once and put it on its bodies; returns how many were loaded."""
    loaded: dict[str, int] = {}
    for body, spec in bodies:
        if spec.texture is None:
            continue
        path = files.path(spec.texture)
        if path not in loaded:
            loaded[path] = p.loadTexture(path, physicsClientId=client)
        for link in links(body, client):
            p.changeVisualShape(body, link, textureUniqueId=loaded[path], rgbaColor=list(spec.rgba or WHITE),
                                physicsClientId=client)
    return len(loaded)
