"""Config schema and instantiation: Hydra config -> Pipeline, with one-line errors naming the key."""

from __future__ import annotations

import difflib
import functools
import inspect
import logging
import os
import re
from dataclasses import dataclass, field, fields
from importlib import resources
from typing import Any, Callable, Iterable, Optional

import yaml
from hydra.core.config_store import ConfigStore
from hydra.errors import InstantiationException
from hydra.utils import get_object, instantiate
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import InterpolationResolutionError

from simgen.errors import ConfigError, SimgenError
from simgen import splits, validate
from simgen.generate import Shard
from simgen.pipeline import Pipeline
from simgen.randomizers.targets import select
from simgen.scene import Scene

log = logging.getLogger("simgen")

# Keys that steer a run but do not change its dataset; they are left out of the saved config.
RUN_CONTROL_KEYS = ("output_dir", "overwrite", "resume", "progress", "workers")


@dataclass
class ShardConfig:
    index: int = 0
    count: int = 1


@dataclass
class RunConfig:
    """The top level of conf/config.yaml; Hydra checks overrides of these keys against their types."""

    seed: int = 0
    num_frames: int = 100
    output_dir: str = "outputs/dataset"
    overwrite: bool = False
    resume: bool = False
    progress: bool = True
    workers: int = 0
    views_per_scene: int = 1
    shard: ShardConfig = field(default_factory=ShardConfig)
    renderer: str = "auto"
    splits: Any = None
    scene: Any = None
    catalog: Any = None
    objects: Any = None
    randomizers: Any = field(default_factory=dict)
    light: Any = None
    camera: Any = None
    distractors: Any = field(default_factory=dict)
    world: Any = None
    annotator: Any = None
    effects: Any = field(default_factory=dict)
    writers: Any = field(default_factory=dict)


TOP_LEVEL = tuple(f.name for f in fields(RunConfig))


def check_top_level(keys: Iterable[str]) -> None:
    """Each key is a top-level setting simgen reads; one Hydra added (`+sed=1`, a misspelt seed) is a ConfigError
    naming it and the closest setting."""
    for key in keys:
        if key not in TOP_LEVEL and key != "hydra":
            close = difflib.get_close_matches(key, TOP_LEVEL, n=1)
            hint = f"did you mean {close[0]}?" if close else f"expected one of: {', '.join(TOP_LEVEL)}"
            raise ConfigError(key, f"unknown key: simgen reads no such setting ({hint})")


def register_schema() -> None:
    """The config schema, and the resolvers of the run folder: `expanduser` (`output_dir='~/data'`) and
    `folder_name` (a sweep job's folder, named by its overrides)."""
    ConfigStore.instance().store(name="simgen_schema", node=RunConfig)
    for name, resolver in (("expanduser", os.path.expanduser), ("folder_name", folder_name)):
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)


def folder_name(overrides: str) -> str:
    """A sweep job's folder: its overrides as one folder's name (a slash in a value, a photo folder or a catalog
    glob, made nested folders, and `..` a dataset outside output_dir: % and / are escaped as in URLs), or
    `defaults` for a job without any."""
    return str(overrides).replace("%", "%25").replace("/", "%2F") or "defaults"


def _unknown_key_error(path: str, node: Any, cause: TypeError) -> ConfigError | None:
    found = re.search(r"unexpected keyword argument '(\w+)'", str(cause))
    if not found or not isinstance(node, DictConfig) or "_target_" not in node:
        return None
    params = [p for p in inspect.signature(get_object(node._target_)).parameters if p != "catalog"]
    return ConfigError(f"{path}.{found.group(1)}", f"unknown key (expected one of: {', '.join(params)})")


def build(path: str, node: Any, **kwargs: Any) -> Any:
    """instantiate(node) with errors turned into one-line ConfigErrors under `path`."""
    try:
        return instantiate(node, _convert_="all", **kwargs)
    except InterpolationResolutionError:  # raised from a copy of the node, which has lost the key
        raise _interpolation_error(path, node) from None
    except InstantiationException as err:
        cause = err.__cause__
        full_key = re.search(r"full_key: (\S+)", str(err))
        where = f"{path}.{full_key.group(1)}" if full_key and not full_key.group(1).startswith(path) else \
            (full_key.group(1) if full_key else path)
        if isinstance(cause, ConfigError):
            raise cause.under(where) from None
        if isinstance(cause, SimgenError):
            raise cause from None
        if isinstance(cause, TypeError):
            sub = OmegaConf.select(node, where[len(path) + 1:]) if where != path else node
            unknown = _unknown_key_error(where, sub, cause)
            if unknown:
                raise unknown from None
        if isinstance(cause, ImportError):  # Hydra's text: "Error loading 'a.b.C':", the import's error, a hint
            first, *rest = str(cause).splitlines()
            name = re.search(r"'(.+)'", first)
            raise ConfigError(f"{where}._target_", f"cannot import {name.group(1) if name else 'it'!r}: "
                              f"{' '.join(line.strip() for line in rest)}") from None
        lines = [line.strip() for line in str(cause or err).splitlines()[:4]]  # Hydra wraps a sentence over lines
        raise ConfigError(where, " ".join(line for line in lines if line)) from None


def _interpolation_error(path: str, node: Any) -> ConfigError:
    """The one line for a `${...}` under `path` that cannot be resolved (an unknown key or resolver, a loop)."""
    try:
        OmegaConf.to_container(node, resolve=True)
    except InterpolationResolutionError as err:
        return ConfigError(err.full_key or path, str(err.msg).strip().splitlines()[0])
    return ConfigError(path, "an interpolation (${...}) cannot be resolved")


def _selected(cfg: DictConfig, group: str) -> dict[str, Any]:
    """The parts of a multi-select group, built. Values left for an option that is not selected (an experiment's,
    after `group=[...]` on the command line chose others) are left out; an entry that is no option is an error."""
    node = cfg.get(group)
    if node is None:
        return {}
    if not isinstance(node, DictConfig):
        raise ConfigError(group, f"expected a mapping of named entries, got {node!r}")
    parts = {}
    for name, sub in node.items():
        if isinstance(sub, DictConfig) and "_target_" not in sub:
            if name not in group_entries(group):
                raise ConfigError(f"{group}.{name}", f"not an option of {group} (expected one of: "
                                  f"{', '.join(group_entries(group))}), and no _target_ of its own")
            log.info("%s.%s: values for an option that is not selected (%s=[...]): left out", group, name, group)
        elif sub is not None:
            parts[name] = _checked_part(f"{group}.{name}", build(f"{group}.{name}", sub), group)
    return parts


def is_whole_key(key: str) -> bool:
    """Whether `key` names a config value from the top (`catalog.categories.box.size`), not within a part (`fov`)."""
    return re.split(r"[.\[]", key, maxsplit=1)[0] in TOP_LEVEL


class Keyed:
    """A randomizer or effect whose errors while drawing name its config key (`camera.fov`, not `fov`)."""

    def __init__(self, key: str, part: Any):
        self.key, self.part = key, part

    def __call__(self, *args: Any) -> Any:
        try:
            return self.part(*args)
        except ConfigError as err:
            raise (err if is_whole_key(err.key) else err.under(self.key)) from None

    def __getattr__(self, name: str) -> Any:
        if name == "part":  # not set yet (unpickling)
            raise AttributeError(name)
        return getattr(self.part, name)


# What a part of each multi-select group must be: its methods, and the words that say so.
PART_KINDS = {
    "randomizers": (("__call__",), "a randomizer, called with (scene, rng)"),
    "distractors": (("__call__",), "a randomizer, called with (scene, rng)"),
    "effects": (("__call__",), "an effect, called with (frame, rng)"),
    "writers": (("open", "write", "done", "close"), "a writer, with open, write, done and close"),
}


def _checked_part(key: str, part: Any, group: str) -> Any:
    """A built part that offers what its group calls, else a ConfigError naming its _target_ (a user's own class
    that is no randomizer failed at the first frame)."""
    methods, kind = PART_KINDS.get(group, ((), ""))
    if getattr(part, "reads_dataset", False):
        methods, kind = (*methods, "export"), "an export (reads_dataset), with open, write, done, close and export"
    missing = [m for m in methods if not callable(getattr(part, m, None))]
    if missing:
        raise ConfigError(f"{key}._target_", f"expected {kind}; {type(part).__name__} has no {missing[0]}()")
    return part


@functools.lru_cache(maxsize=None)
def group_entries(group: str) -> tuple[str, ...]:
    """The entries a config group's options define (each option nests its entries under their own names)."""
    folder = resources.files("simgen.conf").joinpath(group)
    files = sorted(f for f in folder.iterdir() if f.name.endswith(".yaml")) if folder.is_dir() else []
    return tuple(name for f in files for name in (yaml.safe_load(f.read_text()) or {}))


def _check_targets(scene: Scene, group: str, parts: dict[str, Any]) -> None:
    """The fixture names in the `targets` of a group's parts, checked against the scene before any frame (and
    worker) starts, naming the whole key."""
    for name, part in parts.items():
        if isinstance(getattr(part, "targets", None), tuple):
            select(scene, part.targets, key=f"{group}.{name}.targets")


def _distinct_from_targets(distractors: dict[str, Any], labeled_kinds: set[str]) -> None:
    """No distractor takes the shape of a labeled primitive category: it would be a target left unlabeled."""
    for name, part in distractors.items():
        if not hasattr(part, "leave_out"):  # a user's own distractors class
            continue
        try:
            part.leave_out(labeled_kinds)
        except ConfigError as err:
            raise err.under(f"distractors.{name}") from None


def _check_writers_needs(writers: dict[str, Any], annotator: Any) -> None:
    """What a writer needs of the others, checked before the first frame rather than after the last."""
    rgb = [w for w in writers.values() if getattr(w, "writes_rgb", False)]
    has = {
        "rgb": (bool(rgb), "the RGB images: add images to writers"),
        "amodal": (annotator.amodal, "the amodal masks: add annotator.amodal=true"),
        "depth": (any(getattr(w, "writes_depth", False) for w in writers.values()),
                  "the depth images: writers.images.depth=true"),
        "exact_masks": (any(getattr(w, "writes_exact_masks", False) for w in writers.values()),
                        "the exact visible masks: the instance images (writers.images.masks=true) or RLE "
                        "segmentations (writers.coco.segmentation=rle)"),
    }
    for name, writer in writers.items():
        for need, (met, what) in has.items():
            if getattr(writer, f"needs_{need}", False) and not met:
                raise ConfigError(f"writers.{name}", f"needs {what}")
        ext, rgb_format = getattr(writer, "image_ext", None), getattr(rgb[0], "rgb_format", None) if rgb else None
        if ext and rgb_format and ext != rgb_format:
            raise ConfigError(f"writers.{name}.image_ext", f"expected {rgb_format}, the format of the RGB images "
                              f"(writers.images.rgb_format), got {ext}; leave it unset to follow them")


def _check_options(cfg: DictConfig) -> None:
    """Each single-option group holds an option: settings with the _target_ of the class they build."""
    for key in ("scene", "catalog", "objects", "light", "camera", "world", "annotator"):
        node = cfg.get(key)
        if node is None:
            raise ConfigError(key, "missing: select an option of this config group")
        if not isinstance(node, DictConfig) or "_target_" not in node:
            got = "a mapping without _target_" if isinstance(node, DictConfig) else node
            raise ConfigError(key, f"expected an option's settings with the _target_ of the class they build (as in "
                              f"conf/{key}/), got {got}")


def build_pipeline(cfg: DictConfig) -> Pipeline:
    """Instantiate every part of a run from its composed config."""
    check_top_level(cfg.keys())
    _check_options(cfg)
    splits.ratios(cfg.get("splits"))  # checked whether or not a writer uses them: simgen-export may, later
    scene, catalog, camera = build("scene", cfg.scene), build("catalog", cfg.catalog), build("camera", cfg.camera)
    extra, distractors = _selected(cfg, "randomizers"), _selected(cfg, "distractors")
    _check_targets(scene, "randomizers", extra)
    _check_targets(scene, "distractors", distractors)
    objects = build("objects", cfg.objects, catalog=catalog)
    _distinct_from_targets(distractors, {catalog[name].primitive for name in objects.categories} - {None})
    light = build("light", cfg.light)
    for key, part in (("objects", objects), ("light", light), ("camera", camera)):
        _checked_part(key, part, "randomizers")
    camera = Keyed("camera", camera)
    # the further randomizers come last, so that those whose targets include distractors find them
    randomizers = [Keyed("objects", objects), Keyed("light", light), camera,
                   *(Keyed(f"distractors.{k}", v) for k, v in distractors.items()),
                   *(Keyed(f"randomizers.{k}", v) for k, v in extra.items())]
    selected = _selected(cfg, "writers")
    writers = list(selected.values())
    if not any(getattr(writer, "marks_finished", False) for writer in writers):
        raise ConfigError("writers", "expected coco among them, writing annotations.json: that file marks the "
                          "dataset finished, and resuming, the exports and the tools read it")
    annotator = build("annotator", cfg.annotator)
    _check_writers_needs(selected, annotator)
    return Pipeline(
        scene=scene, randomizers=randomizers, view_randomizers=[camera],
        world=build("world", cfg.world), annotator=annotator, writers=writers,
        effects=[Keyed(f"effects.{k}", v) for k, v in _selected(cfg, "effects").items()],
        categories=catalog.coco_categories(),
    )


def pipeline_from_container(container: dict) -> Pipeline:
    """Build a pipeline from a resolved, plain config (picklable: used to start worker processes)."""
    return build_pipeline(OmegaConf.create(container))


def worker_factory(cfg: DictConfig, renderer: str) -> Callable[[], Pipeline]:
    """What builds each worker process's pipeline: the resolved config, with the renderer this process chose
    (so that workers skip the EGL probe)."""
    container = OmegaConf.to_container(cfg, resolve=True)
    container["world"]["renderer"] = renderer
    return functools.partial(pipeline_from_container, container)


MAX_FRAMES = 10**9  # a run lists its frames (and stats their files to resume); a billion is beyond any one run


def usable_cores() -> int:
    """The cores this process may run on: those of its CPU affinity (what Slurm's cpus_per_task, taskset or a
    container's cpuset allot it) where the system tells, else the machine's."""
    allowed = getattr(os, "sched_getaffinity", None)
    return len(allowed(0)) if allowed else os.cpu_count() or 1


def run_settings(cfg: DictConfig) -> tuple[int, Shard, int]:
    """The checked `workers` (0 means one per usable core), `shard` and `views_per_scene` settings (and `seed` and
    `num_frames`, checked)."""
    validate.integer("seed", cfg.seed, low=0)  # numpy seeds its generators with non-negative integers only
    validate.integer("num_frames", cfg.num_frames, low=1, high=MAX_FRAMES)
    workers = validate.integer("workers", cfg.workers, low=0) or usable_cores()
    count = validate.integer("shard.count", cfg.shard.count, low=1)
    index = validate.integer("shard.index", cfg.shard.index, low=0, high=count - 1)
    return workers, Shard(index, count), validate.integer("views_per_scene", cfg.views_per_scene, low=1)


def dataset_config_yaml(cfg: DictConfig, renderer: Optional[str] = None) -> str:
    """The composed config as saved beside the data (run-control keys left out), with the renderer `auto` chose
    (so that a dataset is never resumed, nor its shards merged, across renderers)."""
    data = OmegaConf.to_container(cfg, resolve=True)
    for key in RUN_CONTROL_KEYS:
        data.pop(key, None)
    if renderer:
        data["renderer"] = renderer
        if isinstance(data.get("world"), dict):
            data["world"]["renderer"] = renderer
    return OmegaConf.to_yaml(OmegaConf.create(data))
