"""Amodal (unoccluded) silhouettes: each object rendered alone, over its own projected region only."""

from __future__ import annotations

import numpy as np
import pybullet as p

from simgen import camera as cam_math
from simgen import geometry
from simgen.scene import CameraSpec, ObjectSpec
from simgen.world.quiet import c_output_silenced

Region = tuple[int, int, int, int]  # x0, y0, x1, y1: pixel columns x0..x1-1 and rows y0..y1-1


def object_region(obj: ObjectSpec, cam: CameraSpec) -> Region:
    """The image pixels the object's 3D box can cover (the whole image when the box reaches behind the camera)."""
    if obj.bbox_3d is None:
        return 0, 0, cam.width, cam.height
    corners = geometry.box_corners(obj.bbox_3d)
    rot, trans = geometry.object_to_camera(obj, cam)
    cam_pts = corners @ rot.T + trans
    if np.any(cam_pts[:, 2] <= cam.near):
        return 0, 0, cam.width, cam.height
    uv = geometry.project_camera_points(cam_pts, cam_math.intrinsics(cam))
    x0, y0 = np.floor(uv.min(axis=0)).astype(int) - 1
    x1, y1 = np.ceil(uv.max(axis=0)).astype(int) + 1
    return max(x0, 0), max(y0, 0), min(x1, cam.width), min(y1, cam.height)


def cropped_projection(cam: CameraSpec, region: Region) -> list[float]:
    """PyBullet's projection matrix (column-major) for the sub-image `region` at the full image's pixel scale."""
    x0, y0, x1, y1 = region
    w, h = x1 - x0, y1 - y0
    k = cam_math.intrinsics(cam)
    cx, cy = k[0, 2] - x0, k[1, 2] - y0
    n, f = cam.near, cam.far
    proj = np.array([
        [2 * k[0, 0] / w, 0, 1 - 2 * cx / w, 0],
        [0, 2 * k[1, 1] / h, 2 * cy / h - 1, 0],
        [0, 0, (f + n) / (n - f), 2 * f * n / (n - f)],
        [0, 0, -1, 0],
    ])
    return proj.T.ravel().tolist()


def render_silhouette(body: int, cam: CameraSpec, region: Region, renderer: int, client: int) -> np.ndarray:
    """Which pixels of `region` show `body`, from the segmentation buffer (the same pass as the visible mask)."""
    x0, y0, x1, y1 = region
    with c_output_silenced():
        _, _, _, _, seg = p.getCameraImage(
            x1 - x0, y1 - y0, cam_math.view_matrix(cam), cropped_projection(cam, region), shadow=0,
            renderer=renderer, physicsClientId=client)
    return np.asarray(seg, dtype=np.int32).reshape(y1 - y0, x1 - x0) == body


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


def amodal_masks(objects: dict[int, tuple[int, ObjectSpec]], cam: CameraSpec, renderer: int, client: int,
                 crop: bool = True) -> dict[int, tuple[int, int, np.ndarray]]:
    """{instance id: (x0, y0, mask)} for `objects` ({instance id: (body, spec)}), each rendered alone.

    With crop, only the object's projected 3D box is rendered; without, the whole image (for comparison).
    """
    poses = Poses(client, cam)
    poses.park_all()
    out = {}
    try:
        for inst_id, (body, obj) in objects.items():
            region = object_region(obj, cam) if crop else (0, 0, cam.width, cam.height)
            if region[2] <= region[0] or region[3] <= region[1]:
                out[inst_id] = (0, 0, np.zeros((0, 0), dtype=bool))
                continue
            poses.show(body)
            out[inst_id] = (region[0], region[1], render_silhouette(body, cam, region, renderer, client))
            poses.hide(body)
    finally:
        poses.restore()
    return out
