"""Round primitives drawn from unit meshes (simgen.world.primitive_visuals): their silhouettes are their shapes."""

import math

import cv2
import numpy as np
import pytest

from conftest import RENDERERS, render_once
from simgen.scene import Asset, CameraSpec, ObjectSpec, Scene, Support, TextureSpec
from simgen.world import egl_available

WIDTH, HEIGHT, FOV = 240, 240, 40.0
FOCAL = (HEIGHT / 2) / math.tan(math.radians(FOV) / 2)  # pixels


def render(renderer: str, objects: list[ObjectSpec], eye: tuple, target: tuple = (0, 0, 0)):
    camera = CameraSpec(position=eye, target=target, up=(0, 1, 0) if eye[:2] == (0, 0) else (0, 0, 1), fov=FOV,
                        width=WIDTH, height=HEIGHT, near=0.01)
    scene = Scene("t", Support(-1.0, ((-1, -1), (1, 1))), (0, 0, 0), fixtures=[], objects=objects, camera=camera)
    return render_once(renderer, scene)


def body(kind: str, size: tuple, position=(0, 0, 0), **kw) -> ObjectSpec:
    return ObjectSpec(kind, Asset(kind, size=size), category_id=1, position=position, static=True, **kw)


def disc_area(radius: float, distance: float) -> float:
    """Pixels of a sphere of `radius` whose centre is `distance` from the camera, on the optical axis."""
    return math.pi * (FOCAL * radius / math.sqrt(distance**2 - radius**2)) ** 2


@pytest.mark.parametrize("renderer", RENDERERS)
def test_round_primitives_seen_along_their_axis_are_discs_of_their_radius(renderer):
    """A sphere, a cylinder's near end and a capsule's near half sphere, each against its exact projection."""
    r, length, d = 0.04, 0.1, 0.5
    cases = {
        "sphere": (body("sphere", (r,)), disc_area(r, d)),
        "cylinder": (body("cylinder", (r, length)), math.pi * (FOCAL * r / (d - length / 2)) ** 2),
        "capsule": (body("capsule", (r, length)), disc_area(r, d - length / 2)),
    }
    for kind, (obj, exact) in cases.items():
        pixels = (render(renderer, [obj], eye=(0, 0, d)).instance == 1).sum()
        assert abs(pixels / exact - 1) < 0.02, f"{kind}: {pixels} pixels, exactly {exact:.0f}"


@pytest.mark.parametrize("renderer", RENDERERS)
def test_cylinders_and_capsules_seen_from_the_side_have_their_length(renderer):
    r, length, d = 0.02, 0.1, 1.0
    for kind, extent in (("cylinder", length), ("capsule", length + 2 * r)):
        mask = render(renderer, [body(kind, (r, length))], eye=(d, 0, 0)).instance == 1
        rows = np.flatnonzero(mask.any(axis=1))
        assert abs((rows[-1] - rows[0] + 1) / (FOCAL * extent / (d - r)) - 1) < 0.04, kind


@pytest.mark.parametrize("renderer", RENDERERS)
def test_spheres_of_two_sizes_in_one_scene_are_each_drawn_at_their_size(renderer):
    """Both are drawn from one unit mesh: each needs its own shape in the EGL plugin, which caches by file name."""
    small, large = body("sphere", (0.02,), (-0.1, 0, 0)), body("sphere", (0.05,), (0.1, 0, 0))
    large.category_id = 2
    instance = render(renderer, [small, large], eye=(0, 0, 0.8)).instance
    assert abs((instance == 2).sum() / (instance == 1).sum() / (0.05 / 0.02) ** 2 - 1) < 0.1


@pytest.mark.parametrize("renderer", RENDERERS)
def test_round_primitives_show_their_colour_and_texture_on_every_part(renderer, tmp_path):
    red = render(renderer, [body("capsule", (0.03, 0.06), rgba=(0.9, 0.1, 0.1, 1))], eye=(0.3, 0, 0.1))
    grey = render(renderer, [body("capsule", (0.03, 0.06))], eye=(0.3, 0, 0.1))
    pixels = red.rgb[red.instance == 1].astype(float)
    assert (pixels[:, 0] > 2 * pixels[:, 1]).all()  # the ends too, not only the cylinder between them
    shades = grey.rgb[grey.instance == 1].astype(int)
    assert (np.ptp(shades, axis=1) <= 2).all()  # the default grey
    textured = render(renderer, [body("capsule", (0.03, 0.06), texture=stripes(tmp_path))], eye=(0.3, 0, 0.1))
    seen = textured.rgb[textured.instance == 1].astype(float)
    saturation = (seen.max(1) - seen.min(1)) / np.maximum(seen.max(1), 1)
    assert np.median(saturation) > 0.5 and (saturation > 0.3).mean() > 0.95  # no part left grey
    redder = seen[:, 0] > seen[:, 2]
    assert 0.2 < redder.mean() < 0.8  # both stripes show


def stripes(folder) -> TextureSpec:
    """A texture of red and blue stripes, 4 pixels wide: every crop of it holds both."""
    image = np.zeros((64, 64, 3), np.uint8)
    image[:, :] = (30, 30, 220)
    image[:, (np.arange(64) // 4) % 2 == 0] = (220, 30, 30)
    path = folder / "stripes.png"
    cv2.imwrite(str(path), image[:, :, ::-1])
    return TextureSpec("photo", seed=1, size=64, path=str(path))


@pytest.mark.skipif(not egl_available(), reason="no EGL here")
def test_egl_shades_a_box_as_tinyrenderer_does():
    """PyBullet's own box under EGL draws half of each face darker along its diagonal; simgen's unit cube not."""
    box = body("box", (0.6, 0.4, 0.04), rgba=(0.6, 0.45, 0.3, 1))
    looks = {}
    for renderer in ("tiny", "egl"):
        frame = render(renderer, [box], eye=(0.5, -0.4, 0.7))
        grey = frame.rgb[frame.instance == 1].astype(float).mean(axis=1)
        looks[renderer] = np.median(grey), (np.abs(grey - np.median(grey)) <= 2).mean()
    (tiny, _), (egl, flat) = looks["tiny"], looks["egl"]
    assert abs(egl / tiny - 1) < 0.06 and flat > 0.6  # the top face, most of the box, in one shade


def primitive_urdf(folder, shape: str) -> str:
    """A one-link URDF whose visual and collision are the primitive `shape` (URDF XML)."""
    path = folder / "primitive.urdf"
    path.write_text(f'<robot name="p"><link name="base"><inertial><mass value="0.1"/>'
                    f'<inertia ixx="1e-4" ixy="0" ixz="0" iyy="1e-4" iyz="0" izz="1e-4"/></inertial>'
                    f'<visual><geometry>{shape}</geometry></visual>'
                    f'<collision><geometry>{shape}</geometry></collision></link></robot>')
    return str(path)


@pytest.mark.parametrize("renderer", RENDERERS)
def test_a_urdfs_round_primitives_are_drawn_smooth(renderer, tmp_path):
    """PyBullet draws a URDF's <sphere>, <cylinder> and <capsule> as coarse polygons; simgen draws them from
    meshes of 32 slices."""
    r, length, d = 0.04, 0.1, 0.5
    cases = {
        f'<sphere radius="{r}"/>': disc_area(r, d),
        f'<cylinder radius="{r}" length="{length}"/>': math.pi * (FOCAL * r / (d - length / 2)) ** 2,
        f'<capsule radius="{r}" length="{length}"/>': disc_area(r, d - length / 2),
    }
    for shape, exact in cases.items():
        obj = ObjectSpec("p", Asset("urdf", path=primitive_urdf(tmp_path, shape)), category_id=1, static=True)
        pixels = (render(renderer, [obj], eye=(0, 0, d)).instance == 1).sum()
        assert abs(pixels / exact - 1) < 0.02, f"{shape}: {pixels} pixels, exactly {exact:.0f}"
