"""The PyBullet world: build a scene spec into bodies, let them settle, render camera views."""

from __future__ import annotations

import inspect
from typing import Any, Optional

import numpy as np
import pybullet as p

from simgen import validate
from simgen.errors import AssetError, SceneError
from simgen.frame import Frame
from simgen.scene import Scene
from simgen.textures import TextureFiles
from simgen.world.amodal import amodal_masks
from simgen.world.appearance import apply_textures, load_textures
from simgen.world.bounds import frame_in_asset, local_box
from simgen.world.asset_copies import AssetCopies, texture_pixels
from simgen.world.drop_room import make_room
from simgen.world.dynamics import apply_contact
from simgen.world.egl_budget import check_egl_budget
from simgen.world.mesh_textures import MeshTextures
from simgen.world.primitive_visuals import ROUND, UnitMeshes
from simgen.quiet import c_output_silenced
from simgen.world.renderer import Renderer, choose_renderer
from simgen.world.settle import Physics
from simgen.world.spawn import ShapePaths, spawn
from simgen.world.texture_memory import TextureMemory


class World:
    """One PyBullet client in DIRECT mode. Every build starts from resetSimulation, so a frame's bodies,
    poses and pixels depend only on its scene spec."""

    def __init__(self, renderer: str = "auto", recycle_every: int = 100, texture_memory_mb: float = 400,
                 max_texture_size: int = 512, **physics: Any):
        """`physics` sets the fields of simgen.world.settle.Physics (time_step, solver_iterations, ...)."""
        self.requested_renderer = renderer
        self.recycle_every = validate.integer("recycle_every", recycle_every, low=0)
        self.texture_memory = TextureMemory(validate.number("texture_memory_mb", texture_memory_mb, low=0))
        self._builds = 0
        own_keys = [name for name in inspect.signature(World.__init__).parameters if name not in ("self", "physics")]
        self.physics = Physics.checked(own_keys, **physics)
        self.client: Optional[int] = None
        self.renderer: Optional[Renderer] = None
        self._bodies: dict[int, int] = {}  # PyBullet uid -> index in scene.objects
        self._fixtures: list[int] = []
        self.textures = TextureFiles()
        self.mesh_textures = MeshTextures(self.textures)
        self.unit_meshes = UnitMeshes(self.textures, (*ROUND, "box"))
        max_texture_size = validate.integer("max_texture_size", max_texture_size, low=0)
        self.asset_copies = {"tiny": AssetCopies(self.textures, 0, self.unit_meshes),
                             "egl": AssetCopies(self.textures, max_texture_size, self.unit_meshes)}

    @property
    def renderer_kind(self) -> str:
        """`egl` or `tiny`: what `renderer=auto` resolves to here (probed once, without connecting)."""
        return choose_renderer(self.requested_renderer)

    def _connect(self) -> Renderer:
        if self.renderer is None:
            with c_output_silenced():
                self.client = p.connect(p.DIRECT)
            self.renderer = Renderer(self.renderer_kind, self.client)
        return self.renderer

    def close(self) -> None:
        """Disconnect and remove the texture files."""
        self._disconnect()
        self.textures.close()

    def abandon_files(self) -> None:
        """Remove the temporary texture and mesh files for good as this process exits, leaving PyBullet alone:
        safe from another thread, while this one may be making such files."""
        self.textures.abandon()

    def _disconnect(self) -> None:
        if self.client is not None:
            with c_output_silenced():
                p.disconnect(physicsClientId=self.client)
            self.client, self.renderer = None, None
        self.texture_memory.disconnected()

    def build(self, scene: Scene) -> None:
        """Reset the simulation and create the scene's fixtures and objects at their drop poses."""
        self._builds += 1
        specs = [*scene.fixtures, *scene.objects]
        kind = self.renderer_kind
        egl = kind == "egl"
        if self._needs_fresh_client():
            self._disconnect()
        self._connect()
        self.textures.trim()
        c = self.client
        with c_output_silenced():
            p.resetSimulation(physicsClientId=c)
            self.physics.apply(c)
            textures = [None] * len(specs) if egl else load_textures(specs, self.textures, c)
            self.texture_memory.add(specs, kind)
            stand_ins = [self.mesh_textures.stand_in(s) if egl and s.texture else None for s in specs]
            loads = [t or self.asset_copies[kind].stand_in(s) for s, t in zip(specs, stand_ins)]
            if egl:  # the meshes' own textures (a random texture's stand-in has none besides it)
                own = [load or s.asset.path for s, t, load in zip(specs, stand_ins, loads)
                       if t is None and s.asset.path]
                self.texture_memory.add_mesh_textures(sum(map(texture_pixels, own)))
            units = self.unit_meshes
            paths = ShapePaths()
            self._fixtures = [spawn(f, c, paths, load, units, fixture=True) for f, load in zip(scene.fixtures, loads)]
            for body, spec in zip(self._fixtures, scene.fixtures):
                apply_contact(body, spec, c)
            self._bodies = {}
            placed, no_room = list(self._fixtures), []
            for index, (obj, load) in enumerate(zip(scene.objects, loads[len(scene.fixtures):])):
                body = spawn(obj, c, paths, load, units)
                if not obj.static:
                    self.physics.prepare(body, c)
                room = obj.static or make_room(body, placed, self._fixtures, scene.support.region, c)
                apply_contact(body, obj, c)
                if not room:
                    no_room.append(body)
                elif obj.collides:
                    placed.append(body)
                self._bodies[body] = index
            bodies = [*self._fixtures, *self._bodies]  # every object has its body here
            if egl:
                check_egl_budget(bodies, c)
            apply_textures(bodies, specs, textures, stand_ins, c)
            for body in no_room:  # left out, as fallen objects are: removed once textures are set (EGL's order)
                scene.objects[self._bodies.pop(body)].state = "no_room"
                p.removeBody(body, physicsClientId=c)

    @property
    def worn_out(self) -> bool:
        """Whether the mesh textures PyBullet caches for this process (never freed) fill `texture_memory_mb`."""
        return self.texture_memory.process_full

    def _needs_fresh_client(self) -> bool:
        """The EGL plugin leaks a few MB per resetSimulation, and a client keeps every texture loaded into it
        (texture_memory). A new client cures both."""
        recycle = self.recycle_every and self._builds % self.recycle_every == 0 and self.renderer_kind == "egl"
        return bool(recycle or self.texture_memory.client_full)

    def settle(self, scene: Scene) -> int:
        """Drop the objects until at rest; write final poses back; remove objects that fell off."""
        c = self.client
        steps = self.physics.settle(list(self._bodies), c)
        resting = {body: self.physics.at_rest([body], c) for body in self._bodies}  # local_box zeroes velocities
        for body, index in list(self._bodies.items()):
            obj = scene.objects[index]
            pos, orn = p.getBasePositionAndOrientation(body, physicsClientId=c)
            if not np.all(np.isfinite(pos + orn)):
                raise AssetError(f"{obj.asset.path or obj.asset.kind}: the simulation gave a non-finite pose "
                                 "(degenerate mesh or broken mass/inertia); remove it from the catalog")
            obj.position, obj.orientation = tuple(pos), tuple(orn)
            obj.bbox_3d = local_box(body, c, obj.asset.path if obj.asset.kind == "mesh" else None)
            obj.frame_in_asset = frame_in_asset(body, c)
            top = p.getAABB(body, physicsClientId=c)[1][2]
            if top < scene.support.height - 0.005:
                obj.state = "fell"
                p.removeBody(body, physicsClientId=c)
                del self._bodies[body]
            else:  # world.max_steps=0 simulates nothing: objects stay where they were dropped, not at rest
                obj.state = ("resting" if resting[body] else "moving") if steps else "placed"
        return steps

    def render(self, scene: Scene) -> Frame:
        """RGB, metric depth and the instance map for the scene's camera and light."""
        from simgen.camera import metric_depth

        cam = scene.camera
        self._check_camera(scene)
        rgb, zbuf, seg = self._connect().render(cam, scene.light)
        depth = metric_depth(zbuf, cam.near, cam.far)
        depth[seg < 0] = 0.0  # nothing hit
        lut = np.zeros(max([*self._bodies, *self._fixtures], default=-1) + 2, dtype=np.int32)
        for body, index in self._bodies.items():
            lut[body + 1] = index + 1 if scene.objects[index].labeled else 0
        return Frame(rgb=rgb, depth=depth, instance=np.take(lut, seg + 1))  # -1 (nothing) and fixtures map to 0

    def render_amodal(self, scene: Scene, instance_ids: list[int], instance: Optional[np.ndarray] = None,
                      strategy: str = "adaptive") -> dict:
        """Each listed object's unoccluded silhouette, {instance id: (x0, y0, mask)} (see Frame.amodal).

        instance: the frame's instance map, whose overlaps save renders; strategy: see amodal_masks."""
        by_index = {index: body for body, index in self._bodies.items()}
        objects = {i: (by_index[i - 1], scene.objects[i - 1]) for i in instance_ids}
        return amodal_masks(objects, scene.camera, self._connect().kind, self.client, strategy, instance)

    def _check_camera(self, scene: Scene) -> None:
        """The camera must not sit inside the support or any other fixture. The probe is a collision shape, not a
        body: adding and removing a body makes the EGL plugin rebuild what it draws (2 ms a render on llvmpipe).
        It stays until the next reset (PyBullet's removeCollisionShape frees nothing and prints "TODO: dealloc")."""
        c = self.client
        probe = p.createCollisionShape(p.GEOM_SPHERE, radius=1e-3, physicsClientId=c)
        inside = [i for i, f in enumerate(self._fixtures)
                  if p.getClosestPoints(f, -1, 0.0, collisionShapeB=probe,
                                        collisionShapePositionB=scene.camera.position, physicsClientId=c)]
        if inside:
            name = scene.fixtures[inside[0]].category
            raise SceneError(f"camera: the camera at {tuple(round(v, 3) for v in scene.camera.position)} is inside "
                             f"the scene's {name!r}; raise camera.elevation or camera.distance")
