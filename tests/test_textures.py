import os
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image

from simgen.errors import ConfigError
from simgen.randomizers.color import ColorRandomizer
from simgen.randomizers.texture import TextureRandomizer
from simgen.scene import Asset, CameraSpec, ObjectSpec, Scene, Support, TextureSpec
from simgen.textures import PATTERNS, TextureFiles, make_texture, read_photo
from simgen.world import World
from simgen.world.texture_memory import CLIENT_BYTES_PER_PIXEL

from conftest import RENDERERS, texture_folders


@pytest.mark.parametrize("kind", PATTERNS)
def test_each_pattern_is_deterministic_and_varied(kind):
    spec = TextureSpec(kind, seed=3, scale=6.0, size=64)
    image = make_texture(spec)
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert np.array_equal(image, make_texture(TextureSpec(kind, seed=3, scale=6.0, size=64)))
    assert image.reshape(-1, 3).std(0).max() > 5, "a flat texture"
    assert not np.array_equal(image, make_texture(TextureSpec(kind, seed=4, scale=6.0, size=64)))


def test_photo_texture_is_a_crop_of_the_photo(tmp_path):
    photo = np.zeros((100, 200, 3), np.uint8)
    photo[:, :100] = (0, 0, 255)  # red left half (BGR)
    photo[:, 100:] = (255, 0, 0)  # blue right half
    cv2.imwrite(str(tmp_path / "p.png"), photo)
    colours = set()
    for seed in range(20):
        image = make_texture(TextureSpec("photo", seed=seed, size=32, path=str(tmp_path / "p.png")))
        assert image.shape == (32, 32, 3)
        colours.update(map(tuple, image.reshape(-1, 3)[[0, -1]].tolist()))
    assert {(255, 0, 0), (0, 0, 255)} <= colours  # RGB order, both halves seen


def test_texture_files_are_bounded_and_removed_at_close():
    files = TextureFiles(max_files=3)
    paths = [files.path(TextureSpec("checker", seed=s, size=16)) for s in range(10)]
    folder = os.path.dirname(paths[0])
    assert len(os.listdir(folder)) == 10  # nothing is deleted between trims: a build's files stay
    files.trim()
    assert len(files) == 3 and sorted(os.listdir(folder)) == sorted(os.path.basename(p) for p in paths[-3:])
    assert files.path(TextureSpec("checker", seed=9, size=16)) == paths[-1]  # a hit reuses the file
    files.close()
    assert os.listdir(folder) == []


def test_a_closed_folder_is_used_again_by_the_next_texture_files_and_removed_at_exit(tmp_path):
    """A sweep's jobs in one process each make a World: their files get the same paths (PyBullet's process-wide
    cache of loaded files, by path, grew by each job's copies: 1.5 MB a job under EGL), one folder at a time."""
    code = """
import os
from simgen.scene import TextureSpec
from simgen.textures import TextureFiles
first = TextureFiles()
path = first.path(TextureSpec("checker", seed=0, size=16))
first.close()
second, third = TextureFiles(), TextureFiles()
assert second.path(TextureSpec("checker", seed=0, size=16)) == path  # the same file name in the same folder
assert os.path.dirname(third.path(TextureSpec("checker", seed=1, size=16))) != os.path.dirname(path)
del second  # garbage collected without close(): its folder is put back too
fourth = TextureFiles()
made = fourth.path(TextureSpec("checker", seed=2, size=16))
assert os.path.dirname(made) == os.path.dirname(path)
assert os.listdir(os.path.dirname(path)) == [os.path.basename(made)]  # emptied when put back
print(len(os.listdir(os.environ["TMPDIR"])))
"""
    done = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, TMPDIR=str(tmp_path)),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"  # two folders while it ran
    assert list(tmp_path.iterdir()) == []  # none once it exited


def test_texture_files_are_bounded_on_disk():
    files = TextureFiles(max_mb=7)  # a 1024x1024 BMP is 3 MB
    paths = [files.path(TextureSpec("noise", seed=s, size=1024)) for s in range(4)]
    files.trim()
    folder = os.path.dirname(paths[0])
    on_disk = sum(os.path.getsize(os.path.join(folder, name)) for name in os.listdir(folder))
    assert files.bytes == on_disk == 2 * 1024 * 1024 * 3 + 2 * 54  # the two newest, with their BMP headers
    assert all(os.path.exists(p) for p in paths[2:])
    files.close()


def test_abandoned_texture_files_make_no_new_folder():
    """A worker's exit thread removes its files while the main thread may be making one: no folder may be
    made after that (the process is about to end), so none is left behind."""
    import threading

    files = TextureFiles()
    folder = os.path.dirname(files.path(TextureSpec("checker", seed=0, size=16)))
    before = texture_folders()
    files.abandon()
    assert not os.path.exists(folder)
    late = threading.Thread(target=files.path, args=(TextureSpec("checker", seed=1, size=16),), daemon=True)
    late.start()
    late.join(0.5)
    assert late.is_alive()  # waits for the process to end instead of making a file
    assert texture_folders() - before == set()


def box_scene(texture=None, floor_texture=None) -> Scene:
    floor = ObjectSpec("floor", Asset("box", size=(2.0, 2.0, 0.02)), position=(0, 0, -0.01), labeled=False,
                       static=True, texture=floor_texture)
    box = ObjectSpec("box", Asset("box", size=(0.3, 0.3, 0.3)), category_id=1, position=(0, 0, 0.15), static=True,
                     rgba=(1, 1, 1, 1), texture=texture)
    cam = CameraSpec(position=(0.6, 0.4, 0.6), target=(0, 0, 0.1), width=96, height=72)
    return Scene("t", Support(0.0, ((-1, -1), (1, 1))), (0, 0, 0), fixtures=[floor], objects=[box], camera=cam)


def detail(rgb: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute difference between horizontal neighbours inside `mask`: flat shading scores near 0."""
    both = mask[:, 1:] & mask[:, :-1]
    return float(np.abs(np.diff(rgb.astype(float), axis=1)).sum(2)[both].mean())


def render(world: World, scene: Scene):
    world.build(scene)
    return world.render(scene)


@pytest.mark.parametrize("renderer", RENDERERS)
def test_texture_raises_the_object_and_floor_pixel_variance(renderer):
    world = World(renderer=renderer)
    try:
        plain = render(world, box_scene())
        textured = render(world, box_scene(TextureSpec("checker", seed=1, scale=6), TextureSpec("stripes", seed=2, scale=16)))
    finally:
        world.close()
    box, floor = plain.instance == 1, (plain.instance == 0) & (plain.depth > 0)
    assert np.array_equal(plain.instance, textured.instance) and np.array_equal(plain.depth, textured.depth)
    for mask in (box, floor):
        assert detail(textured.rgb, mask) > detail(plain.rgb, mask) + 5


@pytest.mark.parametrize("renderer", RENDERERS)
def test_textures_after_resets_never_show_a_stale_texture(renderer):
    """resetSimulation invalidates texture ids: a scene rendered after others must look as in a fresh world."""
    first = box_scene(TextureSpec("stripes", seed=5, scale=4))
    world = World(renderer=renderer)
    try:
        reference = render(world, first).rgb
        for seed in range(4):
            render(world, box_scene(TextureSpec("noise", seed=seed), TextureSpec("checker", seed=seed)))
        again = render(world, box_scene(TextureSpec("stripes", seed=5, scale=4))).rgb
    finally:
        world.close()
    fresh = World(renderer=renderer)
    try:
        render(fresh, box_scene())
        in_fresh_world = render(fresh, box_scene(TextureSpec("stripes", seed=5, scale=4))).rgb
    finally:
        fresh.close()
    assert np.array_equal(reference, again) and np.array_equal(reference, in_fresh_world)


def spec_scene() -> Scene:
    fixtures = [ObjectSpec(name, Asset("box", size=(1, 1, 1)), labeled=False, static=True) for name in ("floor", "table")]
    objects = [ObjectSpec("duck", Asset("box", size=(0.1,) * 3), category_id=1) for _ in range(4)]
    objects.append(ObjectSpec("clutter", Asset("sphere", size=(0.1,)), labeled=False))
    return Scene("t", Support(0.0, ((-1, -1), (1, 1))), (0, 0, 0), fixtures=fixtures, objects=objects)


def test_texture_randomizer_acts_on_its_targets_only():
    scene = spec_scene()
    TextureRandomizer(targets=["objects"], probability=1.0, variants=2, scale=[3, 5])(scene, np.random.default_rng(0))
    labeled = [o for o in scene.objects if o.labeled]
    assert all(o.texture is not None and o.texture.seed in (0, 1) and 3 <= o.texture.scale <= 5 for o in labeled)
    assert scene.objects[-1].texture is None and all(f.texture is None for f in scene.fixtures)
    scene = spec_scene()
    TextureRandomizer(targets=["table", "distractors"], probability=1.0)(scene, np.random.default_rng(0))
    assert [b.category for b in scene.fixtures + scene.objects if b.texture] == ["table", "clutter"]


def test_texture_probability_zero_changes_nothing():
    scene = spec_scene()
    TextureRandomizer(targets=["fixtures", "objects"], probability=0.0)(scene, np.random.default_rng(0))
    assert all(b.texture is None for b in scene.fixtures + scene.objects)


def test_a_jpeg_photo_reads_upright_and_shrunk_as_opencv_reads_it(tmp_path):
    """JPEGs are decoded at a reduced scale (a cut-short one is refused); the pixels stay close to a whole decode, and
    the EXIF orientation is applied as OpenCV applies it."""
    rng = np.random.default_rng(0)
    bgr = cv2.resize(rng.integers(0, 255, (30, 40, 3), np.uint8), (1600, 1200), interpolation=cv2.INTER_CUBIC)
    plain, turned = tmp_path / "plain.jpg", tmp_path / "turned.jpg"
    cv2.imwrite(str(plain), bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: shown turned 90 degrees clockwise
    Image.open(plain).save(turned, quality=95, exif=exif)
    for path in (plain, turned):
        expected = cv2.imread(str(path), cv2.IMREAD_COLOR)
        factor = 512 / max(expected.shape[:2])
        expected = cv2.resize(expected, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        got = read_photo(str(path), 512)
        assert got.shape == expected.shape and np.abs(got.astype(int) - expected).mean() < 3


def test_photo_kind_takes_images_from_the_folder(tmp_path):
    cv2.imwrite(str(tmp_path / "a.jpg"), np.full((20, 30, 3), 90, np.uint8))
    scene = spec_scene()
    TextureRandomizer(kinds=["photo"], photos=str(tmp_path), probability=1.0)(scene, np.random.default_rng(0))
    assert all(o.texture.path == str(tmp_path / "a.jpg") for o in scene.objects if o.labeled)


def test_a_file_in_the_photo_folder_that_is_no_image_is_refused_before_any_frame(tmp_path):
    """It failed at the frame that first drew it."""
    cv2.imwrite(str(tmp_path / "a.jpg"), np.full((20, 30, 3), 90, np.uint8))
    (tmp_path / "b.jpg").write_text("a note, not a photo")
    with pytest.raises(ConfigError, match=f"^photos: {re.escape(str(tmp_path / 'b.jpg'))}: not an image"):
        TextureRandomizer(kinds=["photo"], photos=str(tmp_path), probability=1.0)


@pytest.mark.parametrize("kwargs, key", [
    ({"kinds": ["photo"]}, "photos"), ({"kinds": ["plaid"]}, "kinds[0]"), ({"probability": 2}, "probability"),
    ({"targets": []}, "targets"), ({"variants": 0}, "variants"), ({"kinds": []}, "kinds"),
])
def test_bad_texture_settings_name_the_key(kwargs, key):
    with pytest.raises(ConfigError, match=f"^{re.escape(key)}:"):
        TextureRandomizer(**kwargs)


def test_unknown_fixture_target_names_the_key():
    with pytest.raises(ConfigError, match="^targets: no fixture named 'wall'"):
        TextureRandomizer(targets=["wall"])(spec_scene(), np.random.default_rng(0))


def test_color_randomizer_can_recolour_fixtures():
    scene = spec_scene()
    ColorRandomizer(probability=1.0, targets=["fixtures"])(scene, np.random.default_rng(0))
    assert all(f.rgba is not None for f in scene.fixtures) and all(o.rgba is None for o in scene.objects)


def test_a_client_is_replaced_once_its_textures_fill_the_budget_without_changing_pixels():
    world = World(renderer="tiny", texture_memory_mb=2)  # a 256x256 texture: 0.54 MB in a TinyRenderer client
    try:
        first = render(world, box_scene(TextureSpec("stripes", seed=5), TextureSpec("noise", seed=1))).rgb
        for seed in range(3):
            render(world, box_scene(TextureSpec("checker", seed=seed), TextureSpec("blotches", seed=seed)))
        again = render(world, box_scene(TextureSpec("stripes", seed=5), TextureSpec("noise", seed=1))).rgb
        # 5 builds of 2 textures: replaced before the 3rd and the 5th
        assert world.texture_memory.client == 2 * 256**2 * CLIENT_BYTES_PER_PIXEL["tiny"]
    finally:
        world.close()
    assert np.array_equal(first, again)


def chroma(rgb: np.ndarray) -> np.ndarray:
    """Mean colour of some pixels with brightness divided out: shading changes it little, another image a lot."""
    mean = rgb.reshape(-1, 3).astype(float).mean(axis=0)
    return mean / mean.sum()


@pytest.mark.parametrize("renderer", RENDERERS)
def test_random_textures_next_to_meshes_with_their_own_textures(renderer):
    """The EGL plugin looks up a loaded texture by its index in a list that mesh textures also join, and puts a
    texture on a visual shape that bodies of the same file share: a box textured next to jenga (whose mesh
    brings its own image) must show its own checker, and only one of two same-sized jengas the stripes."""
    import pybullet_data

    jenga = Asset("urdf", path=f"{pybullet_data.getDataPath()}/jenga/jenga.urdf")
    checker, stripes = TextureSpec("checker", seed=1, scale=6), TextureSpec("stripes", seed=2, scale=4)
    scene = box_scene(checker)
    scene.objects = [ObjectSpec("jenga", jenga, category_id=2, position=(0.1, y, 0.04), static=True, scale=2.5,
                                texture=texture, rgba=(1, 1, 1, 1) if texture else None)
                     for y, texture in ((-0.4, None), (0.4, stripes))] + scene.objects
    scene.camera = CameraSpec(position=(1.0, 0.0, 0.8), target=(0, 0, 0.1), width=160, height=120)
    world = World(renderer=renderer)
    try:
        frame = render(world, scene)
    finally:
        world.close()
    untextured, striped, box = (frame.rgb[frame.instance == i] for i in (1, 2, 3))
    assert min(len(untextured), len(striped)) > 200 and len(box) > 1000
    assert np.abs(chroma(box) - chroma(make_texture(checker))).max() < 0.05, "the box shows another image"
    assert np.abs(chroma(striped) - chroma(make_texture(stripes))).max() < 0.05, "the jenga shows another image"
    assert np.abs(chroma(untextured) - chroma(striped)).max() > 0.05, "both jengas show the stripes"


@pytest.mark.parametrize("renderer", RENDERERS)
def test_a_checker_shows_its_cells_across_each_face_of_a_box(renderer):
    """`scale` cells across each face under both renderers (TinyRenderer's own boxes stretched the pattern)."""
    scene = box_scene(TextureSpec("checker", seed=3, scale=4))
    scene.camera = CameraSpec(position=(0.0, 0.0, 0.9), target=(0.0, 0.0, 0.3), up=(0, 1, 0), fov=30, width=160,
                              height=160)
    world = World(renderer=renderer)
    try:
        frame = render(world, scene)
    finally:
        world.close()
    row = frame.instance[80] == 1
    grey = frame.rgb[80][row].astype(float).sum(1)
    edges = np.flatnonzero(np.abs(np.diff(grey)) > 60)
    assert len(np.unique(edges // 3)) == 3  # the top face seen square on: 4 cells, 3 edges between them
