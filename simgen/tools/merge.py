"""simgen-merge: join the shards of a run (shard.index=0..count-1) into one dataset with consistent ids."""

from __future__ import annotations

import argparse
import heapq
import logging
import os
import re
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml
from hydra.utils import get_object
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException
from tqdm import tqdm

from simgen.annotations_file import read_head, short
from simgen.config import build
from simgen.export import dataset
from simgen.errors import SimgenError
from simgen.generate import Shard
from simgen.quiet import logger_silenced
from simgen.tools.cli import Parser, run_command
from simgen.writers.coco_records import image_of
from simgen.writers.files import CONFIG_FILE, FINISHED_MARKER, frame_stem, link, replacing, write_bytes_atomic

NAME = "simgen-merge"
log = logging.getLogger("simgen.merge")

# The folders of one file per frame that simgen/writers/ write (images.py: rgb, depth, instance, semantic; meta.py;
# coco.py) and their files' suffix (rgb's is the one annotations.json names). A user's writer's folders of files
# named by frame (boxes/000012.txt) are merged too. Nothing else is: a shard's exports (yolo/, bop/,
# annotations_*.json) hold its own frames only and are made anew for the merged dataset, and tool outputs (report/,
# viz/) are no data.
FRAME_FOLDERS = {"rgb": "", "depth": ".png", "instance": ".png", "semantic": ".png", "meta": ".json", "coco": ".json"}
FRAME_FILE = re.compile(r"(\d{6,})\.[^.].*")  # frame_stem(i).suffix


@dataclass
class Part:
    """One shard: its folder, config (the whole run's, but for shard.index), categories, and once checked, simgen's
    folders of one file per frame it holds, its RGB images' suffix and a user's writer's files of its frames."""

    root: Path
    config: dict
    shard: Shard
    categories: list[dict]
    folders: tuple[str, ...] = ()
    rgb_suffix: str = ""
    further: tuple[str, ...] = ()

    def frames(self) -> list[int]:
        return self.shard.frames(self.config["num_frames"], self.config["views_per_scene"])

    def files(self) -> Iterator[str]:
        """The paths of its frames' files, relative to it, frame by frame (never all held at once: a million frames'
        Paths take gigabytes), then the user's."""
        for index in self.frames():
            stem = frame_stem(index)
            for folder in self.folders:
                yield f"{folder}/{stem}{self.rgb_suffix if folder == 'rgb' else FRAME_FOLDERS[folder]}"
        yield from self.further

    def count(self) -> int:
        return len(self.frames()) * len(self.folders) + len(self.further)


def _reason(err: Exception) -> str:
    """An error's message on one line (YAML's spans several)."""
    mark = getattr(err, "problem_mark", None)
    text = getattr(err, "problem", None) or (str(err).splitlines() or [type(err).__name__])[0]
    return f"{text} (line {mark.line + 1})" if mark else text


def _read(path: Path, parse: Callable[[str], Any], kind: str) -> Any:
    """A shard's file, parsed; a corrupt one is a one-line error naming it."""
    try:
        return parse(path.read_text())
    except (ValueError, yaml.YAMLError, OmegaConfBaseException) as err:
        raise SimgenError(f"{path}: not valid {kind}: {_reason(err)}") from None


def _load_part(root: Path) -> Part:
    """A finished shard's config and its shard.index/count, checked."""
    path = root / CONFIG_FILE
    if not (root / FINISHED_MARKER).is_file() or not path.is_file():
        raise SimgenError(f"{root}: not a finished simgen dataset (no {FINISHED_MARKER} or {CONFIG_FILE})")
    config = _read(path, lambda text: OmegaConf.to_container(OmegaConf.create(text)), "YAML")
    shard = config.get("shard") if isinstance(config, dict) else None
    index, count = (shard.get("index"), shard.get("count")) if isinstance(shard, dict) else (None, None)
    if not (type(index) is type(count) is int and 0 <= index < count):
        raise SimgenError(f"{path}: expected shard.index and shard.count with 0 <= index < count, got shard: {shard}")
    for key, low in (("num_frames", 0), ("views_per_scene", 1)):
        if type(config.get(key)) is not int or config[key] < low:
            raise SimgenError(f"{path}: expected an integer {key} >= {low}, got {config.get(key)!r}")
    return Part(root, config, Shard(index, count), _categories(root / FINISHED_MARKER))


def _without_index(config: dict) -> dict:
    return {**config, "shard": {**config["shard"], "index": None}}


def _rgb_suffix(path: Path, index: int) -> str:
    """The suffix of frame `index`'s RGB image, from its COCO record at `path`, checked to be that frame's."""
    image = image_of(path)  # an OSError is one line naming the file (run_command)
    if image.get("frame_index") != index:
        raise SimgenError(f"{path}: not the COCO record of frame {index} (its image is frame "
                          f"{short(image.get('frame_index'))}'s)")
    rgb, stem = Path(str(image.get("file_name"))), frame_stem(index)
    if rgb.parent != Path("rgb") or rgb.stem != stem:
        raise SimgenError(f"{path}: frame {index} names {rgb}, expected rgb/{stem}.*")
    return rgb.suffix


def checked_files(part: Part, folders: list[str], further: tuple[str, ...]) -> Part:
    """The shard with its `folders`, RGB suffix and `further` files, once every file of its frames is checked to be
    there and every COCO record sound and naming one RGB suffix."""
    part = replace(part, folders=tuple(folders), further=further)
    for index in part.frames():
        record = part.root / "coco" / f"{frame_stem(index)}.json"
        if not record.is_file():
            raise SimgenError(f"{record}: missing (a file of frame {index}); the shard is incomplete")
        suffix = _rgb_suffix(record, index)
        if part.rgb_suffix and suffix != part.rgb_suffix:
            raise SimgenError(f"{record}: frame {index} names an RGB image of another format ({suffix}) than "
                              f"the frames before ({part.rgb_suffix})")
        part.rgb_suffix = suffix
    for rel in part.files():
        problem = _file_problem(os.path.join(part.root, rel), rel.partition("/")[0] in FRAME_FOLDERS)
        if problem:
            index = int(FRAME_FILE.fullmatch(os.path.basename(rel))[1])
            raise SimgenError(f"{part.root / rel}: {problem} (a file of frame {index})")
    return part


def _file_problem(path: str, own: bool) -> str | None:
    """What is wrong with a shard's file: missing, or one of simgen's own (an image, a record) empty (a user's
    writer may write empty files: a YOLO label of an image without objects)."""
    try:
        info = os.stat(path)
    except OSError:
        info = None
    if info is None or not stat.S_ISREG(info.st_mode):
        return "missing; the shard is incomplete"
    if own and not info.st_size:
        return "empty (0 bytes): delete it and run the shard's command again, which makes it anew"
    return None


def _writer(part: Part, name: str, node: dict) -> Any:
    """The run's writer `name`, built from the shard's config; a bad entry is an error naming the config file."""
    try:
        return build(f"writers.{name}", node)
    except SimgenError as err:
        raise SimgenError(f"{part.root / CONFIG_FILE}: {err}") from None


def coco_writer(part: Part) -> Any:
    """The run's COCO writer, which assembles annotations.json from the frames' records."""
    writers = part.config.get("writers")
    node = writers.get("coco") if isinstance(writers, dict) else None
    if not isinstance(node, dict):
        raise SimgenError(f"{part.root / CONFIG_FILE}: writers.coco: missing; simgen datasets have one")
    return _writer(part, "coco", node)


def export_writers(part: Part) -> dict[str, Any]:
    """The run's export writers (YOLO, BOP, COCO splits, a user's own): those that read the finished dataset. Only
    they are built; a writer whose class cannot be imported here is left out, with a warning."""
    exports = {}
    for name, node in (part.config.get("writers") or {}).items():
        if not isinstance(node, dict) or "_target_" not in node:
            continue
        try:
            with logger_silenced("hydra.utils"):
                kind = get_object(node["_target_"])
        except Exception as err:  # Hydra wraps the ImportError of a module that is not installed here
            log.warning("writers.%s: %s cannot be imported here (%s); if it makes an export, the merged dataset "
                        "lacks it: run simgen-merge where your module imports (PYTHONPATH=. simgen-merge ...)",
                        name, node["_target_"], str(err).splitlines()[0])
            continue
        if getattr(kind, "reads_dataset", False):
            exports[name] = _writer(part, name, node)
    return exports


def check_shards(shards: list[Path]) -> list[Part]:
    """The shards, fully checked: one run's, shard indices 0..count-1 once each, every frame's files there."""
    parts = [_load_part(root) for root in shards]
    first = parts[0]
    for part in parts[1:]:
        if part.shard.count != first.shard.count:
            raise SimgenError(f"{part.root / CONFIG_FILE}: shard.count is {part.shard.count}, but {first.shard.count} "
                              f"in {first.root}; only shards of one run merge")
        if _without_index(part.config) != _without_index(first.config):
            raise SimgenError(f"{part.root}: made with another config than {first.root}; only shards of one run merge")
    found = sorted(part.shard.index for part in parts)
    count = first.shard.count
    if found != list(range(count)):
        raise SimgenError(f"expected shards 0..{count - 1} once each, got indices {found}")
    folders = [f for f in FRAME_FOLDERS if f in ("rgb", "coco") or any((p.root / f).is_dir() for p in parts)]
    further = further_frame_folders(parts)
    return [checked_files(part, folders, further.get(part.root, ())) for part in parts]


def further_frame_folders(parts: list[Part]) -> dict[Path, tuple[str, ...]]:
    """The files of a user's writer that writes one file per frame in a folder of its own, named by the frame as
    simgen's are (boxes/000012.txt), by shard: the folders that hold nothing but such files of their shard's frames
    in every shard. A folder that does in one shard and holds another file in another is an error naming it."""
    names = sorted({f.name for p in parts for f in p.root.iterdir()
                    if f.is_dir() and f.name not in FRAME_FOLDERS and not f.name.startswith(".")})
    stems = {part.root: {frame_stem(i) for i in part.frames()} for part in parts}
    files: dict[Path, tuple[str, ...]] = {}
    for name in names:
        found = {part.root: _frame_files(part.root / name, stems[part.root]) for part in parts}
        strays = {root: stray for root, (_, stray) in found.items() if stray}
        if len(strays) == len(parts) or not any(frames for frames, _ in found.values()):
            log.info("%s/ is left out: it is not a folder of one file per frame", name)
            continue
        if strays:
            root, stray = next(iter(strays.items()))
            raise SimgenError(f"{root / name / stray}: not a file of one of this shard's frames, while {name}/ holds "
                              "only such files in the other shards; remove it to merge the folder, or move the folder "
                              "out of every shard to leave it out")
        for root, (frames, _) in found.items():
            files[root] = files.get(root, ()) + frames
    return files


def _frame_files(folder: Path, stems: set[str]) -> tuple[tuple[str, ...], str | None]:
    """The files of a shard's `folder` named by its frames' `stems` (frame_stem(i).suffix), relative to the shard,
    and the name of one other entry there, if any (hidden temporary files aside)."""
    entries = sorted(e for e in folder.iterdir() if not e.name.startswith(".")) if folder.is_dir() else []
    named = [e.name for e in entries if e.is_file() and (m := FRAME_FILE.fullmatch(e.name)) and m[1] in stems]
    kept = set(named)
    stray = next((e.name for e in entries if e.name not in kept), None)
    return tuple(f"{folder.name}/{name}" for name in named), stray


def check_out(out: Path, shards: list[Path]) -> None:
    """--out must be new (or an empty folder), outside every shard, and hold none."""
    target = out.resolve()
    for root in map(Path.resolve, shards):
        if target == root or root in target.parents:
            raise SimgenError(f"--out: {out} is inside the shard {root}; choose a folder outside the shards")
        if target in root.parents:
            raise SimgenError(f"--out: {out} holds the shard {root}; choose a folder outside the shards")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SimgenError(f"--out: {out} already exists and is not an empty folder; choose another --out")


def write_dataset(parts: list[Part], coco: Any, root: Path) -> None:
    """Hard-link (or copy) every shard's frame files into `root`, then write config.yaml and annotations.json."""
    with tqdm(total=sum(part.count() for part in parts), unit="file", desc="merging") as bar:
        for part in parts:
            for rel in part.files():
                link(os.path.join(part.root, rel), os.path.join(root, rel))
                bar.update()
    whole = {**parts[0].config, "shard": {"index": 0, "count": 1}}  # in its place: reads as an unsharded run's
    write_bytes_atomic(root / CONFIG_FILE, OmegaConf.to_yaml(OmegaConf.create(whole)).encode())
    coco.open(root, parts[0].categories)
    coco.close(frame_records(parts))


def frame_records(parts: list[Part]) -> Iterator[Path]:
    """The shards' COCO records in the merged dataset's frame order, read where they are (an error names the shard's
    file)."""
    for index, part in heapq.merge(*map(_numbered, parts), key=lambda item: item[0]):
        yield part.root / "coco" / f"{frame_stem(index)}.json"


def _numbered(part: Part) -> Iterator[tuple[int, Part]]:
    return ((index, part) for index in part.frames())


def _categories(path: Path) -> list[dict]:
    """The run's categories, as a shard's annotations.json lists them."""
    categories = read_head(path).get("categories")  # a DatasetError is a SimgenError
    if not isinstance(categories, list):
        raise SimgenError(f"{path}: not a simgen COCO file (expected its categories)")
    return categories


def merge(shards: list[Path], out: Path) -> int:
    """Check every shard and --out, build the merged dataset and its exports in a hidden folder, and rename it to
    --out: a merge that fails or is stopped leaves --out as it was."""
    check_out(out, shards)
    parts = check_shards(shards)
    coco, exports = coco_writer(parts[0]), export_writers(parts[0])
    target = top = Path(os.path.abspath(out))
    while not top.parent.exists():  # the folder the rename makes: --out, or its first missing parent
        top = top.parent
    with replacing(top) as staging:  # check_out made sure --out is new or empty
        built = staging / target.relative_to(top)
        write_dataset(parts, coco, built)
        make_exports(exports, built, target)
    log.info("merged %d shards (%d files) into %s", len(parts), sum(p.count() for p in parts), out)
    return 0


def make_exports(exports: dict[str, Any], root: Path, home: Path) -> None:
    """The run's exports of the merged dataset built in `root`, which will lie at `home` (YOLO's data.yaml names
    it)."""
    for name, writer in exports.items():
        log.info("making the %s export of the merged dataset", name)
        data = getattr(writer, "read_dataset", dataset.load)(root)  # an Export's own reading, else the whole file
        data.home = home
        writer.export(data)


def parser() -> argparse.ArgumentParser:
    p = Parser(prog=NAME, description=__doc__.split(": ", 1)[1])
    p.add_argument("shards", nargs="+", type=Path, help="the finished shard datasets of one run")
    p.add_argument("--out", "-o", type=Path, required=True,
                   help="directory for the merged dataset (new, or an empty folder)")
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    run_command(NAME, lambda: merge(args.shards, args.out))


if __name__ == "__main__":
    main()
