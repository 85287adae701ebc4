"""The PyBullet world: build a scene spec into bodies, let them settle, render camera views."""

from __future__ import annotations

import logging
from typing import Optional

import numpy as np
import pybullet as p

from simgen import validate
from simgen.errors import AssetError, SceneError
from simgen.frame import Frame
from simgen.scene import Scene
from simgen.textures import TextureFiles
from simgen.world.appearance import apply_textures
from simgen.world.dynamics import apply_contact
from simgen.world.quiet import c_output_silenced
from simgen.world.renderer import Renderer, choose_renderer
from simgen.world.settle import Physics
from simgen.world.spawn import spawn

log = logging.getLogger(__name__)

MAX_LIFTS = 60
TOUCH = 5e-4  # metres of overlap that count as touching, not penetrating
TEXTURE_LOADS_PER_CLIENT = 500  # a TinyRenderer client is replaced after this many texture loads (memory)


class World:
    """One PyBullet client in DIRECT mode. Every build starts from resetSimulation, so a frame's bodies,
    poses and pixels depend only on its scene spec."""

    def __init__(self, renderer: str = "auto", time_step: float = 1 / 120, solver_iterations: int = 10,
                 max_settle_steps: int = 600, rest_linear: float = 0.01, rest_angular: float = 0.1,
                 linear_damping: float = 0.1, angular_damping: float = 0.5, rolling_friction: float = 0.002,
                 lateral_friction: float = 0.6):
        self.requested_renderer = renderer
        self.physics = Physics(
            time_step=validate.number("time_step", time_step, low=0, high=0.1, low_open=True),
            solver_iterations=validate.integer("solver_iterations", solver_iterations, low=1),
            max_steps=validate.integer("max_settle_steps", max_settle_steps, low=0),
            rest_linear=validate.number("rest_linear", rest_linear, low=0),
            rest_angular=validate.number("rest_angular", rest_angular, low=0),
            linear_damping=validate.number("linear_damping", linear_damping, 0, 1),
            angular_damping=validate.number("angular_damping", angular_damping, 0, 1),
            rolling_friction=validate.number("rolling_friction", rolling_friction, low=0),
            lateral_friction=validate.number("lateral_friction", lateral_friction, low=0),
        )
        self.client: Optional[int] = None
        self.renderer: Optional[Renderer] = None
        self._bodies: dict[int, int] = {}  # PyBullet uid -> index in scene.objects
        self.textures = TextureFiles()
        self._egl_used = False  # whether this client renders with EGL and has built a scene since it connected
        self._texture_loads = 0  # textures this client has loaded since it connected

    @property
    def renderer_kind(self) -> str:
        return self._connect().kind

    def _connect(self) -> Renderer:
        if self.renderer is None:
            kind = choose_renderer(self.requested_renderer)
            with c_output_silenced():
                self.client = p.connect(p.DIRECT)
            self.renderer = Renderer(kind, self.client)
        return self.renderer

    def close(self) -> None:
        """Disconnect and remove the texture files."""
        self._disconnect()
        self.textures.close()

    def _disconnect(self) -> None:
        if self.client is not None:
            with c_output_silenced():
                p.disconnect(physicsClientId=self.client)
            self.client, self.renderer = None, None
        self._egl_used = False
        self._texture_loads = 0

    def build(self, scene: Scene) -> None:
        """Reset the simulation and create the scene's fixtures and objects at their drop poses."""
        if any(b.texture for b in (*scene.fixtures, *scene.objects)) and (
                self._egl_used or self._texture_loads >= TEXTURE_LOADS_PER_CLIENT):
            # After a reset the EGL plugin may show an earlier build's image for a texture id, and
            # TinyRenderer keeps some memory of every loaded texture: both are cured by a fresh client.
            self._disconnect()
        self._connect()
        c = self.client
        with c_output_silenced():
            p.resetSimulation(physicsClientId=c)
            self.physics.apply(c)
            fixtures = [spawn(f, c) for f in scene.fixtures]
            for body, spec in zip(fixtures, scene.fixtures):
                apply_contact(body, spec, c)
            self._bodies = {}
            placed = list(fixtures)
            for index, obj in enumerate(scene.objects):
                body = spawn(obj, c)
                if not obj.static:
                    self.physics.prepare(body, c)
                    self._lift_until_free(body, placed)
                apply_contact(body, obj, c)
                if obj.collides:
                    placed.append(body)
                self._bodies[body] = index
            self._texture_loads += apply_textures(
                [*zip(fixtures, scene.fixtures), *((b, scene.objects[i]) for b, i in self._bodies.items())],
                self.textures, c)
            self._egl_used = self.renderer.kind == "egl"
            self._check_camera(scene, fixtures)  # last: under EGL a body reusing the probe's id takes no texture

    def settle(self, scene: Scene) -> int:
        """Drop the objects until at rest; write final poses back; remove objects that fell off."""
        c = self.client
        steps = self.physics.settle(list(self._bodies), c)
        moving = not self.physics.at_rest(list(self._bodies), c)
        for body, index in list(self._bodies.items()):
            obj = scene.objects[index]
            pos, orn = p.getBasePositionAndOrientation(body, physicsClientId=c)
            if not np.all(np.isfinite(pos + orn)):
                raise AssetError(f"{obj.asset.path or obj.asset.kind}: the simulation gave a non-finite pose "
                                 "(degenerate mesh or broken mass/inertia); remove it from the catalog")
            obj.position, obj.orientation = tuple(pos), tuple(orn)
            top = p.getAABB(body, physicsClientId=c)[1][2]
            if top < scene.support.height - 0.005:
                obj.state = "fell"
                p.removeBody(body, physicsClientId=c)
                del self._bodies[body]
            else:
                obj.state = "moving" if moving else "resting"
        return steps

    def render(self, scene: Scene) -> Frame:
        """RGB, metric depth and the instance map for the scene's camera and light."""
        from simgen.camera import metric_depth

        cam = scene.camera
        rgb, zbuf, seg = self._connect().render(cam, scene.light)
        depth = metric_depth(zbuf, cam.near, cam.far)
        depth[(zbuf >= 1.0) | (seg < 0)] = 0.0  # nothing hit (TinyRenderer leaves z just below 1 there)
        lut = np.zeros(max(self._bodies, default=0) + 2, dtype=np.int32)
        for body, index in self._bodies.items():
            lut[body + 1] = index + 1 if scene.objects[index].labeled else 0
        seg = np.where(seg + 1 < len(lut), seg + 1, 0)  # -1 (nothing) and fixtures map to 0
        return Frame(rgb=rgb, depth=depth, instance=lut[seg])

    def _lift_until_free(self, body: int, others: list[int]) -> None:
        """Raise a just-spawned body until it overlaps nothing: spawning into contact makes bodies explode."""
        c = self.client
        for _ in range(MAX_LIFTS):
            if not any(pt[8] < -TOUCH for other in others for pt in p.getClosestPoints(body, other, 0.0, physicsClientId=c)):
                return
            lo, hi = p.getAABB(body, physicsClientId=c)
            pos, orn = p.getBasePositionAndOrientation(body, physicsClientId=c)
            lift = max(0.01, 0.5 * (hi[2] - lo[2]))
            p.resetBasePositionAndOrientation(body, (pos[0], pos[1], pos[2] + lift), orn, physicsClientId=c)

    def _check_camera(self, scene: Scene, fixtures: list[int]) -> None:
        """The camera must not sit inside the support or any other fixture."""
        c = self.client
        probe = p.createMultiBody(0, p.createCollisionShape(p.GEOM_SPHERE, radius=1e-3, physicsClientId=c),
                                  basePosition=scene.camera.position, physicsClientId=c)
        inside = [i for i, f in enumerate(fixtures) if p.getClosestPoints(probe, f, 0.0, physicsClientId=c)]
        p.removeBody(probe, physicsClientId=c)
        if inside:
            name = scene.fixtures[inside[0]].category
            raise SceneError(f"camera: the camera at {tuple(round(v, 3) for v in scene.camera.position)} is inside "
                             f"the scene's {name!r}; raise camera.elevation or camera.distance")
