"""One scene's frames: randomize -> build -> settle -> render -> post-process -> annotate, and writing them.

Frame i is view i % views_per_scene of scene i // views_per_scene, and depends on (seed, i) alone."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np

from simgen.annotate import Annotator, Instance
from simgen.effects import Effect
from simgen.errors import ConfigError
from simgen.frame import Frame
from simgen.randomizers import Randomizer
from simgen.scene import Scene
from simgen.world import World
from simgen.writers import Writer

Job = tuple[int, tuple[int, ...]]  # a scene index and the views of it still to render
OVERSIZED_M = 3.0  # a labeled object larger than this across is likely a mesh modelled in millimetres


@dataclass
class Pipeline:
    """Everything a run is made of, as instantiated from config."""

    scene: Scene
    randomizers: Sequence[Randomizer]  # per scene: objects, appearance, light, camera, distractors
    view_randomizers: Sequence[Randomizer]  # the camera again, for each view after a scene's first
    world: World
    annotator: Annotator
    writers: Sequence[Writer]
    effects: Sequence[Effect] = ()
    categories: list[dict] = field(default_factory=list)



@dataclass(frozen=True)
class FrameResult:
    """What the parent needs to know of a finished frame."""

    index: int
    instances: int  # annotated, ignore regions aside
    categories: frozenset
    unsettled: bool = False  # labeled objects still moving when drawn: settling hit world.max_steps
    empty: bool = False  # nothing annotated but ignore regions
    objects: int = 0  # labeled objects dropped
    fell: int = 0  # of them, those that fell off (or through) the support and were left out
    oversized: tuple = ()  # (category, asset, metres across) of the labeled objects larger than OVERSIZED_M
    ignored: int = 0  # ignore regions annotated (annotator.below=ignore)
    no_room: int = 0  # labeled objects left out where there was no room under a fixture above (a full shelf)

    @staticmethod
    def of(index: int, instances: list[Instance], scene: Scene) -> "FrameResult":
        labeled = [obj for obj in scene.objects if obj.labeled]
        sizes = [(obj.category, obj.asset.path or obj.asset.kind, float(np.ptp(obj.bbox_3d, axis=0).max()))
                 for obj in labeled if obj.bbox_3d is not None]
        kept = [i for i in instances if not i.ignore]
        return FrameResult(index, len(kept), frozenset(i.category_id for i in kept),
                           unsettled=any(obj.state == "moving" for obj in labeled),
                           empty=not kept, ignored=len(instances) - len(kept), objects=len(labeled),
                           fell=sum(obj.state == "fell" for obj in labeled),
                           no_room=sum(obj.state == "no_room" for obj in labeled),
                           oversized=tuple(size for size in sizes if size[2] > OVERSIZED_M))


def scene_rng(seed: int, scene_index: int) -> np.random.Generator:
    """The random stream of a scene: objects, appearance, light, its first camera, distractors."""
    return np.random.default_rng([seed, scene_index])


def view_rng(seed: int, scene_index: int, view: int) -> np.random.Generator:
    """The random stream of one view of a scene: its camera (after the first view) and effects."""
    return np.random.default_rng([seed, scene_index, view])


def frame_scene(pipeline: Pipeline, rng: np.random.Generator) -> Scene:
    """The randomized scene spec of a scene, seen by its first view's camera."""
    scene = pipeline.scene.copy()
    for randomize in pipeline.randomizers:
        randomize(scene, rng)
    return scene


def view_of(pipeline: Pipeline, scene: Scene, view: int, rng: np.random.Generator) -> Scene:
    """View `view` of a scene: the scene itself for view 0, else a shallow copy with a camera of its own (a copy, so a
    camera randomizer that edits the camera in place leaves the other views' cameras alone)."""
    if view == 0:
        return scene
    spec = dataclasses.replace(scene, camera=dataclasses.replace(scene.camera))
    for randomize in pipeline.view_randomizers:
        randomize(spec, rng)
    return spec


def frame_spec(pipeline: Pipeline, seed: int, index: int, views_per_scene: int = 1) -> Scene:
    """The full scene spec of frame `index` (before physics): a function of (seed, index) alone."""
    scene_index, view = divmod(index, views_per_scene)
    scene = frame_scene(pipeline, scene_rng(seed, scene_index))
    return view_of(pipeline, scene, view, view_rng(seed, scene_index, view))


def make_frames(pipeline: Pipeline, seed: int, scene_index: int, views: Sequence[int],
                views_per_scene: int) -> Iterator[tuple[int, Frame, Scene, list[Instance]]]:
    """Randomize, build and settle one scene, then render, post-process and annotate the asked views of it."""
    scene = frame_scene(pipeline, scene_rng(seed, scene_index))
    pipeline.world.build(scene)
    pipeline.world.settle(scene)
    for view in views:
        rng = view_rng(seed, scene_index, view)
        spec = view_of(pipeline, scene, view, rng)
        frame = pipeline.world.render(spec)
        if pipeline.annotator.amodal:
            frame.amodal = pipeline.world.render_amodal(spec, pipeline.annotator.candidates(frame), frame.instance)
        apply_effects(pipeline.effects, frame, rng)
        yield scene_index * views_per_scene + view, frame, spec, pipeline.annotator(frame, spec)


def apply_effects(effects: Sequence[Effect], frame: Frame, rng: np.random.Generator) -> None:
    """Post-process the frame's RGB, effect by effect; what each one that applied drew goes into frame.effects."""
    shape = frame.rgb.shape
    for effect in effects:
        drawn = effect(frame, rng)
        check_rgb(effect, frame.rgb, shape)
        if drawn is not None:
            frame.effects[effect_name(effect)] = checked_drawn(effect, drawn)


def effect_name(effect: Effect) -> str:
    """An effect's name in the meta: its config key (`blur` for effects.blur), or its class's name."""
    return getattr(effect, "key", type(effect).__name__).removeprefix("effects.")


def check_rgb(effect: Effect, rgb: object, shape: tuple) -> None:
    """What an effect left in frame.rgb is an RGB image of the frame's size (a user's effect that returned floats
    in [0, 1] wrote black PNGs)."""
    if not (isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.shape == shape):
        got = f"{rgb.dtype} array of shape {rgb.shape}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
        raise ConfigError(getattr(effect, "key", "effects"), f"expected the effect to leave frame.rgb a uint8 array "
                                                             f"of shape {shape}, got a {got}")


def checked_drawn(effect: Effect, drawn: object) -> dict:
    """What an effect returned is a dict the meta can hold (JSON values), or a ConfigError naming the effect."""
    try:
        if isinstance(drawn, dict):
            json.dumps(drawn)
            return drawn
    except (TypeError, ValueError):
        pass
    raise ConfigError(getattr(effect, "key", "effects"), "expected the effect to return None or a dict of JSON values "
                                                         f"(what it drew, for the frame's meta), got {drawn!r:.80}")


def make_frame(pipeline: Pipeline, seed: int, index: int,
               views_per_scene: int = 1) -> tuple[Frame, Scene, list[Instance]]:
    """Frame `index` on its own, its scene built and settled for it."""
    scene_index, view = divmod(index, views_per_scene)
    _, frame, scene, instances = next(make_frames(pipeline, seed, scene_index, [view], views_per_scene))
    return frame, scene, instances



def write_frame(pipeline: Pipeline, index: int, frame: Frame, scene: Scene, instances: list[Instance]) -> None:
    for writer in pipeline.writers:
        writer.write(index, frame, scene, instances)


