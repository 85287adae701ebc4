"""Asset spec -> PyBullet body: one builder per asset kind, chosen from a table."""

from __future__ import annotations

import os
from typing import Callable, Optional

import numpy as np
import pybullet as p

from simgen.errors import AssetError
from simgen.geometry import quaternion_matrix
from simgen.mesh_check import check_asset, mesh_bounds
from simgen.scene import ObjectSpec
from simgen.world.primitive_visuals import UnitMeshes

DEFAULT_RGBA = (0.72, 0.72, 0.72, 1.0)


class ShapePaths:
    """File names for one build under which no two bodies share a visual shape in PyBullet's EGL plugin.

    The plugin caches visual shapes by mesh file name and link frame, not by scale, so a second body of a file
    at another scale would be drawn at the first one's size; and a texture put on one body lands on its shape,
    so every body sharing it would show the texture. Each further load of a file in one build therefore gets
    its own spelling of the same path: dir/./name, dir//name, dir/././name, dir/.//name, ... (the k-th load's
    k in binary, a `./` for each 0 and a `/` for each 1 after the leading 1), so that a thousand loads of one
    file stay far below PyBullet's 1024-character limit on file names.
    """

    def __init__(self) -> None:
        self._loads: dict[str, int] = {}

    def __call__(self, path: str) -> str:
        loads = self._loads.get(path, 0)
        self._loads[path] = loads + 1
        if not loads:
            return path
        head, name = os.path.split(path)
        separators = "".join("./" if bit == "0" else "/" for bit in bin(loads + 1)[3:])
        return f"{head or '.'}/{separators}{name}"


def _urdf(spec: ObjectSpec, client: int, path: str, visual: Optional[str], centre: np.ndarray) -> int:
    """A URDF's body (`centre` unused: a URDF gives its own inertial frame)."""
    flags = p.URDF_ENABLE_CACHED_GRAPHICS_SHAPES
    body = p.loadURDF(path, spec.position, spec.orientation, globalScaling=spec.scale,
                      useFixedBase=spec.static, flags=flags, physicsClientId=client)
    if body < 0 or spec.static:
        return body
    if spec.asset.mass is not None:
        _set_mass(body, spec.asset.mass, client)
    elif p.getDynamicsInfo(body, -1, physicsClientId=client)[0] <= 0:
        raise AssetError(f"{spec.asset.path}: its base link's mass is not above 0, and PyBullet holds such a body "
                         "fixed where it is made (in the air); give it a <mass value> above 0, or its category a mass")
    return body


def _set_mass(body: int, mass: float, client: int) -> None:
    """The base's mass, its inertia scaled with it (the shape's mass distribution kept)."""
    old, _, inertia = p.getDynamicsInfo(body, -1, physicsClientId=client)[:3]
    ratio = mass / old if old > 0 else 1.0
    p.changeDynamics(body, -1, mass=mass, localInertiaDiagonal=[v * ratio for v in inertia],
                     physicsClientId=client)


def _mesh_shapes(spec: ObjectSpec, client: int, path: str, visual: Optional[str]) -> tuple[int, int]:
    scale = [spec.scale] * 3
    col = p.createCollisionShape(p.GEOM_MESH, fileName=path, meshScale=scale, physicsClientId=client)
    vis = p.createVisualShape(p.GEOM_MESH, fileName=visual or path, meshScale=scale,
                              rgbaColor=list(spec.rgba or DEFAULT_RGBA), physicsClientId=client)
    return col, vis


GEOMS = {"box": p.GEOM_BOX, "sphere": p.GEOM_SPHERE, "cylinder": p.GEOM_CYLINDER, "capsule": p.GEOM_CAPSULE}


def _primitive_size(spec: ObjectSpec) -> np.ndarray:
    return np.asarray(spec.asset.size, dtype=float) * spec.scale


def _primitive_args(kind: str, size: np.ndarray) -> dict:
    """createCollisionShape's arguments for a primitive of `size` (box edges; radius and length)."""
    return {
        "box": lambda: {"halfExtents": (size / 2).tolist()},
        "sphere": lambda: {"radius": size[0]},
        "cylinder": lambda: {"radius": size[0], "height": size[1]},
        "capsule": lambda: {"radius": size[0], "height": size[1]},
    }[kind]()


Shapes = Callable[[ObjectSpec, int, str, Optional[str]], tuple[int, int]]


def _primitive_shapes(spec: ObjectSpec, client: int, path: str, visual: Optional[str]) -> tuple[int, int]:
    kind, args = spec.asset.kind, _primitive_args(spec.asset.kind, _primitive_size(spec))
    col = p.createCollisionShape(GEOMS[kind], physicsClientId=client, **args)
    rgba = list(spec.rgba or DEFAULT_RGBA)
    if visual:  # a mesh of the primitive at its size, with its texture
        return col, p.createVisualShape(p.GEOM_MESH, fileName=visual, rgbaColor=rgba, physicsClientId=client)
    vis_args = {("length" if k == "height" else k): v for k, v in args.items()}  # visuals call it length
    return col, p.createVisualShape(GEOMS[kind], rgbaColor=rgba, physicsClientId=client, **vis_args)


def _unit_mesh_shapes(units: UnitMeshes, paths: ShapePaths) -> Shapes:
    """Shapes of a primitive that collides as itself and is drawn from unit meshes (primitive_visuals)."""
    def shapes(spec: ObjectSpec, client: int, path: str, visual: Optional[str]) -> tuple[int, int]:
        kind, size = spec.asset.kind, _primitive_size(spec)
        col = p.createCollisionShape(GEOMS[kind], physicsClientId=client, **_primitive_args(kind, size))
        return col, units.visual_shape(kind, size, spec.rgba or DEFAULT_RGBA, paths, client)
    return shapes


Builder = Callable[[ObjectSpec, int, str, Optional[str], np.ndarray], int]


def _multibody(shapes: Shapes) -> Builder:
    """A body of one link made of `shapes`, its centre of mass and reported pose at `centre` in the shapes' frame."""
    def build(spec: ObjectSpec, client: int, path: str, visual: Optional[str], centre: np.ndarray) -> int:
        col, vis = shapes(spec, client, path, visual)
        mass = 0.0 if spec.static else spec.asset.mass
        origin = np.asarray(spec.position) - quaternion_matrix(spec.orientation) @ centre
        return p.createMultiBody(mass, col, vis, origin.tolist(), spec.orientation,
                                 baseInertialFramePosition=centre.tolist(), physicsClientId=client)
    return build


def _centre(spec: ObjectSpec, fixture: bool) -> np.ndarray:
    """Where a body's centre of mass, and the frame PyBullet reports its pose in, sit in its shape's frame: for an
    object's mesh, the centre of its bounding box (one modelled away from its origin would tumble like a weighted
    toy, and land beside its drop point); else the shape's origin, so that a fixture stands where its scene config
    places its origin."""
    if spec.asset.kind != "mesh" or fixture:
        return np.zeros(3)
    lo, hi = mesh_bounds(spec.asset.path)
    return (lo + hi) / 2 * spec.scale


BUILDERS: dict[str, Builder] = {
    "urdf": _urdf,
    "mesh": _multibody(_mesh_shapes),
    "box": _multibody(_primitive_shapes),
    "sphere": _multibody(_primitive_shapes),
    "cylinder": _multibody(_primitive_shapes),
    "capsule": _multibody(_primitive_shapes),
}


def spawn(spec: ObjectSpec, client: int, paths: ShapePaths, stand_in: Optional[str] = None,
          units: Optional[UnitMeshes] = None, fixture: bool = False) -> int:
    """Create the body for `spec` and apply its colour; a file PyBullet cannot read is an AssetError.

    paths: the build's ShapePaths, which spells file names for this body. stand_in: a textured copy of the
    asset (see mesh_textures): a URDF loaded instead of a URDF asset, else the mesh the body is drawn with.
    units: the unit meshes that primitives of its kinds without a stand-in are drawn from (else PyBullet's own).
    fixture: a body of the scene's own, whose mesh is placed by its origin (see _centre)."""
    if spec.asset.path:
        check_asset(spec.asset.path)
    path = paths(spec.asset.path) if spec.asset.path else ""
    visual = paths(stand_in) if stand_in else None
    if spec.asset.kind == "urdf" and visual:
        path, visual = visual, None
    build = BUILDERS[spec.asset.kind]
    if units is not None and visual is None and spec.asset.kind in units.kinds:
        build = _multibody(_unit_mesh_shapes(units, paths))
    where = spec.asset.path or f"{spec.asset.kind} {spec.asset.size}"
    try:
        body = build(spec, client, path, visual, _centre(spec, fixture))
    except p.error as err:
        raise AssetError(f"{where}: PyBullet could not load this {spec.asset.kind} asset ({err})") from None
    if body < 0:
        raise AssetError(f"{where}: PyBullet could not load this {spec.asset.kind} asset")
    if spec.rgba is not None:
        for link in range(-1, p.getNumJoints(body, physicsClientId=client)):
            p.changeVisualShape(body, link, rgbaColor=list(spec.rgba), physicsClientId=client)
    return body
