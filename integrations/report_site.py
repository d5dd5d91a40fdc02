"""The alliance report as a static site: per audience an HTML page with its plots, and the same figures as
JSON and CSV, written to ``out/report/<audience>/<label>/``.

Figures arrive already graded and with small numbers hidden (``services.report``); this module only
chooses what each audience's folder holds and writes it. Every value is escaped for HTML; text that
could start a formula in a spreadsheet is quoted in CSV.
"""

import csv
import fcntl
import html
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from domain.money import pence_to_pounds
from domain.publication import AUDIENCES, WITHHELD, Grade, Shown, visible_to

# Column kinds: how a value is held and shown. Only ``count`` columns hold counts of people or claims.
KINDS = ("text", "count", "number", "money", "ratio", "percent")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column kind {self.kind!r} is not one of {KINDS}")


@dataclass(frozen=True)
class Figure:
    id: str
    title: str
    about: str
    grade: Grade
    columns: tuple[Column, ...]
    rows: Sequence[Mapping[str, Any]]
    notes: tuple[str, ...] = ()
    plots: tuple[str, ...] = ()  # names of plots (PNG files) drawn from this figure
    empty: str = "nothing to show yet"  # what the table says when it has no rows


@dataclass(frozen=True)
class ReportDoc:
    label: str  # the folder: "2026-10" or "year-1"
    title: str
    subtitle: str
    generated_at: datetime
    threshold: int
    figures: Sequence[Figure]
    plots: Mapping[str, bytes] = field(default_factory=dict)  # name -> PNG


def json_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Shown):  # hidden (or shown) under the small-numbers rule, whatever the column's kind
        return value.json()
    if kind == "count":
        assert isinstance(value, Shown), "a count column holds Shown values (small numbers hidden)"
        return value.json()
    if kind == "money":
        return str(pence_to_pounds(int(value)))
    if kind in ("ratio", "percent"):
        return round(float(value), 4)
    if kind == "number":
        return value if isinstance(value, int) else str(value)
    return str(value)


def text_value(kind: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, Shown):
        return value.text
    if kind == "money":
        pounds = pence_to_pounds(int(value))
        return f"-£{-pounds:,.2f}" if pounds < 0 else f"£{pounds:,.2f}"
    if kind == "ratio":  # through Decimal, rounded half-even as money is: 0.975 is 0.98, not float's 0.97
        return f"{Decimal(str(value)).quantize(Decimal('0.01'), ROUND_HALF_EVEN)}"
    if kind == "percent":
        return f"{(Decimal(str(value)) * 100).quantize(Decimal('1'), ROUND_HALF_EVEN)}%"
    if isinstance(value, Decimal):
        return f"{value:,}"
    return str(value)


def _csv_text(value: Any) -> Any:
    # A spreadsheet opening the CSV must not run text as a formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(value):
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def figure_json(figure: Figure) -> dict[str, Any]:
    return {
        "id": figure.id,
        "title": figure.title,
        "about": figure.about,
        "grade": figure.grade.value,
        "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in figure.columns],
        "rows": [{c.key: json_value(c.kind, row.get(c.key)) for c in figure.columns} for row in figure.rows],
        "notes": list(figure.notes),
        "plots": [f"{name}.png" for name in figure.plots],
    }


def figure_csv(figure: Figure) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.key for c in figure.columns])
    for row in figure.rows:
        values = [json_value(c.kind, row.get(c.key)) for c in figure.columns]
        writer.writerow(["" if v is None else _csv_text(v) for v in values])
    return out.getvalue()


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;
color:#1b1b1b;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #ccc}
.sub{color:#555;margin-top:0}nav a{margin-right:.8rem}table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border:1px solid #d0d0d0;padding:.25rem .55rem;text-align:left}td.count,td.number,td.money,td.ratio,
td.percent{text-align:right;font-variant-numeric:tabular-nums}th{background:#f2f4f7}.about{color:#333}
.note{color:#555;font-size:.85rem}img{max-width:100%;height:auto;border:1px solid #e3e3e3;margin:.4rem 0}
footer{margin-top:3rem;color:#555;font-size:.85rem;border-top:1px solid #ccc;padding-top:.6rem}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def figure_html(figure: Figure) -> str:
    head = "".join(f'<th scope="col">{_e(c.label)}</th>' for c in figure.columns)
    body = []
    for row in figure.rows:
        cells = []
        for c in figure.columns:
            value = row.get(c.key)
            shown = text_value(c.kind, value)
            data = f' data-count="{_e(shown)}"' if c.kind == "count" else ""
            cells.append(f'<td class="{c.kind}"{data}>{_e(shown)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    rows = "\n".join(body) or f'<tr><td colspan="{len(figure.columns)}">{_e(figure.empty)}</td></tr>'
    plots = "".join(
        f'<figure><img src="{_e(name)}.png" alt="{_e(figure.title)}: {_e(name)} plot"></figure>'
        for name in figure.plots
    )
    notes = "".join(f'<p class="note">{_e(n)}</p>' for n in figure.notes)
    return (
        f'<section id="{_e(figure.id)}"><h2>{_e(figure.title)}</h2><p class="about">{_e(figure.about)}</p>'
        f"{plots}<table><thead><tr>{head}</tr></thead><tbody>\n{rows}\n</tbody></table>{notes}"
        f'<p class="note">Data: <a href="{_e(figure.id)}.csv">{_e(figure.id)}.csv</a>, '
        f'<a href="figures.json">figures.json</a>.</p></section>'
    )


def page_html(doc: ReportDoc, audience: Grade, figures: Sequence[Figure]) -> str:
    nav = "".join(f'<a href="#{_e(f.id)}">{_e(f.title)}</a>' for f in figures)
    sections = "\n".join(figure_html(f) for f in figures)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>{_e(doc.title)}</title><style>{_STYLE}</style></head>
<body><header><h1>{_e(doc.title)}</h1><p class="sub">{_e(doc.subtitle)}. For: {_e(AUDIENCE_NAMES[audience])}.
Generated {_e(doc.generated_at.strftime("%d/%m/%Y %H:%M"))} UTC.</p><nav>{nav}</nav></header>
<main>
{sections}
</main>
<footer><h2 id="small-numbers">How small numbers are protected</h2>
<p>The alliance's own figures (each outcome each month and year to date, against its target, and every
"All partners" row) are published exactly. So that no one can be picked out, the protection is in the partners'
figures: a partner's count under {doc.threshold} is shown as &lt;{doc.threshold}, and beside it at least one
other partner's figure is withheld ({WITHHELD}), so that taking the other partners from the alliance's total
cannot give the small count away. A partner's year to date is shown only when every one of its months was;
otherwise it is withheld too, whatever its size. No participant-level value is published. Money is in pounds;
the figures are also in <a href="figures.json">figures.json</a> and one CSV per table.</p>
<p><a href="../index.html">Other reports for {_e(AUDIENCE_NAMES[audience])}</a></p></footer>
</body></html>
"""


AUDIENCE_NAMES = {
    Grade.public: "the public",
    Grade.alliance: "alliance partners, the commissioner and the board",
    Grade.officers: "alliance officers",
}


@contextmanager
def _one_writer(root: Path) -> Iterator[None]:
    """Two cycles (or a cycle and `alliance report`) publishing at once take turns: each swaps whole folders."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:  # beside the published folder, not in it
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def written_at(root: Path, label: str) -> datetime | None:
    """When the report ``label`` (a period, ``year-N``) was last built, from the officers' copy; None: never."""
    try:
        document = json.loads((root / Grade.officers.value / label / "figures.json").read_text())
        return datetime.fromisoformat(document["generated_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_report(root: Path, doc: ReportDoc) -> dict[Grade, Path]:
    """Every audience's folder for ``doc`` (replacing an older build whole), and the indexes; the pages' paths."""
    with _one_writer(root):
        return _write_report(root, doc)


def _write_report(root: Path, doc: ReportDoc) -> dict[Grade, Path]:
    written = {}
    for audience in AUDIENCES:
        figures = [f for f in doc.figures if visible_to(f.grade, audience)]
        plots = {name for f in figures for name in f.plots}
        files: dict[str, bytes] = {
            "index.html": page_html(doc, audience, figures).encode(),
            "figures.json": json.dumps(
                {
                    "report": doc.label,
                    "title": doc.title,
                    "subtitle": doc.subtitle,
                    "audience": audience.value,
                    "generated_at": doc.generated_at.isoformat(),
                    "suppressed_below": doc.threshold,
                    "figures": [figure_json(f) for f in figures],
                },
                indent=2,
            ).encode(),
        }
        files |= {f"{f.id}.csv": figure_csv(f).encode() for f in figures}
        files |= {f"{name}.png": doc.plots[name] for name in sorted(plots)}
        written[audience] = _replace_folder(root / audience.value / doc.label, files) / "index.html"
        _write_index(root / audience.value, audience)
    _write_top_index(root)
    return written


def _replace_folder(folder: Path, files: Mapping[str, bytes]) -> Path:
    """Write ``files`` into a new folder beside ``folder``, then swap it in: a reader never sees half a report."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    for name, content in files.items():
        (fresh / name).write_bytes(content)
    os.chmod(fresh, 0o755)
    old = Path(tempfile.mkdtemp(prefix=f".{folder.name}-old-", dir=folder.parent))
    if folder.exists():
        folder.replace(old / folder.name)
    fresh.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder


def _write_index(folder: Path, audience: Grade) -> None:
    names = [p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    years = sorted((n for n in names if n.startswith("year-")), key=lambda n: int(n.split("-")[1]), reverse=True)
    months = sorted((n for n in names if not n.startswith("year-")), reverse=True)
    items = "".join(f'<li><a href="{_e(n)}/index.html">{_e(_label(n))}</a></li>' for n in [*years, *months])
    text = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        f"<title>Alliance reports for {_e(AUDIENCE_NAMES[audience])}</title><style>{_STYLE}</style></head>"
        f'<body><h1>Alliance reports</h1><p class="sub">For {_e(AUDIENCE_NAMES[audience])}.</p>'
        f"<ul>{items}</ul></body></html>\n"
    )
    _atomic_write(folder / "index.html", text.encode())


def _label(name: str) -> str:
    return f"Contract year {name.split('-')[1]}" if name.startswith("year-") else f"Month {name}"


def _write_top_index(root: Path) -> None:
    items = "".join(
        f'<li><a href="{a.value}/index.html">{_e(AUDIENCE_NAMES[a].capitalize())}</a> ({a.value})</li>'
        for a in AUDIENCES
    )
    text = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        f"<title>Alliance reports</title><style>{_STYLE}</style></head><body><h1>Alliance reports</h1>"
        "<p>Publish the <code>public</code> folder; <code>alliance</code> is for partners, the commissioner and the "
        f"board; <code>officers</code> for the alliance office.</p><ul>{items}</ul></body></html>\n"
    )
    _atomic_write(root / "index.html", text.encode())


def _atomic_write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(content)
    temporary.replace(path)
