"""The self-contained HTML report: a summary table, config changes, figures and samples embedded as PNG."""

from __future__ import annotations

import base64
import html
from typing import Any, Callable, Sequence

from simgen.tools.config_diff import LETTERS

HEADINGS = {
    "instances_per_category": "Instances per category",
    "instances_per_image": "Instances per image",
    "box_size": "Box size",
    "aspect_ratio": "Box aspect ratio",
    "visibility": "Visibility",
    "centres": "Object centres",
    "depth": "Depth range",
    "samples": "Sample overlays",
}

STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .7em;text-align:left}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}img{max-width:100%;display:block}
figure{margin:1em 0}figcaption{color:#555;font-size:.9em}"""


def _fmt(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else "n/a" if value is None else str(value)


def _get(numbers: dict, *path: str) -> Any:
    for key in path:
        numbers = numbers.get(key) if isinstance(numbers, dict) else None
    return numbers


def _span(numbers: dict, key: str) -> str:
    part = numbers.get(key)
    return "n/a" if not part else f"{_fmt(part['min'])} to {_fmt(part['max'])} (median {_fmt(part['median'])})"


ROWS: list[tuple[str, Callable[[dict], Any]]] = [
    ("frames", lambda n: n["frames"]),
    ("instances", lambda n: n["instances"]),
    ("ignore regions (iscrowd)", lambda n: n.get("ignore_regions", 0)),
    ("categories present / defined", lambda n: f"{n['categories_present']} / {n['categories']}"),
    ("image sizes", lambda n: ", ".join(f"{k} ({v})" for k, v in n["image_sizes"].items())),
    ("instances per image", lambda n: _span(n, "instances_per_image")),
    ("box size [px]", lambda n: _span(n, "box_size_px")),
    ("aspect ratio (w/h)", lambda n: _span(n, "aspect_ratio")),
    ("visible fraction, mean", lambda n: _get(n, "visible_fraction", "mean")),
    ("truncated instances", lambda n: n.get("truncated")),
    ("labelled keypoints", lambda n: _get(n, "keypoints", "labelled")),
    ("depth range [m]", lambda n: "n/a" if not n.get("depth_m") else
     f"{_fmt(n['depth_m']['min'])} to {_fmt(n['depth_m']['max'])} (mean {_fmt(n['depth_m']['mean'])})"),
    ("pixels with depth", lambda n: _get(n, "depth_m", "valid_fraction")),
]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td{' class=n' if isinstance(c, (int, float)) else ''}>{html.escape(_fmt(c))}"
                                    "</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def summary_section(labels: Sequence[str], numbers: Sequence[dict]) -> str:
    rows = [[name, *(value(n) for n in numbers)] for name, value in ROWS]
    return f"<h2>Summary</h2>{table(['', *labels], rows)}"


def config_section(labels: Sequence[str], changes: list[dict] | None) -> str:
    if changes is None:
        return "<h2>Config changes</h2><p>One of the datasets has no config.yaml.</p>"
    if not changes:
        return "<h2>Config changes</h2><p>The datasets were made with the same config.</p>"
    keys = LETTERS[:len(labels)]
    rows = [[c["key"], *("null / absent" if c[k] is None else repr(c[k]) for k in keys)] for c in changes]
    return f"<h2>Config changes</h2>{table(['key', *labels], rows)}"


def image_section(name: str, png: bytes, caption: str = "", anchor: str = "") -> str:
    """A heading (from HEADINGS) and the PNG embedded as a data URI."""
    data = base64.b64encode(png).decode("ascii")
    note = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (f'<h2 id="{html.escape(anchor or name)}">{html.escape(HEADINGS.get(name, name))}</h2>'
            f'<figure><img alt="{html.escape(HEADINGS.get(name, name))}" src="data:image/png;base64,{data}">'
            f"{note}</figure>")


def page(title: str, sections: Sequence[str]) -> str:
    """One HTML document holding everything, images included."""
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{''.join(sections)}"
            "<p><small>Made by simgen-stats; the numbers are in stats.json beside this file.</small></p>"
            "</body></html>\n")
