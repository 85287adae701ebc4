"""The report's figures with matplotlib (Agg): one dataset, or several overlaid in as many colours."""

from __future__ import annotations

from typing import Callable, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FormatStrFormatter, MaxNLocator, NullFormatter  # noqa: E402

from simgen.tools.statistics import VISIBILITY_BINS, DatasetStats, visibility_histogram  # noqa: E402

Labelled = Sequence[tuple[str, DatasetStats]]
SIZE = (6.4, 3.6)
RATIO_TICKS = (0.1, 0.2, 0.25, 1 / 3, 0.5, 2 / 3, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 10.0)


def _figure(title: str, ncols: int = 1) -> tuple[Figure, list]:
    fig, axes = plt.subplots(1, ncols, figsize=(SIZE[0] * max(1.0, 0.7 * ncols), SIZE[1]), squeeze=False,
                             layout="constrained")
    fig.suptitle(title)
    return fig, list(axes[0])


def _histogram(ax, series: Labelled, values: Callable[[DatasetStats], np.ndarray], bins, xlabel: str) -> None:
    """Overlaid histograms; counts for one dataset, fractions when comparing datasets of different sizes."""
    compare = len(series) > 1
    if isinstance(bins, int):
        pooled = np.concatenate([values(s) for _, s in series])
        bins = np.histogram_bin_edges(pooled, bins) if len(pooled) else bins
    for k, (label, stats) in enumerate(series):
        v = values(stats)
        weights = np.full(len(v), 1 / len(v)) if compare and len(v) else None
        ax.hist(v, bins=bins, weights=weights, alpha=0.55 if compare else 0.85, color=f"C{k}", label=label,
                edgecolor="white", linewidth=0.5)
    ax.set_xlabel(xlabel)
    if compare:
        ax.legend(fontsize="small")
    else:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def instances_per_category(series: Labelled) -> Figure:
    fig, (ax,) = _figure("Instances per category")
    names = list(dict.fromkeys(n for _, s in series for n in s.per_category))
    height = 0.8 / len(series)
    for k, (label, stats) in enumerate(series):
        y = np.arange(len(names)) + (k - (len(series) - 1) / 2) * height
        ax.barh(y, [stats.per_category.get(n, 0) for n in names], height=height, color=f"C{k}", label=label)
    ax.set_yticks(np.arange(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel("instances")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(series) > 1:
        ax.legend(fontsize="small")
    return fig


def instances_per_image(series: Labelled) -> Figure:
    fig, (ax,) = _figure("Instances per image")
    top = max(int(s.per_image.max(initial=0)) for _, s in series)
    _histogram(ax, series, lambda s: s.per_image, np.arange(top + 2) - 0.5, "instances in the image")
    ax.set_ylabel("fraction of frames" if len(series) > 1 else "frames")
    return fig


def box_size(series: Labelled) -> Figure:
    fig, (ax,) = _figure("Box size")
    _histogram(ax, series, lambda s: s.box_size, 30, "sqrt(box width x height) [px]")
    ax.set_ylabel("fraction of instances" if len(series) > 1 else "instances")
    return fig


def aspect_ratio(series: Labelled) -> Figure:
    fig, (ax,) = _figure("Box aspect ratio")
    ratios = np.concatenate([s.aspect_ratio for _, s in series])
    lo, hi = (ratios.min(), ratios.max()) if len(ratios) else (0.5, 2.0)
    bins = np.geomspace(min(lo, 0.9), max(hi, 1.1), 30)
    _histogram(ax, series, lambda s: s.aspect_ratio, bins, "box width / height")
    ax.set_xscale("log")
    ax.set_xticks([t for t in RATIO_TICKS if bins[0] <= t <= bins[-1]], minor=False)
    ax.xaxis.set_major_formatter(FormatStrFormatter("%.3g"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel("fraction of instances" if len(series) > 1 else "instances")
    return fig


def visibility(series: Labelled) -> Figure | None:
    """The visible-fraction histogram of stats.json as bars; None when no dataset records visible fractions."""
    present = [(label, s) for label, s in series if s.visible_fraction is not None]
    if not present:
        return None
    fig, (ax,) = _figure("Visible fraction of each instance")
    width = 1 / VISIBILITY_BINS / len(present)
    for k, (label, stats) in enumerate(present):
        counts = visibility_histogram(stats.visible_fraction)
        heights = counts / max(counts.sum(), 1) if len(present) > 1 else counts
        ax.bar(np.arange(VISIBILITY_BINS) / VISIBILITY_BINS + (k + 0.5) * width, heights, width=width,
               color=f"C{k}", label=label, edgecolor="white", linewidth=0.5)
    ax.set_xlim(0, 1)
    ax.set_xlabel("visible fraction")
    ax.set_ylabel("fraction of instances" if len(present) > 1 else "instances")
    if len(present) > 1:
        ax.legend(fontsize="small")
    else:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def centres(series: Labelled) -> Figure:
    """A heat map per dataset; when comparing, of fractions on one colour scale, so that the maps compare."""
    fig, axes = _figure("Object centres over the image", ncols=len(series))
    maps = [stats.heatmap() for _, stats in series]
    if len(series) > 1:
        maps = [grid / max(grid.sum(), 1) for grid in maps]
    top = max(float(grid.max()) for grid in maps) or 1
    for ax, (label, _), grid in zip(axes, series, maps):
        shown = ax.imshow(grid, extent=(0, 1, 1, 0), aspect="auto", cmap="magma", interpolation="nearest", vmin=0,
                          vmax=top)
        ax.set_title(label, fontsize="medium")
        ax.set_xlabel("x / image width")
        ax.set_ylabel("y / image height" if ax is axes[0] else "")
    fig.colorbar(shown, ax=axes, label="fraction of box centres" if len(series) > 1 else "box centres")
    return fig


def _depth_values(stats: DatasetStats) -> tuple[np.ndarray, np.ndarray]:
    levels = np.nonzero(stats.depth_counts[1:])[0] + 1
    return levels * stats.depth_scale, stats.depth_counts[levels]


def depth(series: Labelled) -> Figure | None:
    """Distribution of the valid depth over all pixels; None when no dataset has depth."""
    data = [(label, *_depth_values(s)) for label, s in series]
    data = [d for d in data if len(d[1])]
    if not data:
        return None
    fig, (ax,) = _figure("Depth of the pixels with depth")
    bins = np.linspace(min(d[1][0] for d in data), max(d[1][-1] for d in data), 50)
    for k, (label, metres, counts) in enumerate(data):
        ax.hist(metres, bins=bins, weights=counts / counts.sum(), alpha=0.55 if len(data) > 1 else 0.85,
                color=f"C{k}", label=label, edgecolor="white", linewidth=0.5)
    ax.set_xlabel("depth [m]")
    ax.set_ylabel("fraction of pixels")
    if len(data) > 1:
        ax.legend(fontsize="small")
    return fig


FIGURES: dict[str, Callable[[Labelled], Figure | None]] = {
    "instances_per_category": instances_per_category,
    "instances_per_image": instances_per_image,
    "box_size": box_size,
    "aspect_ratio": aspect_ratio,
    "visibility": visibility,
    "centres": centres,
    "depth": depth,
}


def save(fig: Figure, path) -> None:
    fig.savefig(path, dpi=100)
    plt.close(fig)
