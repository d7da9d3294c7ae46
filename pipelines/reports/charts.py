"""Charts for the report pages: Vega-Lite specifications (written with altair) rendered to static SVG in Python.

vl-convert runs Vega in its own embedded JavaScript engine and returns plain SVG, which is inlined in the page: the
page needs no script and loads nothing (`allowed_base_urls=[]` makes a spec that points at a URL fail the build
instead of fetching). Vega's SVG keeps `role="graphics-symbol"` and an `aria-label` on every mark but loses the
chart's accessible name and its tooltips, so `accessible_svg` puts them back: the `<svg>` is named by the figure's
heading and described by its note, and each data mark gets an SVG `<title>` (the browser's native tooltip).

Each chart is a `<figure>`: a heading and subtitle, a note wherever the small-cell rule hides cells (a "no chart"
sentence when it hides them all), the SVG, a `<details>` data table and a CSV download of the mart rows behind it
(a `data:` link: no script). A layer named `published` draws published counts and a layer named `hidden` draws
hidden cells (a grey tick on the baseline): Vega-Lite drops a row whose count is NULL, so a hidden cell needs a layer
of its own or it silently disappears from the axis. The layer names become CSS classes of the mark groups
(`published_marks`, `hidden_marks`), which the browser tests count.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import altair as alt
import vl_convert

from pipelines.marts.suppression import SMALL_MAX, SUPPRESSED_LABEL

# The Vega-Lite version altair 6.3 writes (schema v6.4.1); vl-convert 1.9 bundles it.
VEGA_LITE_VERSION = "6.4"
SVG_NS = "http://www.w3.org/2000/svg"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")

BLUE, ORANGE, GREY, LIGHT = "#2b6cb0", "#c05621", "#8a8a8a", "#e2e2e2"
WIDTH = 500
HIDDEN_WORDS = f"1 to {SMALL_MAX} patients, hidden by the small-cell rule"


@dataclass
class Chart:
    """One figure: the Vega-Lite spec (None when every cell is hidden), its data table and CSV rows, its notes."""

    name: str
    title: str
    subtitle: str
    spec: dict | None
    table_header: list[str]
    table_rows: list[list[str]]
    csv_name: str
    csv_header: list[str]
    csv_rows: list[list]
    notes: list[str] = field(default_factory=list)
    shown: int = 0  # published data marks (one per published cell)
    hidden: int = 0  # hidden-cell marks (one per hidden cell)


def count_text(value: int | None) -> str:
    return SUPPRESSED_LABEL if value is None else f"{value:,}"


def percent_text(part: int | None, whole: int | None) -> str:
    """`part` as a share of `whole` ("54.7%"); empty when either is hidden or the whole is 0."""
    return "" if part is None or not whole else f"{100 * part / whole:.1f}%"


def hidden_note(hidden: int, total: int, unit: str) -> str:
    return f"{hidden} of {total} {unit} hidden ({HIDDEN_WORDS})." if hidden else ""


def cell_counts(hidden: int, total: int, unit: str) -> dict:
    """A chart's shown and hidden cells and, when any is hidden, the note that says how many."""
    return {"notes": [hidden_note(hidden, total, unit)] if hidden else [], "shown": total - hidden, "hidden": hidden}


def finish(chart: alt.TopLevelMixin) -> dict:
    """The spec as vl-convert renders it: the page's look, and no `$schema` URL (never fetched, never in the page)."""
    spec = (
        chart.configure_view(stroke=None)
        .configure_axis(labelFontSize=11, titleFontSize=12, labelFont="sans-serif", titleFont="sans-serif")
        .configure_text(font="sans-serif")
        .configure_legend(labelFont="sans-serif", titleFont="sans-serif")
        .to_dict()
    )
    spec.pop("$schema", None)
    return spec


def render_svg(spec: dict) -> str:
    """Static SVG of a Vega-Lite spec; a spec that refers to any URL fails instead of fetching it."""
    return vl_convert.vegalite_to_svg(spec, vl_version=VEGA_LITE_VERSION, allowed_base_urls=[])


def accessible_svg(svg: str, chart: Chart) -> str:
    """The SVG named by the figure's heading, described by its note, with a tooltip `<title>` on every data mark."""
    root = ET.fromstring(svg)
    root.set("role", "img")
    root.set("aria-labelledby", f"title-{chart.name}")
    if chart.notes:
        root.set("aria-describedby", f"note-{chart.name}")
    root.set("class", f"marks chart-{chart.name}")
    for group in root.iter(f"{{{SVG_NS}}}g"):
        if "role-mark" not in (group.get("class") or "").split():
            continue  # axes, legends and titles keep their aria-label only
        for element in group:
            label = element.get("aria-label")
            if label and element.get("role") == "graphics-symbol":
                title = ET.Element(f"{{{SVG_NS}}}title")
                title.text = label
                element.insert(0, title)
    return ET.tostring(root, encoding="unicode")


def csv_text(chart: Chart) -> str:
    """The mart rows behind the chart as CSV (RFC 4180: CRLF line ends; hidden counts empty, markers true/false)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(chart.csv_header)
    for row in chart.csv_rows:
        writer.writerow(["" if v is None else str(v).lower() if isinstance(v, bool) else v for v in row])
    return out.getvalue()


def _table(chart: Chart) -> str:
    head = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in chart.table_header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in chart.table_rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def figure_html(chart: Chart) -> str:
    """The chart's `<figure>` (heading, note, SVG or "no chart", data table, CSV download)."""
    parts = [
        f'<figure class="chart" data-chart="{chart.name}" aria-labelledby="title-{chart.name}" '
        f'data-shown="{chart.shown}" data-hidden="{chart.hidden}">',
        f'<figcaption><h2 id="title-{chart.name}">{html.escape(chart.title)}</h2>'
        f'<p class="sub">{html.escape(chart.subtitle)}</p></figcaption>',
    ]
    if chart.notes:
        parts.append(
            f'<p class="note" id="note-{chart.name}" data-hidden-note>'
            + " ".join(html.escape(n) for n in chart.notes)
            + "</p>"
        )
    if chart.spec is None:
        parts.append(
            f'<p class="empty">No chart: every cell is hidden by the small-cell rule (1 to {SMALL_MAX} patients) '
            "or there is nothing to count. The table lists them.</p>"
        )
    else:
        parts.append(f'<div class="vis">{accessible_svg(render_svg(chart.spec), chart)}</div>')
    parts.append(f"<details><summary>Data table</summary>{_table(chart)}</details>")
    href = "data:text/csv;charset=utf-8," + urllib.parse.quote(csv_text(chart))
    parts.append(
        f'<p class="downloads"><a download="{html.escape(chart.csv_name)}" href="{href}">'
        "Download the mart rows (CSV)</a></p></figure>"
    )
    return "".join(parts)


def csp_hash(text: str) -> str:
    """A Content-Security-Policy source for an inline `<style>` or `<script>` with exactly this text."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def content_security_policy(styles: str, scripts: tuple[str, ...] = ()) -> str:
    """No fetch of any kind; only the page's own style (and scripts, if any) by hash; no inline attributes."""
    script_src = " ".join(csp_hash(s) for s in scripts) if scripts else "'none'"
    return (
        f"default-src 'none'; script-src {script_src}; style-src {csp_hash(styles)}; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )
