"""Textures on bodies. resetSimulation invalidates texture ids and PyBullet then reuses them (a stale id
silently shows another texture), so every build loads the textures it uses afresh.

Under EGL a texture id is an index into the list of loaded textures, but the plugin draws the image at that
index of its own list of GL textures, which mesh textures (jenga's wood, the duck's skin) also join. The two
lists agree only for textures loaded into a fresh client before any body: load_textures runs first."""

from __future__ import annotations

from typing import Iterable

import pybullet as p

from simgen.scene import ObjectSpec
from simgen.textures import TextureFiles

WHITE = (1.0, 1.0, 1.0, 1.0)  # rgbaColor multiplies the texture: white shows it as it is


def links(body: int, client: int) -> range:
    return range(-1, p.getNumJoints(body, physicsClientId=client))


def load_textures(specs: Iterable[ObjectSpec], files: TextureFiles, client: int) -> dict[str, int]:
    """Load each distinct texture of these specs once: {texture file: PyBullet texture id}."""
    loaded: dict[str, int] = {}
    for spec in specs:
        if spec.texture is not None:
            path = files.path(spec.texture)
            if path not in loaded:
                loaded[path] = p.loadTexture(path, physicsClientId=client)
    return loaded


def apply_textures(bodies: Iterable[tuple[int, ObjectSpec]], loaded: dict[str, int], files: TextureFiles,
                   client: int) -> None:
    """Put each body's texture (loaded by load_textures) on all its links."""
    for body, spec in bodies:
        if spec.texture is None:
            continue
        for link in links(body, client):
            p.changeVisualShape(body, link, textureUniqueId=loaded[files.path(spec.texture)],
                                rgbaColor=list(spec.rgba or WHITE), physicsClientId=client)
