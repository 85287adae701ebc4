"""Textures on bodies under TinyRenderer. resetSimulation invalidates texture ids and PyBullet then reuses them
(a stale id silently shows another texture), so every build loads the textures it uses afresh.

The EGL plugin draws such textures on the wrong shapes after a reset: under EGL a textured body is loaded from
a stand-in whose mesh material is the texture (mesh_textures), and only its colour is set here."""

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
                   stand_ins: Iterable[Optional[str]], client: int) -> None:
    """Put each textured body's colour (white shows the texture as is) on all its links, with its texture: by
    its id from load_textures, or already in the mesh of the stand-in it was loaded from (mesh_textures)."""
    for body, spec, texture, stand_in in zip(bodies, specs, ids, stand_ins):
        if texture is None and stand_in is None:
            continue
        by_id = {} if texture is None else {"textureUniqueId": texture}
        for link in links(body, client):
            p.changeVisualShape(body, link, rgbaColor=list(spec.rgba or WHITE), physicsClientId=client, **by_id)
