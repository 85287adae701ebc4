"""The command line's `+KEY={...}` overrides that Hydra merges into an entry already there instead of adding one."""

from __future__ import annotations

from typing import Any, Iterator, Sequence

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from simgen.errors import ConfigError


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
