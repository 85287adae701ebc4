"""Textures on bodies. resetSimulation invalidates texture ids and PyBullet then reuses them (a stale id
silently shows another texture), so every build loads the textures it uses afresh.

Under EGL a texture id is an index into the list of loaded textures, but the plugin draws the image at that
index of its own list of GL textures, which mesh textures (jenga's wood, the duck's skin) also join. The two
lists agree only for textures loaded into a fresh client before any body: load_textures runs first."""

from __future__ import annotations

from typing import Iterable, Optional, Sequence

import pybullet as p

from simgen.scene import ObjectSpec
from simgen.textures import TextureFiles

WHITE = (1.0, 1.0, 1.0, 1.0)  # rgbaColor multiplies the texture: white shows it as it is


def links(body: int, client: int) -> range:
    return range(-1, p.getNumJoints(body, physicsClientId=client))


def load_textures(specs: Sequence[ObjectSpec], files: TextureFiles, client: int) -> list[Optional[int]]:
    """Each spec's PyBullet texture id (None for no texture), every distinct texture loaded once."""
    loaded: dict[str, int] = {}
    ids: list[Optional[int]] = []
    for spec in specs:
        path = files.path(spec.texture) if spec.texture is not None else None
        if path is not None and path not in loaded:
            loaded[path] = p.loadTexture(path, physicsClientId=client)
        ids.append(loaded.get(path))
    return ids


def apply_textures(bodies: Iterable[int], specs: Iterable[ObjectSpec], ids: Iterable[Optional[int]],
                   client: int) -> None:
    """Put each body's texture (its id from load_textures) on all its links."""
    for body, spec, texture in zip(bodies, specs, ids):
        if texture is None:
            continue
        for link in links(body, client):
            p.changeVisualShape(body, link, textureUniqueId=texture, rgbaColor=list(spec.rgba or WHITE),
                                physicsClientId=client)
