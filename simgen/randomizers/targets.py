"""Which bodies of a scene a randomizer acts on, named in config by group or by fixture name."""

from __future__ import annotations

from typing import Any, Sequence

from simgen.errors import ConfigError
from simgen.scene import ObjectSpec, Scene

GROUPS = ("objects", "distractors", "fixtures")


def check_targets(key: str, targets: Any) -> tuple[str, ...]:
    """A non-empty list of names: `objects` (labeled), `distractors` (unlabeled objects), `fixtures`
    (every fixture), or the name of one fixture (floor, table, bin, ...)."""
    if isinstance(targets, str):
        targets = [targets]
    if not isinstance(targets, Sequence) or not targets or not all(isinstance(t, str) for t in targets):
        raise ConfigError(key, f"expected a list of names ({', '.join(GROUPS)} or a fixture's name), got {targets!r}")
    return tuple(targets)


def select(scene: Scene, targets: Sequence[str], key: str = "targets") -> list[ObjectSpec]:
    """The scene's bodies named by `targets`, fixtures first, each in scene order."""
    names = {f.category for f in scene.fixtures}
    unknown = [t for t in targets if t not in GROUPS and t not in names]
    if unknown:
        raise ConfigError(key, f"no fixture named {unknown[0]!r} in scene {scene.name!r} "
                          f"(expected {', '.join(GROUPS)} or one of: {', '.join(sorted(names)) or 'none'})")
    chosen = [f for f in scene.fixtures if "fixtures" in targets or f.category in targets]
    chosen += [o for o in scene.objects if ("objects" if o.labeled else "distractors") in targets]
    return chosen
