import numpy as np
import pytest

from simgen import camera
from simgen.scene import CameraSpec


def test_intrinsics_match_vertical_fov():
    cam = CameraSpec(fov=90.0, width=200, height=100)
    k = camera.intrinsics(cam)
    assert k[1, 1] == pytest.approx(50.0) and k[0, 0] == pytest.approx(50.0)
    assert (k[0, 2], k[1, 2]) == (100.0, 50.0)


def test_world_to_camera_is_a_rigid_transform_looking_at_target():
    cam = CameraSpec(position=(1.0, 2.0, 3.0), target=(0.0, 0.5, 0.2))
    pose = camera.world_to_camera(cam)
    rot = pose[:3, :3]
    assert np.allclose(rot @ rot.T, np.eye(3)) and np.linalg.det(rot) == pytest.approx(1.0)
    eye = pose @ [1.0, 2.0, 3.0, 1.0]
    assert np.allclose(eye[:3], 0)
    target = pose @ [0.0, 0.5, 0.2, 1.0]
    assert target[0] == pytest.approx(0) and target[1] == pytest.approx(0)
    assert target[2] == pytest.approx(np.linalg.norm(np.subtract((1, 2, 3), (0, 0.5, 0.2))))


def test_world_up_projects_upwards_in_the_image():
    cam = CameraSpec(position=(2.0, 0.0, 0.5), target=(0.0, 0.0, 0.5))
    (u0, v0), (u1, v1) = camera.project([[0, 0, 0.5], [0, 0, 0.7]], cam)
    assert (u0, v0) == pytest.approx((cam.width / 2, cam.height / 2))
    assert v1 < v0 and u1 == pytest.approx(u0)


def test_straight_down_view_is_well_defined():
    cam = CameraSpec(position=(0.0, 0.0, 2.0), target=(0.0, 0.0, 0.0))
    assert np.all(np.isfinite(camera.world_to_camera(cam)))


def test_metric_depth_inverts_the_opengl_zbuffer():
    near, far = 0.1, 10.0
    z = np.array([0.5, 1.0, 3.0, 10.0])
    zbuf = (far / (far - near)) * (1 - near / z)  # OpenGL depth of a point at distance z
    assert np.allclose(camera.metric_depth(zbuf, near, far), z, rtol=1e-5)
