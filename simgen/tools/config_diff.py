"""What differs between the configs datasets were made with (their `config.yaml`s), key by key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from simgen.annotations_file import DatasetError
from simgen.writers.files import CONFIG_FILE


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted keys to leaf values; lists are leaves (`objects.count: [3, 5]`)."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


ORDERED = ("randomizers", "distractors", "effects")  # groups applied in the order they are listed


def with_orders(config: Any) -> dict[str, Any]:
    """The flattened config, with the names of each ordered group as a list (`effects: [jpeg, blur]`): the same
    effects in another order make other images."""
    flat = flatten(config)
    if isinstance(config, dict):
        flat.update({group: list(config[group]) for group in ORDERED if isinstance(config.get(group), dict)})
    return flat


def load_config(root: Path) -> dict[str, Any] | None:
    """The dataset's flattened config (with_orders), or None where the dataset has no config.yaml."""
    path = root / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        return with_orders(yaml.safe_load(path.read_text()) or {})
    except yaml.YAMLError as err:
        raise DatasetError(f"{path}: not a readable YAML file ({err.__class__.__name__})") from None


LETTERS = "abcdefghijklmnopqrstuvwxyz"  # the keys of the compared datasets, in the order given


def diff(*configs: dict[str, Any]) -> list[dict[str, Any]]:
    """[{key, a, b, ...}] for every key whose value is not the same in every config, sorted by key; a key a config
    lacks reads as None there, as a null does."""
    changes = []
    for key in sorted(set().union(*configs)):
        values = [config.get(key) for config in configs]
        if any(value != values[0] for value in values[1:]):
            changes.append({"key": key, **dict(zip(LETTERS, values))})
    return changes
