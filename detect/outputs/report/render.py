"""The report as one self-contained HTML file: the page (templates/report.html.j2, Jinja2 with
autoescaping) with its style, its script, the vendored D3 and the data inline. Nothing is
fetched when it is opened: the page's Content-Security-Policy allows no source but itself."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2

from detect.auditd.export import printable, visible
from detect.outputs.events import dumps
from detect.outputs.report.model import ReportInput, build_report

HERE = Path(__file__).resolve().parent
ASSETS = {
    "css": HERE / "static" / "report.css",
    "js": HERE / "static" / "report.js",
    "d3": HERE / "vendor" / "d3.v7.9.2.min.js",
}
# Inside <script type="application/json">: nothing may close the element or open a comment.
JSON_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


@functools.cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["visible"] = visible
    environment.filters["clock"] = lambda text: str(text or "")[:19].replace("T", " ")
    environment.filters["number"] = lambda n: "–" if n is None else f"{n:,}"
    return environment


def _asset(name: str) -> str:
    return ASSETS[name].read_text(encoding="utf-8")


def script_json(data: Any) -> str:
    """`data` as JSON that is safe inside a script element."""
    return dumps(data).translate(JSON_ESCAPES)


def render_report(data: ReportInput) -> str:
    """The page for these documents (the same documents give the same bytes)."""
    report = printable(build_report(data))
    script_data = {
        "trees": {incident["id"]: incident["tree"] for incident in report["incidents"]},
        "timeline": report["timeline"],
    }
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            report=report,
            data_json=script_json(script_data),
            css=_asset("css"),
            js=_asset("js"),
            d3=_asset("d3"),
        )
    )


def write_report(data: ReportInput, path: Path) -> int:
    """Write the page to `path`; its size in bytes."""
    text = render_report(data)
    path.write_text(text, encoding="utf-8")
    return len(text.encode("utf-8"))
