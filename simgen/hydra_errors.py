"""What Hydra reports when the command line cannot make a config (a misspelt key, a wrong type, an unknown
option, an override it cannot parse), as one line naming the key."""

from __future__ import annotations

import difflib
import inspect
import re
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import yaml
from hydra.errors import (ConfigCompositionException, HydraException, MissingConfigException,
                          OverrideParseException)
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.utils import get_object
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from simgen.config import PART_KINDS, group_entries

UNKNOWN_KEY = re.compile(r"Key '[^']+' (is not in struct|not in '\w+')")
NULL_OPTION = "Config group override must be a string or a list. Got NoneType"  # Hydra's ValueError for GROUP=null
OPTION_CLASH = "Only one of --run, --multirun"  # Hydra's ValueError for -m with --cfg, --info, ...
MISSING_SEARCHPATH = re.compile(r"provider=hydra\.searchpath [^,]*, path=(.*) is not available\.")  # Hydra's warning


def command_line_error(err: BaseException, argv: list[str]) -> str | None:
    """What the command line or a config file got wrong, as one line; None for an error of another kind."""
    if isinstance(err, (HydraException, OmegaConfBaseException)):
        return one_line(err, argv)
    if isinstance(err, yaml.YAMLError):  # a config file of the user's own
        return yaml_error(err)
    if isinstance(err, UserWarning):
        return missing_searchpath(err)
    if isinstance(err, ValueError) and str(err).startswith(NULL_OPTION):
        return null_option(argv)
    if isinstance(err, ValueError) and str(err).startswith(OPTION_CLASH):
        return str(err)
    return None


def one_line(err: Exception, argv: Sequence[str] = ()) -> str:
    """`err`, raised by Hydra or OmegaConf while composing the command line `argv`, as `key: what is wrong`."""
    if isinstance(err, MissingConfigException) and err.missing_cfg_file:
        return _missing_option(err.missing_cfg_file, err.options, argv)
    if isinstance(err, OverrideParseException):
        return f"cannot read the override {err.override!r}: {_first_line(str(err))}"
    cause = err.__cause__ if isinstance(err, ConfigCompositionException) else err
    if isinstance(cause, OmegaConfBaseException) and cause.full_key:
        if UNKNOWN_KEY.match(str(cause.msg)):
            return _unknown_key(cause, str(err))
        if str(cause.msg).startswith("Cannot merge DictConfig with"):
            key = cause.full_key
            if cause.object_type is list:
                return (f"{key}: the config gives a list here ([low, high], or values), which a mapping on the "
                        f"command line cannot replace; delete the list and add yours: '~{key}' '+{key}=VALUE'")
            return (f"{key}: the config gives a mapping here (its fields, or a sampler's _target_ and arguments), "
                    f"which a value on the command line cannot replace; set a field with {key}.FIELD=VALUE, or "
                    f"delete the mapping and add yours: '~{key}' '+{key}=VALUE'")
        return f"{cause.full_key}: {_first_line(str(cause.msg))}"
    return " ".join(line.strip() for line in str(err).split("Config search path")[0].splitlines() if line.strip())


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0]


def _missing_option(missing: str, options: list[str] | None, argv: Sequence[str]) -> str:
    group, _, option = missing.rpartition("/")
    if options is None and group:
        options = _group_options(group, argv)
    expected = f" (expected one of: {', '.join(options)})" if options else ""
    close = difflib.get_close_matches(option, options or [], n=1)
    hint = f", did you mean {close[0]}?" if close else ""
    return f"{group or 'config'}: no option {option!r}{hint}{expected}"


def _group_options(group: str, argv: Sequence[str]) -> list[str]:
    """The options of a config group in simgen's config folder and in those the command line adds: --config-dir
    (-cd) and hydra.searchpath (file://DIR, pkg://PACKAGE)."""
    folders = [resources.files("simgen.conf"), *map(Path, _config_dirs(argv))]
    for entry in _searchpath(argv):
        scheme, _, where = entry.partition("://")
        try:
            folders.append(Path(where) if scheme == "file" else resources.files(where.replace("/", ".")))
        except (ModuleNotFoundError, TypeError, ValueError):  # a package that is not there: Hydra says so
            continue
    found = {f.name[:-5] for folder in folders for f in _files(folder.joinpath(group)) if f.name.endswith(".yaml")}
    return sorted(found)


def _files(folder: Any) -> list:
    return list(folder.iterdir()) if folder.is_dir() else []


def _config_dirs(argv: Sequence[str]) -> list[str]:
    """The folders of --config-dir DIR, --config-dir=DIR, -cd DIR on the command line."""
    found = []
    for flag, value in zip(argv, [*argv[1:], ""]):
        if flag in ("--config-dir", "-cd"):
            found.append(value)
        elif flag.startswith("--config-dir="):
            found.append(flag.split("=", 1)[1])
    return found


def _searchpath(argv: Sequence[str]) -> list[str]:
    """The entries of a hydra.searchpath=[...] override on the command line."""
    for arg in argv:
        if arg.startswith("hydra.searchpath="):
            try:
                value = OverridesParser.create().parse_override(arg).value()
            except OverrideParseException:
                return []
            return [str(v) for v in value] if isinstance(value, list) else []
    return []


def _unknown_key(cause: OmegaConfBaseException, text: str) -> str:
    group = cause.full_key.rpartition(".")[0]
    if group in PART_KINDS and str(cause.key) in group_entries(group):
        return (f"{cause.full_key}: the {group} option {cause.key!r} is not selected; select it with "
                f"{group}=[...,{cause.key}]")
    parent = cause.parent_node
    append = re.search(r"use (\+.+)$", text, re.MULTILINE)  # Hydra's hint, useful where it adds this very key
    append = append.group(1) if append and append.group(1).startswith(f"+{cause.full_key}=") else None
    target, parameters = _constructor(parent)
    if str(cause.key) in parameters and append:
        return (f"{cause.full_key}: the config file leaves it to {target}'s default, so the command line must add "
                f"it: {append}")
    known = [str(k) for k in parent.keys() if k not in ("hydra", "_target_")] if parent is not None else []
    known += [p for p in parameters if p not in known]
    close = difflib.get_close_matches(str(cause.key), known, n=1)
    prefix = cause.full_key[: -len(str(cause.key))]
    hint = f", did you mean {prefix}{close[0]}?" if close else f", expected one of: {', '.join(known)}" if known else ""
    new = f" ({append} adds it as a new key)" if append and _takes_new_keys(parent) else ""
    return f"{cause.full_key}: unknown key{hint}{new}"


def _takes_new_keys(node: Any) -> bool:
    """Whether a key added to a config node can be taken: not where the node builds a class (`_target_`), whose
    constructor refuses a key it does not know (adding `camera.fovv` only fails again)."""
    return not (isinstance(node, DictConfig) and isinstance(node.get("_target_"), str))


def _constructor(node: Any) -> tuple[str, list[str]]:
    """The `_target_` of a config node and the names of its constructor's arguments (none where it has no
    `_target_` or cannot be imported here)."""
    target = node.get("_target_") if isinstance(node, DictConfig) else None
    try:
        parameters = inspect.signature(get_object(target)).parameters if isinstance(target, str) else {}
    except Exception:  # Hydra wraps the ImportError of a module that cannot be imported here
        parameters = {}
    return str(target), [name for name, p in parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def null_option(argv: list[str]) -> str:
    """The one line for `GROUP=null` on the command line, which Hydra cannot compose (a config file can say it)."""
    named = [arg.split("=", 1)[0] for arg in argv if re.fullmatch(r"[\w/]+=(null|None|~)", arg)]
    group = named[0] if named else "a config group"
    if group == "experiment":
        return "experiment: no experiment is the default; leave the override out"
    return f"{group}: null on the command line selects no option; drop the group's option with '~{group}'"


def yaml_error(err: Exception) -> str:
    """A config file YAML cannot read, as `FILE: not valid YAML: what (line N)`."""
    mark = getattr(err, "problem_mark", None)
    where = f"{mark.name}: " if mark else ""
    what = getattr(err, "problem", None) or _first_line(str(err))
    return f"{where}not valid YAML: {what}" + (f" (line {mark.line + 1})" if mark else "")


def missing_searchpath(warning: Warning) -> str | None:
    """Hydra's warning that a hydra.searchpath entry names no folder or package, as one line (None for others)."""
    found = MISSING_SEARCHPATH.fullmatch(str(warning))
    if not found:
        return None
    return (f"hydra.searchpath: no config folder or package {found.group(1)!r} (a file:// folder is found from the "
            f"working directory, {Path.cwd()}; a pkg:// package must be importable)")
