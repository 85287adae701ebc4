"""The `simgen` command: compose the Hydra config, instantiate the pipeline, generate, report."""

from __future__ import annotations

import functools
import logging
import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from simgen import config, hydra_errors, output_dir
from simgen.errors import OutputError, SimgenError
from simgen.generate import generate

log = logging.getLogger("simgen")
config.register_schema()


def run(cfg: DictConfig) -> None:
    root = Path(HydraConfig.get().runtime.output_dir).resolve()
    pipeline = config.build_pipeline(cfg)
    if cfg.num_frames < 1:
        raise config.ConfigError("num_frames", f"expected a positive integer, got {cfg.num_frames}")
    workers, shard, views = config.run_settings(cfg)
    renderer = pipeline.world.renderer_kind  # resolves `auto` and fails early if EGL was asked for and is missing
    container = OmegaConf.to_container(cfg, resolve=True)
    container["world"]["renderer"] = renderer  # workers skip the EGL probe
    factory = functools.partial(config.pipeline_from_container, container)
    try:
        resuming = output_dir.prepare(root, config.dataset_config_yaml(cfg), cfg.overwrite, cfg.resume)
    except OSError as err:
        raise _cannot_write(err, root) from None
    log.info("renderer: %s%s", renderer, " (light colour and ambient/diffuse/specular applied as an RGB gain; "
             "shadows always on)" if renderer == "egl" else "")
    if resuming:
        log.info("resuming the unfinished dataset in %s", root)
    try:
        try:
            summary = generate(pipeline, cfg.seed, cfg.num_frames, root, progress=cfg.progress, workers=workers,
                               shard=shard, views_per_scene=views, factory=factory)
        except BaseException:
            output_dir.discard_if_empty(root)  # a run stopped before its first frame leaves nothing but its log
            raise
    except OSError as err:
        raise _cannot_write(err, root) from None
    except KeyboardInterrupt:
        print(f"\nsimgen: {_interrupted(root)}", file=sys.stderr)
        sys.exit(130)
    finally:
        pipeline.world.close()
    print(f"simgen: dataset in {root}")
    print(f"simgen: {summary.line()}")


def _interrupted(root: Path) -> str:
    if output_dir.finished(root):  # stopped while making the exports, after annotations.json
        return (f"interrupted while making the exports; the dataset in {root} is finished: make them with "
                "simgen-export DATASET --format yolo|bop|splits")
    return ("interrupted; frames written so far are kept. Run the same command again to resume "
            f"(output_dir={root}).")


def _cannot_write(err: OSError, root: Path) -> OutputError:
    return OutputError(f"output_dir: cannot write {err.filename or root} ({err.strerror or err}); the frames "
                       "written so far are kept: fix it and run the same command again to resume")


@hydra.main(version_base=None, config_path="pkg://simgen.conf", config_name="config")
def app(cfg: DictConfig) -> None:
    try:
        run(cfg)
    except SimgenError as err:
        print(f"simgen: error: {err}", file=sys.stderr)
        sys.exit(2)


def main() -> None:
    """Run the command; a config the command line cannot make is one line and exit status 2, as every other
    bad input (HYDRA_FULL_ERROR=1 keeps Hydra's own report with its traceback)."""
    full_errors = os.environ.get("HYDRA_FULL_ERROR") == "1"
    os.environ["HYDRA_FULL_ERROR"] = "1"  # Hydra raises what it would otherwise print over several lines
    try:
        app()
    except (HydraException, OmegaConfBaseException) as err:
        if full_errors:
            raise
        print(f"simgen: error: {hydra_errors.one_line(err)}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:  # before the run began (composing, probing EGL): nothing was written
        print("\nsimgen: interrupted", file=sys.stderr)
        sys.exit(130)
    finally:
        if not full_errors:
            del os.environ["HYDRA_FULL_ERROR"]


if __name__ == "__main__":
    main()
