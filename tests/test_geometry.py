"""Pose, 3D box and keypoint geometry (pure numpy), and a known point reprojected by the real pipeline."""

import numpy as np
import pytest

from simgen import camera, geometry
from simgen.annotate import Annotator
from simgen.scene import Asset, CameraSpec, ObjectSpec, Scene, Support
from simgen.world import World

S = np.sqrt(0.5)


@pytest.mark.parametrize("quat, matrix", [
    ((0, 0, 0, 1), np.eye(3)),
    ((0, 0, S, S), [[0, -1, 0], [1, 0, 0], [0, 0, 1]]),      # +90 degrees about z
    ((1, 0, 0, 0), [[1, 0, 0], [0, -1, 0], [0, 0, -1]]),     # 180 degrees about x
    ((0, S, 0, S), [[0, 0, 1], [0, 1, 0], [-1, 0, 0]]),      # +90 degrees about y
])
def test_quaternion_matrix(quat, matrix):
    assert np.allclose(geometry.quaternion_matrix(quat), matrix, atol=1e-12)


def test_box_corners_follow_the_keypoint_names():
    corners = geometry.box_corners(((-1, -2, -3), (1, 2, 3)))
    for name, corner in zip(geometry.KEYPOINT_NAMES, corners):
        signs = np.where(np.array(list(name[-3:])) == "+", 1, -1)
        assert np.array_equal(corner, signs * [1, 2, 3])
    assert geometry.KEYPOINT_NAMES[-1] == "center"
    assert np.allclose(geometry.box_keypoints_3d(((0, 0, 0), (2, 4, 6)))[-1], [1, 2, 3])


def test_skeleton_is_the_twelve_box_edges():
    corners = geometry.box_corners(((0, 0, 0), (1, 1, 1)))
    assert len(geometry.SKELETON) == 12
    for a, b in geometry.SKELETON:
        assert np.abs(corners[a - 1] - corners[b - 1]).sum() == 1  # one unit along one axis


@pytest.mark.parametrize("uv, z, depth_here, flag", [
    ((5.5, 5.5), 1.0, 1.2, 2),     # the surface there is behind the point: seen
    ((5.5, 5.5), 1.0, 0.0, 2),     # nothing rendered there: seen
    ((5.5, 5.5), 1.0, 1.003, 2),   # within the tolerance
    ((5.5, 5.5), 1.0, 0.9, 1),     # something nearer: hidden
    ((-0.5, 5.5), 1.0, 1.2, 0),    # left of the image
    ((5.5, 10.0), 1.0, 1.2, 0),    # below the last row
    ((5.5, 5.5), -1.0, 1.2, 0),    # behind the camera
])
def test_keypoint_visibility(uv, z, depth_here, flag):
    depth = np.full((10, 10), depth_here, dtype=np.float32)
    assert geometry.keypoint_visibility(np.array([uv]), np.array([z]), depth, 0.005).tolist() == [flag]


def test_pose_maps_object_points_like_the_world_transform():
    obj = ObjectSpec("thing", Asset("box", size=(0.1, 0.1, 0.1)), position=(0.3, -0.2, 0.8),
                     orientation=tuple(np.array([0.1, -0.4, 0.3, 0.8]) / np.linalg.norm([0.1, -0.4, 0.3, 0.8])))
    cam = CameraSpec(position=(1.0, 0.5, 1.6), target=(0.0, 0.0, 0.7))
    rot, trans = geometry.object_to_camera(obj, cam)
    point = np.array([0.05, -0.02, 0.03])
    world = geometry.quaternion_matrix(obj.orientation) @ point + obj.position
    via_pose = geometry.project_camera_points((rot @ point + trans)[None], camera.intrinsics(cam))
    assert np.allclose(via_pose, camera.project([world], cam), atol=1e-9)
    assert np.allclose(rot @ rot.T, np.eye(3), atol=1e-12) and np.linalg.det(rot) == pytest.approx(1.0)


def test_known_point_reprojects_to_the_expected_pixel():
    """A box centred 0.1 m right and 0.05 m 'up the image' of the optical axis, 1 m below a camera looking
    straight down: its centre keypoint lands at (cx + 0.1 f / d, cy - 0.05 f / d) with d its distance."""
    floor = ObjectSpec("floor", Asset("box", size=(2, 2, 0.02)), position=(0, 0, -0.01), labeled=False, static=True)
    box = ObjectSpec("box", Asset("box", size=(0.04, 0.04, 0.04)), category_id=8, position=(0.1, 0.05, 0.02),
                     static=True)
    cam = CameraSpec(position=(0, 0, 1.02), target=(0, 0, 0), up=(0, 1, 0), width=320, height=240)
    scene = Scene("known", Support(0.0, ((-1, -1), (1, 1))), (0, 0, 0), fixtures=[floor], objects=[box], camera=cam)
    world = World(renderer="tiny")
    try:
        world.build(scene)
        world.settle(scene)
        frame = world.render(scene)
    finally:
        world.close()
    (inst,) = Annotator(min_visible_pixels=1)(frame, scene)
    f = camera.intrinsics(cam)[0, 0]
    u, v = np.asarray(inst.keypoints).reshape(-1, 3)[-1, :2]
    assert (u, v) == pytest.approx((160 + 0.1 * f / 1.0, 120 - 0.05 * f / 1.0), abs=1e-3)  # stored to 1e-3 px
    assert inst.cam_t_m2c == pytest.approx([0.1, -0.05, 1.0], abs=1e-9)
    ys, xs = np.nonzero(frame.instance == 1)  # the rendered box: top face 0.98 m away, a sliver of its sides
    assert (xs.mean() + 0.5, ys.mean() + 0.5) == pytest.approx((160 + 0.1 * f / 0.98, 120 - 0.05 * f / 0.98), abs=0.75)
