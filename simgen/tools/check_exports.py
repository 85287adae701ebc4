"""simgen-check's checks of the exports found in a dataset (COCO split files, YOLO, BOP) against annotations.json.

Each is started on its own files, then given every image with its annotations as simgen-check's one pass over
annotations.json reads them, then finished; it returns the split of each frame in it, which the exports must agree on.
"""

from __future__ import annotations

from typing import Callable, Optional, Protocol

import yaml

from simgen.annotations_file import first_line
from simgen.export.dataset import Dataset, DatasetError
from simgen.export.yolo import TASKS
from simgen.tools.check_bop import BopCheck
from simgen.tools.check_report import MALFORMED, Maps, Membership, Report
from simgen.tools.check_splits import SplitsCheck
from simgen.tools.check_yolo import YoloCheck

STOPPED = (*MALFORMED, OverflowError, OSError, yaml.YAMLError, DatasetError)  # what malformed export files raise


class ExportCheck(Protocol):
    name: str

    def image(self, image: dict, anns: list[dict], maps: Optional[Maps]) -> None:
        """An image with its annotations (every one in turn); `maps`: those of an image whose files are to be checked,
        as simgen-check read them; None where it was not drawn (see --sample)."""

    def finish(self) -> dict[str, Membership]:
        """The checks that need every image, once all went by; the split of each frame in the export."""


class ExportChecks:
    """The exports found in a dataset, checked together an image at a time: one whose files turn out malformed stops
    with a problem, and the others go on."""

    def __init__(self, data: Dataset, chosen: list[dict], report: Report):
        self.data, self.report = data, report
        starts: list[tuple[str, Callable[[], Optional[ExportCheck]]]] = [
            ("splits", lambda: SplitsCheck.found(data, report)),
            *((f"yolo/{task}", lambda task=task: YoloCheck.found(data, task, chosen, report)) for task in TASKS),
            ("bop", lambda: BopCheck.found(data, chosen, report))]
        self.checks = [check for name, start in starts if (check := self._stopping(name, start)) is not None]

    def _stopping(self, name: str, step: Callable[[], object]) -> object:
        """step(); where the export's files are malformed, a problem of its check and None."""
        try:
            return step()
        except STOPPED as err:
            self.report.problem(name, f"malformed export, check stopped ({type(err).__name__}: {first_line(err)})")
            return None

    def image(self, image: dict, anns: list[dict], maps: Optional[Maps]) -> None:
        self.checks = [check for check in self.checks
                       if self._stopping(check.name, lambda: check.image(image, anns, maps) or True)]

    def finish(self, complete: bool) -> None:
        """The checks that need every image, where the pass over them went through (`complete`); then whether the
        exports agree on the splits (those whose check stopped left out)."""
        found: dict[str, Membership] = {}
        for check in self.checks:
            if not complete:
                self.report.problem(check.name, "not checked to the end: the annotations check stopped")
                continue
            found.update(self._stopping(check.name, check.finish) or {})
        if found:
            check_same_splits(found, self._config_splits(), self.report)

    def _config_splits(self) -> Optional[Membership]:
        """The split of each frame as config.yaml's splits and seed draw it; None where they cannot be read."""
        try:
            return {frame: split for split, frames in self.data.split_frames().items() for frame in frames}
        except DatasetError:
            return None


CONFIG_SPLITS = "config.yaml's splits and seed"
CALLED = {"splits": "the split files"}  # a check's name, as a message names its export


def check_same_splits(found: dict[str, Membership], config: Optional[Membership], report: Report) -> None:
    """Every export puts each frame it holds in the same split (each made with the same --splits and --seed; a
    frame one of them lacks is that export's own problem, reported by its check). The splits most of them share
    (`config`, config.yaml's, counts as one more) are the reference: the export made otherwise is the one named."""
    voters = {**found, **({CONFIG_SPLITS: config} if config is not None else {})}
    votes = {name: sum(_agree(voters[name], voters[other]) for other in voters if other != name) for name in voters}
    reference = max(voters, key=lambda name: votes[name])  # a tie: the first found
    for name, membership in found.items():
        if name != reference and not _agree(membership, voters[reference]):
            report.problem(name, f"its splits are not those of {CALLED.get(reference, reference)} (exports made with "
                                 "other --splits or --seed: make them again with the same ones)")


def _agree(one: Membership, other: Membership) -> bool:
    """Whether every frame both hold is in the same split in both."""
    return all(other[frame] == split for frame, split in one.items() if frame in other)
