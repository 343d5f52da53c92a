"""Validation reports as Markdown, HTML (readable in a browser, worst differences first) or
JSON, written atomically."""

from __future__ import annotations

import html
import json
import os
import tempfile
from pathlib import Path

from keyart.rollout.validate import Validation, as_json, summary

MAX_ROWS = 2000  # the rest are counted, and all are in the state store and the JSON form


def render_markdown(result: Validation) -> str:
    """The report as Markdown."""
    lines = [f"# keyart validate: {result.backend} vs {result.against}", "", summary(result), ""]
    lines += ["## Titles", "", "| title | why |", "|---|---|"]
    lines += [f"| {t} | {why} |" for t, why in result.titles.items()]
    lines += ["", "## Disagreements (worst first)", ""]
    if result.passed:
        lines.append("None: every value is within tolerance.")
    else:
        lines += [
            f"| question | group | metric | {result.backend} | {result.against} "
            "| tolerance | outside by |",
            "|---|---|---|---:|---:|---:|---:|",
        ]
        for d in result.disagreements[:MAX_ROWS]:
            lines.append(
                f"| {d.question} | {d.group} | {d.metric} | {d.value:g} | "
                f"{d.against_value:g} | {d.tolerance:g} | {d.excess:g} |"
            )
        if len(result.disagreements) > MAX_ROWS:
            lines.append(f"\n… and {len(result.disagreements) - MAX_ROWS} more")
    return "\n".join(lines) + "\n"


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #17631d; } .fail { color: #a11; }
tr.bad td.x { background: #fdd; font-weight: bold; }
"""


def render_html(result: Validation) -> str:
    """The report as a standalone HTML page."""
    e = html.escape
    verdict = "pass" if result.passed else "fail"
    titles = "".join(f"<tr><td>{e(t)}</td><td>{e(w)}</td></tr>" for t, w in result.titles.items())
    rows = "".join(
        f"<tr class='bad'><td>{e(d.question)}</td><td>{e(d.group)}</td><td>{e(d.metric)}</td>"
        f"<td class='n'>{d.value:g}</td><td class='n'>{d.against_value:g}</td>"
        f"<td class='n'>{d.tolerance:g}</td><td class='n x'>{d.excess:g}</td></tr>"
        for d in result.disagreements[:MAX_ROWS]
    )
    more = len(result.disagreements) - MAX_ROWS
    table = (
        "<p>None: every value is within tolerance.</p>"
        if result.passed
        else (
            f"<table><tr><th>question</th><th>group</th><th>metric</th>"
            f"<th>{e(result.backend)}</th><th>{e(result.against)}</th><th>tolerance</th>"
            f"<th>outside by</th></tr>{rows}</table>"
            + (f"<p>… and {more} more (see the JSON report)</p>" if more > 0 else "")
        )
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>keyart validate: {e(result.backend)} vs {e(result.against)}</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>keyart validate: {e(result.backend)} vs {e(result.against)}</h1>"
        f"<p class='{verdict}'>{e(summary(result))}</p>"
        f"<h2>Disagreements, worst first</h2>{table}"
        f"<h2>Titles</h2><table><tr><th>title</th><th>why</th></tr>{titles}</table>"
        "</body></html>\n"
    )


def write_report(result: Validation, path: Path) -> None:
    """Write the report in the format of `path`'s suffix (.md, .html, .json), atomically."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        text = json.dumps(as_json(result), indent=2) + "\n"
    elif suffix == ".html":
        text = render_html(result)
    else:
        text = render_markdown(result)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["render_html", "render_markdown", "write_report"]
