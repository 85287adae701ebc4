"""The command line's `+KEY` overrides that Hydra takes without complaint but simgen cannot: a `+KEY={...}` merged
into an entry already there instead of adding one, and a key added at the top level, which no part reads."""

from __future__ import annotations

from typing import Any, Iterator, Sequence

from hydra.core.global_hydra import GlobalHydra
from hydra.core.object_type import ObjectType
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from simgen.config import check_top_level
from simgen.errors import ConfigError, exit_with


def check_added_entries(cfg: DictConfig, overrides: Sequence[str]) -> None:
    """A `+KEY={...}` adds KEY where the config has none; Hydra refuses a `+` on a plain value that is there, but
    merges one on a mapping into it, so a category added under a built-in's name kept the built-in's mesh, scale
    and mass (and a fixture added under a scene's, its asset's path): a ConfigError naming the key and the fields
    it kept."""
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        key, value = override.key_or_group, override.value()
        if not override.is_add() or not isinstance(value, dict) or key.startswith("hydra."):
            continue
        kept = sorted(_kept(OmegaConf.select(cfg, key), value))
        if kept:
            raise ConfigError(key, f"there is one already, and + merges into it (keeping its {', '.join(kept)}): "
                                   f"to change its fields, leave out the + ({key}.FIELD=...); to add one of yours, "
                                   f"give it another name or remove that one first (~{key} +{key}=...)")


def _kept(node: Any, given: dict, prefix: str = "") -> Iterator[str]:
    """The fields (dotted, from `prefix`) of the merged `node` that the `given` mapping has not: those it kept."""
    if not isinstance(node, DictConfig):
        return
    for name in node:
        if name not in given:
            yield f"{prefix}{name}"
        elif isinstance(given[name], dict):
            yield from _kept(node[name], given[name], f"{prefix}{name}.")


def added_top_level_keys(overrides: Sequence[str], groups: Sequence[str]) -> Iterator[str]:
    """The keys `+KEY=...` (or `++KEY=...`) adds at the top level that are not config groups (`+experiment=...`
    selects one)."""
    for override in OverridesParser.create().parse_overrides(list(overrides)):
        key = override.key_or_group
        if (override.is_add() or override.is_force_add()) and "." not in key and "/" not in key and key not in groups:
            yield key


class TopLevelKeysCheck(Callback):
    """Before a sweep's first job: a key its overrides add at the top level (`+sed=0,1`) is refused once, with one
    line and exit status 2, rather than by each job."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            overrides = OmegaConf.to_container(config.hydra.overrides, resolve=False)  # as given: `${...}` unresolved
            given = [*overrides["hydra"], *overrides["task"]]  # hydra.searchpath may add groups
            groups = GlobalHydra.instance().config_loader().get_group_options(
                "", ObjectType.GROUP, config_name=config.hydra.job.config_name, overrides=given)
            added = list(added_top_level_keys(overrides["task"], groups))
        except Exception:  # overrides Hydra itself refuses, with its own message; each job checks its config too
            return
        try:
            check_top_level(added)
        except ConfigError as err:
            exit_with(str(err))
