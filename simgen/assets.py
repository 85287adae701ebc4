"""The asset catalog: category name -> stable id and the files or primitive shapes behind it."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from simgen import validate
from simgen.errors import ConfigError
from simgen.sampling import Constant, Sampler, as_sampler, extent, vector_sampler
from simgen.scene import PRIMITIVE_SIZES, Asset, primitive_size

FILE_KINDS = {".urdf": "urdf", ".obj": "mesh", ".stl": "mesh"}
DEFAULT_MASS = 0.1  # kg, of a mesh or primitive category that gives none
MAX_CATEGORY_ID = 65535  # the semantic masks hold category ids in 16-bit PNGs
CATEGORY_KEYS = ("id", "files", "exclude", "primitive", "size", "scale", "mass")
CATEGORY_SHAPE = "{id: ID, files: PATH_OR_GLOB} or {id: ID, primitive: KIND, size: ...}"


def resolve_path(path: str) -> str:
    """An asset path as a file system path.

    `pybullet_data/...` is PyBullet's bundled data, `scenes/...` simgen's scene assets, and any other
    relative path is taken from the directory simgen was started in.
    """
    head, _, rest = path.partition("/")
    if head == "pybullet_data":
        import pybullet_data  # data only; pybullet itself stays in simgen.world

        return os.path.join(pybullet_data.getDataPath(), rest)
    if head == "scenes":
        return str(resources.files("simgen.scenes").joinpath(rest))
    return os.path.abspath(os.path.expanduser(path))


def _files(key: str, pattern: Any, exclude: Any) -> list[str]:
    """The files of category `key`'s `files` pattern, less those its `exclude` list names (each one of them)."""
    if not isinstance(pattern, str) or not pattern:
        raise ConfigError(f"{key}.files", f"expected the path or glob of URDF, OBJ or STL files (one string), got "
                                          f"{pattern!r}")
    if isinstance(exclude, str) or not isinstance(exclude, Sequence) or not all(isinstance(e, str) for e in exclude):
        raise ConfigError(f"{key}.exclude", f"expected a list of paths, got {exclude!r}")
    resolved = resolve_path(pattern)
    found = sorted(glob.glob(resolved, recursive=True)) if glob.has_magic(resolved) else [resolved]
    found = [f for f in found if os.path.isfile(f)]
    if not found:
        raise ConfigError(f"{key}.files", f"no asset file found at {pattern!r} (looked for {resolved})")
    skip = {os.path.normpath(resolve_path(e)): e for e in exclude}
    unmatched = sorted(set(skip) - set(map(os.path.normpath, found)))
    if unmatched:
        raise ConfigError(f"{key}.exclude", f"{skip[unmatched[0]]!r} is none of the files {pattern!r} matches "
                                            f"(looked for {unmatched[0]}; a path, not a glob)")
    found = [f for f in found if os.path.normpath(f) not in skip]
    if not found:
        raise ConfigError(f"{key}.exclude", f"excludes every file {pattern!r} matches")
    bad = [f for f in found if Path(f).suffix.lower() not in FILE_KINDS]
    if bad:
        raise ConfigError(f"{key}.files", f"{bad[0]} is not a URDF, OBJ or STL file")
    return found


@dataclass
class Category:
    """One object category: a stable id and either asset files (one picked per object) or a primitive."""

    name: str
    id: int
    files: tuple = ()
    primitive: Optional[str] = None
    size: Sampler = Constant(())
    scale: float = 1.0
    mass: Optional[float] = None  # kg; None: a URDF's own, else DEFAULT_MASS

    def sample(self, rng: np.random.Generator) -> Asset:
        mass = DEFAULT_MASS if self.mass is None else self.mass
        if self.primitive:
            size = _drawn_size(f"catalog.categories.{self.name}.size", self.primitive, self.size, rng)
            return Asset(kind=self.primitive, size=size, mass=mass)
        path = self.files[int(rng.integers(len(self.files)))]
        kind = FILE_KINDS[Path(path).suffix.lower()]
        return Asset(kind=kind, path=path, mass=self.mass if kind == "urdf" else mass)


def _category_id(key: str, value: Any) -> int:
    """A category's id: an integer in [1, MAX_CATEGORY_ID]."""
    cat_id = validate.integer(key, value, low=1)
    if cat_id > MAX_CATEGORY_ID:
        raise ConfigError(key, f"expected an id in [1, {MAX_CATEGORY_ID}] (the semantic masks are 16-bit PNGs of "
                               f"category ids), got {cat_id}")
    return cat_id


def _drawn_size(key: str, kind: str, sampler: Sampler, rng: np.random.Generator) -> tuple:
    """A draw of a primitive's sizes, checked: as many as its kind takes, each > 0."""
    drawn = sampler.sample(rng)
    try:
        sizes = np.atleast_1d(np.asarray(drawn, dtype=float)).tolist()
    except (TypeError, ValueError):
        names = ", ".join(PRIMITIVE_SIZES[kind])
        raise ConfigError(key, f"expected sizes in metres [{names}], got {drawn!r}") from None
    return primitive_size(key, kind, sizes)


def _size_sampler(key: str, kind: str, value: Any) -> Sampler:
    """A primitive category's sizes, as a sampler whose draws have the kind's number of sizes and, where their range
    is known, are all > 0."""
    count = len(PRIMITIVE_SIZES[kind])
    size = as_sampler(key, value) if count == 1 else vector_sampler(key, value, count)
    _drawn_size(key, kind, size, np.random.default_rng(0))
    known = extent(size)
    least = None if known is None else known[0]
    if least is not None and np.any(np.isfinite(least) & (least <= 0)):
        raise ConfigError(key, f"expected sizes > 0 in metres [{', '.join(PRIMITIVE_SIZES[kind])}], but this range "
                               f"reaches {np.atleast_1d(least).tolist()}")
    return size


def _id_scale_mass(key: str, cfg: Mapping) -> tuple[int, float, Optional[float]]:
    """A category's id, scale (1 where not given) and mass (None where not given), checked."""
    cat_id = _category_id(f"{key}.id", cfg.get("id"))
    scale = validate.number(f"{key}.scale", cfg.get("scale", 1.0), low=0, low_open=True)
    mass = validate.number(f"{key}.mass", cfg["mass"], low=0, low_open=True) if "mass" in cfg else None
    return cat_id, scale, mass


def _category(key: str, name: str, value: Any) -> Category:
    cfg = validate.mapping(key, value, CATEGORY_SHAPE)
    validate.known_keys(key, cfg, CATEGORY_KEYS)
    cat_id, scale, mass = _id_scale_mass(key, cfg)
    if ("files" in cfg) == ("primitive" in cfg):
        raise ConfigError(key, "expected exactly one of 'files' (URDF/OBJ/STL path or glob) or 'primitive'")
    if "files" in cfg:
        if "size" in cfg:
            raise ConfigError(f"{key}.size", "a category of files takes no size: its files give it (see scale)")
        return Category(name, cat_id, tuple(_files(key, cfg["files"], cfg.get("exclude", ()))), scale=scale, mass=mass)
    if "exclude" in cfg:
        raise ConfigError(f"{key}.exclude", "a primitive category has no files to exclude")
    kind = validate.choice(f"{key}.primitive", cfg["primitive"], PRIMITIVE_SIZES)
    size = _size_sampler(f"{key}.size", kind, cfg.get("size"))
    return Category(name, cat_id, primitive=kind, size=size, scale=scale, mass=mass)


def _folder_category(key: str, name: Any, value: Any, path: str) -> Category:
    """Category `name` of a catalog folder: the URDFs in path/name, or where there is none its OBJ and STL files
    (meshes beside a URDF are its parts; any other file, such as an OBJ's .mtl or a texture, is left out).
    `value` is its id, or {id: ID, scale: S, mass: KG}."""
    if not isinstance(name, str):
        raise ConfigError(key, f"expected a folder's name, got {name!r} ({type(name).__name__}): quote it")
    if isinstance(value, Mapping):
        validate.known_keys(key, value, ("id", "scale", "mass"))
        cat_id, scale, mass = _id_scale_mass(key, value)
    else:
        cat_id, scale, mass = _category_id(key, value), 1.0, None
    where = os.path.join(path, name)
    folder = resolve_path(where)
    if not os.path.isdir(folder):
        raise ConfigError(key, f"no folder {where}" + (f" (looked for {folder})" if folder != where else ""))
    found = sorted(f for f in glob.glob(os.path.join(glob.escape(folder), "*"))
                   if Path(f).suffix.lower() in FILE_KINDS and os.path.isfile(f))
    urdfs = [f for f in found if Path(f).suffix.lower() == ".urdf"]
    found = urdfs or found
    if not found:
        raise ConfigError(key, f"no URDF, OBJ or STL file in {where}")
    return Category(name, cat_id, tuple(found), scale=scale, mass=mass)


def _folders(folders: Any) -> Sequence[Mapping]:
    """The checked `folders` entries, [{path: DIR, categories: {NAME: ID, ...}}, ...]; null means none."""
    shape = "{path: DIR, categories: {NAME: ID}}"
    if folders is None:
        return ()
    if isinstance(folders, (str, Mapping)) or not isinstance(folders, Sequence):
        raise ConfigError("folders", f"expected a list of {shape}, got {folders!r}")
    for n, folder in enumerate(folders):
        keys_ok = isinstance(folder, Mapping) and set(folder) == {"path", "categories"}
        if not (keys_ok and isinstance(folder["path"], str) and isinstance(folder["categories"], Mapping)
                and folder["categories"]):
            raise ConfigError(f"folders[{n}]", f"expected {shape}, got {folder!r}")
    return folders


class Catalog:
    """All categories a run may place, from built-in entries and user folders.

    folders: [{path: DIR, categories: {NAME: ID or {id: ID, scale: S, mass: KG}, ...}}] takes
    DIR/NAME/*.urdf|obj|stl as category NAME.
    """

    def __init__(self, categories: Optional[dict[str, Any]] = None, folders: Sequence[dict] = ()):
        given = validate.mapping("categories", categories or {}, f"{{NAME: {CATEGORY_SHAPE}}}")
        entries = {name: cfg for name, cfg in given.items() if cfg is not None}
        defined = {name: f"catalog.categories.{name}" for name in entries}
        for n, folder in enumerate(_folders(folders)):
            for name, cat_id in folder["categories"].items():
                key = f"folders[{n}].categories.{name}"
                if name in defined:
                    raise ConfigError(key, f"category {name!r} is defined already, by {defined[name]}; give it "
                                           f"another name" + (f", or drop that one with {defined[name]}=null"
                                                              if name in given else ""))
                entries[name] = _folder_category(key, name, cat_id, folder["path"])
                defined[name] = f"catalog.{key}"
        self.categories = {name: cfg if isinstance(cfg, Category) else _category(f"categories.{name}", name, cfg)
                           for name, cfg in entries.items()}
        by_id: dict[int, str] = {}
        for name, category in self.categories.items():
            if category.id in by_id:
                raise ConfigError("categories", f"category id {category.id} is used twice, by {by_id[category.id]} "
                                                f"and {name}; ids must be unique")
            by_id[category.id] = name

    def __getitem__(self, name: str) -> Category:
        if name not in self.categories:
            raise ConfigError("categories", f"unknown category {name!r} (known: {', '.join(self.categories)})")
        return self.categories[name]

    def coco_categories(self) -> list[dict]:
        """Categories in COCO form, sorted by id."""
        cats = sorted(self.categories.values(), key=lambda c: c.id)
        return [{"id": c.id, "name": c.name, "supercategory": c.primitive and "primitive" or "object"} for c in cats]
