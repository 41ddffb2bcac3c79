"""The printable Your Voice questionnaire: an A4 HTML page built from the framework (printed to PDF by
:mod:`helpers.surfaces.questionnaire`).

Every question comes from :func:`helpers.store.questionnaire_form.sections`, which is the survey file's
columns in order with the intake's codes and the printed labels, so a returned questionnaire is keyed
into the data-entry template (``template survey-entry``) question by question. Each answer box carries the
column it fills (``data-column``) and the code it stands for (``data-code``), and the small number under a
box is that code: what the person keying it in types, if not the label.

``large_print``: 16 point text or larger throughout, bigger tick boxes, one statement to a block with its
five answers beneath it rather than a five-column grid (RNIB's clear-print guidance: at least 16 point,
left-aligned, no text over images).
"""

from __future__ import annotations

import base64
import mimetypes
from html import escape

from ..config import paths
from ..config.framework import Framework
from ..config.questionnaire import questionnaire_text
from ..store.questionnaire_form import Question, Section, sections

CSS = """
@page { size: A4; }
* { box-sizing: border-box; }
body { font-family: Arial, "Liberation Sans", Helvetica, sans-serif; font-size: 11pt; line-height: 1.35;
       color: #000; margin: 0; }
header { display: flex; justify-content: space-between; align-items: flex-start; gap: 8mm; margin-bottom: 4mm; }
header img { max-height: 22mm; max-width: 60mm; }
h1 { font-size: 22pt; margin: 0 0 1mm 0; }
h2 { font-size: 14pt; margin: 6mm 0 2mm 0; border-bottom: 0.6mm solid #000; padding-bottom: 1mm;
     break-after: avoid; }
.council { font-size: 12pt; font-weight: bold; }
.office { border: 0.4mm solid #000; padding: 2mm 3mm; min-width: 70mm; font-size: 9pt; }
.office .field { display: flex; align-items: flex-end; gap: 2mm; margin-top: 2mm; }
.office .line { flex: 1; border-bottom: 0.3mm solid #000; height: 6mm; }
.intro p { margin: 0 0 2mm 0; }
.lead { font-weight: bold; margin: 2mm 0; break-after: avoid; }
table.grid { width: 100%; border-collapse: collapse; }
table.grid th, table.grid td { border-bottom: 0.2mm solid #999; padding: 1.2mm 1mm; vertical-align: middle; }
table.grid th { font-size: 8.5pt; font-weight: bold; text-align: center; width: 15mm; }
table.grid th.statement, table.grid td.statement { text-align: left; width: auto; }
table.grid tr { break-inside: avoid; }
td.box, .option { text-align: center; }
.tick { display: inline-block; width: 5mm; height: 5mm; border: 0.35mm solid #000; background: #fff;
        vertical-align: middle; }
.code { display: block; font-size: 6.5pt; color: #444; }
.question { margin: 3mm 0; break-inside: avoid; }
.question .text { font-weight: bold; margin-bottom: 1.5mm; }
.options { display: flex; flex-wrap: wrap; gap: 1.5mm 6mm; }
.option { display: inline-flex; align-items: center; gap: 1.5mm; text-align: left; }
.option .code { display: inline; margin-left: 0.5mm; }
.number-boxes { display: inline-flex; gap: 1mm; vertical-align: middle; }
.number-boxes .digit { width: 7mm; height: 8mm; border: 0.35mm solid #000; display: inline-block; }
.range { font-size: 9pt; color: #333; margin-left: 2mm; }
.scale { display: flex; gap: 2mm; align-items: flex-end; }
.scale .option { flex-direction: column; gap: 0.5mm; text-align: center; }
.scale .option .code { margin-left: 0; }
.rows .row { display: flex; flex-wrap: wrap; align-items: center; gap: 1.5mm 5mm; padding: 1.5mm 0;
             border-bottom: 0.2mm solid #999; break-inside: avoid; }
.rows .row .item { width: 62mm; }
.return { margin-top: 6mm; border: 0.4mm solid #000; padding: 3mm 4mm; break-inside: avoid; }
.return h2 { border: 0; margin-top: 0; }
.thanks { font-weight: bold; font-size: 13pt; }
"""

LARGE_PRINT_CSS = """
body { font-size: 16pt; line-height: 1.4; }
h1 { font-size: 28pt; }
h2 { font-size: 20pt; }
.council { font-size: 18pt; }
.office { font-size: 14pt; min-width: 90mm; }
.office .line { height: 10mm; }
.tick { width: 9mm; height: 9mm; border-width: 0.6mm; }
.code { font-size: 12pt; color: #000; }
.statement-block { margin: 4mm 0; padding-bottom: 3mm; border-bottom: 0.3mm solid #000; break-inside: avoid; }
.statement-block .text { font-weight: bold; margin-bottom: 2mm; }
.options { flex-direction: column; gap: 2.5mm; }
.option { gap: 3mm; }
.number-boxes .digit { width: 11mm; height: 12mm; }
.range { font-size: 14pt; }
.rows .row { flex-direction: column; align-items: flex-start; }
.rows .row .item { width: auto; font-weight: bold; }
.scale { flex-wrap: wrap; gap: 3mm; }
.thanks { font-size: 18pt; }
"""


def _logo(fw: Framework) -> str:
    """The council's logo (settings.yaml) inlined as a data URI, so the page needs no other file."""
    logo = fw.settings.council.logo
    if not logo:
        return ""
    path = paths.resolve(logo)
    if not path.is_file():
        return ""
    kind = mimetypes.guess_type(path.name)[0] or "image/png"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:{kind};base64,{data}" alt="{escape(fw.settings.council.name)} logo">'


def _tick(q: Question, code: object, label: str) -> str:
    return (
        f'<span class="tick" role="img" aria-label="{escape(label)}" data-column="{escape(q.column)}" '
        f'data-code="{escape(str(code))}"></span>'
    )


def _option(q: Question, code: object, label: str) -> str:
    shown_code = "" if str(code) == label else f'<span class="code">({escape(str(code))})</span>'
    return f'<span class="option">{_tick(q, code, label)}<span class="label">{escape(label)}</span>{shown_code}</span>'


def _number(q: Question, large: bool) -> str:
    digits = len(str(q.maximum)) if q.maximum is not None else 3
    boxes = "".join('<span class="digit"></span>' for _ in range(digits))
    span = f"{q.minimum} to {q.maximum}" if q.minimum is not None and q.maximum is not None else ""
    range_text = f'<span class="range">(write a number from {span})</span>' if span else ""
    return f'<span class="number-boxes" data-column="{escape(q.column)}">{boxes}</span>{range_text}'


def _scale(q: Question, low: int, high: int) -> str:
    """Happiness 0-10: a row of boxes, each with its number; the ends labelled by the question's wording."""
    options = "".join(
        f'<span class="option">{_tick(q, n, str(n))}<span class="label">{n}</span></span>' for n in range(low, high + 1)
    )
    return f'<div class="scale" data-column="{escape(q.column)}">{options}</div>'


def _answer(q: Question, large: bool) -> str:
    if q.is_choice:
        return '<div class="options">' + "".join(_option(q, c, label) for c, label in q.choices) + "</div>"
    if q.maximum is not None and q.minimum is not None and q.maximum - q.minimum <= 10:
        return _scale(q, q.minimum, q.maximum)
    return _number(q, large)


def _grid(section: Section, large: bool) -> str:
    lead = f'<p class="lead">{escape(section.lead)}</p>'
    if large:
        blocks = "".join(
            f'<div class="statement-block" data-question="{escape(q.column)}">'
            f'<div class="text">{escape(q.number)}. <span class="wording">{escape(q.text)}</span></div>'
            f"{_answer(q, large)}</div>"
            for q in section.questions
        )
        return lead + blocks
    scale = section.questions[0].choices
    head = '<th class="statement" scope="col">Statement</th>' + "".join(
        f'<th scope="col">{escape(label)}<span class="code">({escape(str(code))})</span></th>' for code, label in scale
    )
    rows = "".join(
        f'<tr data-question="{escape(q.column)}"><td class="statement">{escape(q.number)}. '
        f'<span class="wording">{escape(q.text)}</span></td>'
        + "".join(f'<td class="box">{_tick(q, code, label)}</td>' for code, label in q.choices)
        + "</tr>"
        for q in section.questions
    )
    return lead + f'<table class="grid"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _rows(section: Section, large: bool) -> str:
    lead = f'<p class="lead">{escape(section.lead)}</p>'
    rows = "".join(
        f'<div class="row" data-question="{escape(q.column)}"><span class="item">{escape(q.number)}. '
        f'<span class="wording">{escape(q.text)}</span></span>{_answer(q, large)}</div>'
        for q in section.questions
    )
    return lead + f'<div class="rows">{rows}</div>'


def _singles(section: Section, large: bool) -> str:
    return "".join(
        f'<div class="question" data-question="{escape(q.column)}"><div class="text">{escape(q.number)}. '
        f'<span class="wording">{escape(q.text)}</span></div>{_answer(q, large)}</div>'
        for q in section.questions
    )


LAYOUTS = {"grid": _grid, "rows": _rows, "single": _singles}


def questionnaire_html(fw: Framework, *, large_print: bool = False) -> str:
    """The whole questionnaire as one self-contained HTML page (A4 when printed)."""
    text = questionnaire_text()
    council = fw.settings.council
    office = text.office
    title = fw.instrument.title
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB"><head><meta charset="utf-8">',
        f"<title>{escape(title)}{' (large print)' if large_print else ''} - {escape(council.name)}</title>",
        f"<style>{CSS}{LARGE_PRINT_CSS if large_print else ''}</style></head>",
        f'<body class="{"large-print" if large_print else "standard"}">',
        "<header><div>",
        _logo(fw),
        f'<div class="council">{escape(council.name)}</div>',
        f"<h1>{escape(title)}</h1>",
        "</div>",
        f'<div class="office" aria-label="{escape(office.heading)}"><strong>{escape(office.heading)}</strong>',
        f'<div class="field" data-column="respondent_id">{escape(office.reference)}: <span class="line"></span></div>',
        f'<div class="field" data-column="neighbourhood">{escape(office.neighbourhood)}: <span class="line"></span>'
        "</div></div>",
        "</header>",
        '<section class="intro">' + "".join(f"<p>{escape(text.filled(p, fw))}</p>" for p in text.introduction),
        "</section>",
    ]
    for section in sections(fw):
        parts.append(f'<section data-section="{escape(section.id)}"><h2>{escape(section.heading)}</h2>')
        parts.append(LAYOUTS[section.layout](section, large_print))
        parts.append("</section>")
    ret = text.return_
    by_mode = "".join(
        f"<p>{escape(text.filled(ret.by_mode[str(m.code)], fw))}</p>"
        for m in fw.instrument.modes
        if str(m.code) in ret.by_mode
    )
    contact = f"<p>{escape(council.contact)}</p>" if council.contact else ""
    parts.append(
        f'<section class="return"><h2>{escape(ret.heading)}</h2>{by_mode}{contact}'
        f'<p class="thanks">{escape(text.filled(ret.thanks, fw))}</p></section>'
    )
    parts.append("</body></html>")
    return "\n".join(parts)
