"""simgen-merge: join the shards of a run (shard.index=0..count-1) into one dataset with consistent ids."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import OmegaConf
from tqdm import tqdm

from simgen.errors import SimgenError
from simgen.output_dir import CONFIG_FILE, FINISHED_MARKER, LOG_FILE
from simgen.tools.cli import run_command
from simgen.writers.files import write_bytes_atomic

log = logging.getLogger("simgen.merge")


def _unsharded_config(root: Path) -> dict:
    path = root / CONFIG_FILE
    if not (root / FINISHED_MARKER).is_file() or not path.is_file():
        raise SimgenError(f"{root}: not a finished simgen dataset (no {FINISHED_MARKER} or {CONFIG_FILE})")
    config = OmegaConf.to_container(OmegaConf.load(path))
    config.pop("shard", None)
    return config


def check_shards(shards: list[Path]) -> dict:
    """The shards' common config; they must share it and cover every shard index exactly once."""
    configs = [_unsharded_config(root) for root in shards]
    for root, config in zip(shards[1:], configs[1:]):
        if config != configs[0]:
            raise SimgenError(f"{root}: made with another config than {shards[0]}; only shards of one run merge")
    found = sorted(OmegaConf.load(root / CONFIG_FILE).shard.index for root in shards)
    count = OmegaConf.load(shards[0] / CONFIG_FILE).shard.count
    if found != list(range(count)):
        raise SimgenError(f"expected shards 0..{count - 1} once each, got indices {found}")
    return configs[0]


def _link_or_copy(src: Path, dst: Path) -> None:
    if dst.exists():
        raise SimgenError(f"{dst}: two shards hold the same file; shards must not overlap")
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def merge(shards: list[Path], out: Path) -> int:
    """Hard-link (or copy) every shard's per-frame files into `out`, then assemble annotations.json."""
    config = check_shards(shards)
    if out.exists() and any(p.name != LOG_FILE for p in out.iterdir()):
        raise SimgenError(f"{out}: already exists and is not empty; choose another --out")
    files = [(root, path.relative_to(root)) for root in shards for path in sorted(root.rglob("*"))
             if path.is_file() and path.parent != root]
    for root, rel in tqdm(files, unit="file", desc="merging"):
        (out / rel.parent).mkdir(parents=True, exist_ok=True)
        _link_or_copy(root / rel, out / rel)
    whole = OmegaConf.load(shards[0] / CONFIG_FILE)
    whole.shard = {"index": 0, "count": 1}  # in place, so the file reads like an unsharded run's
    write_bytes_atomic(out / CONFIG_FILE, OmegaConf.to_yaml(whole).encode())
    coco = instantiate(config["writers"]["coco"])
    coco.open(out, json.loads((shards[0] / FINISHED_MARKER).read_text())["categories"])
    coco.close()
    log.info("merged %d shards (%d files) into %s", len(shards), len(files), out)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="simgen-merge", description=__doc__)
    parser.add_argument("shards", nargs="+", type=Path, help="the finished shard datasets of one run")
    parser.add_argument("--out", "-o", type=Path, required=True, help="directory for the merged dataset")
    args = parser.parse_args()
    run_command("simgen-merge", lambda: merge(args.shards, args.out))


if __name__ == "__main__":
    main()
