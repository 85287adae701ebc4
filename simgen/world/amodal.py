"""Amodal (unoccluded) silhouettes: each object as if alone in the world, rendered over its projected 3D box only,
objects sharing renders wherever they cannot hide each other."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pybullet as p

from simgen import camera as cam_math
from simgen import geometry
from simgen.scene import CameraSpec, ObjectSpec
from simgen.quiet import c_output_silenced
from simgen.world.renderer import PYBULLET_RENDERER, SHIFT

Region = tuple[int, int, int, int]  # x0, y0, x1, y1: pixel columns x0..x1-1 and rows y0..y1-1
Crop = tuple[int, int, np.ndarray]  # x0, y0 and a boolean mask whose top-left pixel is (x0, y0)


MAX_RENDER_SIDE = 8192  # pixels: an amodal render past the border stays within what a camera may render


def reach(cam: CameraSpec) -> Region:
    """Where silhouettes are drawn: the image and one image size beyond each border, as the BOP toolkit's
    calc_gt_info renders them, so that a truncated object's whole silhouette is counted (less beyond the border of
    an image over a third of MAX_RENDER_SIDE)."""
    dx = min(cam.width, (MAX_RENDER_SIDE - cam.width) // 2)
    dy = min(cam.height, (MAX_RENDER_SIDE - cam.height) // 2)
    return -dx, -dy, cam.width + dx, cam.height + dy


def clipped(region: Region, within: Region) -> Region:
    return (max(region[0], within[0]), max(region[1], within[1]),
            min(region[2], within[2]), min(region[3], within[3]))


def object_region(obj: ObjectSpec, cam: CameraSpec) -> Region:
    """The pixels of reach(cam) the object's 3D box can cover (all of them when the box reaches behind the
    camera)."""
    if obj.bbox_3d is None:
        return reach(cam)
    corners = geometry.box_corners(obj.bbox_3d)
    rot, trans = geometry.object_to_camera(obj, cam)
    cam_pts = corners @ rot.T + trans
    if np.any(cam_pts[:, 2] <= cam.near):
        return reach(cam)
    uv = geometry.project_camera_points(cam_pts, cam_math.intrinsics(cam))
    x0, y0 = np.floor(uv.min(axis=0)).astype(int) - 1
    x1, y1 = np.ceil(uv.max(axis=0)).astype(int) + 1
    return clipped((x0, y0, x1, y1), reach(cam))


def render_segmentation(cam: CameraSpec, region: Region, renderer: str, client: int) -> np.ndarray:
    """The body uid at each pixel of `region` (-1 for none), rendered at the full image's pixel scale."""
    x0, y0, x1, y1 = region
    with c_output_silenced():
        _, _, _, _, seg = p.getCameraImage(
            x1 - x0, y1 - y0, cam_math.view_matrix(cam), cam_math.projection_matrix(cam, region, SHIFT[renderer]),
            shadow=0, renderer=PYBULLET_RENDERER[renderer], physicsClientId=client)
    return np.asarray(seg, dtype=np.int32).reshape(y1 - y0, x1 - x0)


def union(regions: list[Region]) -> Region:
    return (min(r[0] for r in regions), min(r[1] for r in regions),
            max(r[2] for r in regions), max(r[3] for r in regions))


def independent(keys: list[int], conflicts: set[frozenset]) -> list[int]:
    """A greedy set of keys, in order, no two of which are known to get in each other's way."""
    chosen: list[int] = []
    for key in keys:
        if all(frozenset((key, other)) not in conflicts for other in chosen):
            chosen.append(key)
    return chosen


class Poses:
    """Parks every body of a client far beyond the camera's far plane and brings them back one at a time."""

    def __init__(self, client: int, cam: CameraSpec):
        self.client = client
        bodies = [p.getBodyUniqueId(i, physicsClientId=client) for i in range(p.getNumBodies(physicsClientId=client))]
        self.saved = {b: p.getBasePositionAndOrientation(b, physicsClientId=client) for b in bodies}
        self.park = tuple(np.asarray(cam.position) + (0.0, 0.0, 100.0 * cam.far + 1000.0))

    def park_all(self) -> None:
        for body in self.saved:
            self.hide(body)

    def hide(self, body: int) -> None:
        p.resetBasePositionAndOrientation(body, self.park, self.saved[body][1], physicsClientId=self.client)

    def show(self, body: int) -> None:
        p.resetBasePositionAndOrientation(body, *self.saved[body], physicsClientId=self.client)

    def restore(self) -> None:
        for body in self.saved:
            self.show(body)


def seen_clashes(instance: np.ndarray, regions: dict[int, Region]) -> set[frozenset]:
    """Pairs of instance ids where one is visible inside the other's region in a rendered instance map."""
    clashes = set()
    image = (0, 0, instance.shape[1], instance.shape[0])
    for i, region in regions.items():
        x0, y0, x1, y1 = clipped(region, image)
        inside = np.unique(instance[y0:y1, x0:x1])
        clashes.update(frozenset((i, int(j))) for j in inside if j != i and int(j) in regions)
    return clashes


def amodal_masks(objects: dict[int, tuple[int, ObjectSpec]], cam: CameraSpec, renderer: str, client: int,
                 strategy: str = "adaptive", instance: Optional[np.ndarray] = None) -> dict[int, Crop]:
    """{instance id: (x0, y0, mask)} for `objects` ({instance id: (body, spec)}), each as if alone in the world,
    its mask reaching past the image where the object does (see reach).

    Every other body, fixtures included, is parked out of view. Each render shows a group of objects over
    the union of their projected 3D boxes; an object's mask is final when no other object of its group shows
    inside its box (then none can hide any of it). adaptive: render groups that avoid the clashes known so
    far (from `instance`, the frame's instance map, and from each render), until every mask is final;
    each: one render per object over its own box; full: one render of all of reach(cam) per object (the reference).
    """
    regions = {i: reach(cam) if strategy == "full" else object_region(obj, cam) for i, (_, obj) in objects.items()}
    out = {i: (0, 0, np.zeros((0, 0), dtype=bool)) for i in objects}
    pending = [i for i, r in regions.items() if r[2] > r[0] and r[3] > r[1]]
    conflicts = seen_clashes(instance, regions) if instance is not None else set()
    poses = Poses(client, cam)
    poses.park_all()
    try:
        while pending:
            group = independent(pending, conflicts) if strategy == "adaptive" else pending[:1]
            for i in group:
                poses.show(objects[i][0])
            region = union([regions[i] for i in group])
            seg = render_segmentation(cam, region, renderer, client)
            for i in group:
                x0, y0, x1, y1 = regions[i]
                own = seg[y0 - region[1]:y1 - region[1], x0 - region[0]:x1 - region[0]]
                clashes = {j for j in group if j != i and np.any(own == objects[j][0])}
                conflicts.update(frozenset((i, j)) for j in clashes)
                if not clashes:
                    out[i] = (x0, y0, own == objects[i][0])
                    pending.remove(i)
                poses.hide(objects[i][0])
    finally:
        poses.restore()
    return out
