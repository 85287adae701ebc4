"""The `simgen` command's run: compose the Hydra config, instantiate the pipeline, generate, report (its entry
point is simgen/__main__.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from simgen import config, outcome, output_dir, stops
from simgen.added_entries import check_added_entries
from simgen.generate import generate
from simgen.pipeline import Pipeline

log = logging.getLogger("simgen")
config.register_schema()


def run(cfg: DictConfig) -> None:
    if stops.stopped_by():  # a stop that the code it cut through while composing swallowed
        raise KeyboardInterrupt
    outcome.RUN.update(root=None, done=False)
    root = Path(HydraConfig.get().runtime.output_dir).resolve()
    check_added_entries(cfg, HydraConfig.get().overrides.task)
    pipeline = config.build_pipeline(cfg)
    try:
        _generate(cfg, pipeline, root)
    finally:
        pipeline.world.close()
        output_dir.release(root)


def _generate(cfg: DictConfig, pipeline: Pipeline, root: Path) -> None:
    workers, shard, views = config.run_settings(cfg)
    renderer = pipeline.world.renderer_kind  # resolves `auto` and fails early if EGL was asked for and is missing
    try:
        state = output_dir.prepare(root, config.dataset_config_yaml(cfg, renderer), cfg.overwrite, cfg.resume)
    except OSError as err:
        raise outcome.cannot_write(err, root) from None
    outcome.RUN.update(root=root)  # from here on a Ctrl-C or SIGTERM is reported as this run's
    log.info("renderer: %s%s", renderer, " (light colour and ambient/diffuse/specular applied as an RGB gain; "
             "shadows always on)" if renderer == "egl" else "")
    if state == output_dir.UNFINISHED:
        log.info("resuming the unfinished dataset in %s", root)
    elif state == output_dir.FINISHED:
        log.info("the dataset in %s is finished: only what is missing of it is made again (frames, exports)", root)
    try:
        summary = generate(pipeline, cfg.seed, cfg.num_frames, root, progress=cfg.progress, workers=workers,
                           shard=shard, views_per_scene=views,
                           factory=config.worker_factory(cfg, renderer))
    except BaseException as err:
        output_dir.discard_if_empty(root)  # a run stopped before its first frame leaves nothing but its log
        if isinstance(err, OSError):
            raise outcome.cannot_write(err, root) from None
        raise
    print(f"simgen: dataset in {root}")
    print(f"simgen: {summary.line()}")
    for warning in summary.warnings():
        log.warning(warning)
    outcome.RUN.update(done=True, finished_jobs=outcome.RUN["finished_jobs"] + 1)


@hydra.main(version_base=None, config_path="pkg://simgen.conf", config_name="config")
def app(cfg: DictConfig) -> None:
    try:
        run(cfg)
    except Exception as err:
        outcome.job_error(err)


def main() -> None:
    outcome.reported(app)
