"""What a section is: a value, made once, that every surface renders.

A section function (``helpers.presentation.sections``) takes the data context and a selection and returns a
:class:`Section`: its title, a one-sentence headline, and an ordered list of blocks: paragraphs, lists of
points (bullets), tables (a
caption, the display frame a reader sees and the tidy frame a CSV download gives), charts (an image with its
text alternative) and consented stories. The batch renders it as static HTML, the dashboards as a widget
(``helpers.presentation.render``); neither adds numbers or words of its own.

A section holds no figure objects: a chart is drawn to an image when it is added, and the figure is closed,
so sections are small, picklable (the batch shares them between kernels) and never leak memory.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class Paragraph:
    text: str
    # "" (body), "lead", "note" (a caveat), "method" (how the figures were made: a printed report moves it to
    # its annex with the section's tables) or "message" (nothing to show)
    kind: str = ""


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]  # one point each, in the order a reader should read them
    kind: str = ""  # "" (body) or "findings" (a report's key findings)


@dataclass(frozen=True)
class Table:
    key: str  # short name: the download's file name and the table's id
    caption: str
    display: pd.DataFrame  # what the reader sees: formatted strings, named columns
    tidy: pd.DataFrame | None = None  # what a download gives: numbers, one row per thing


@dataclass(frozen=True)
class Chart:
    png: str  # the image, base64: an SVG or a PNG (``mime`` says which; the name is from when all were PNG)
    alt: str  # the text alternative: every figure the chart shows, in words
    mime: str = "image/png"  # "image/svg+xml" (what :func:`draw` makes) or "image/png"


@dataclass(frozen=True)
class Story:
    title: str
    text: str  # shown only when its teller consented (the data layer never returns another)


Block = Paragraph | Bullets | Table | Chart | Story


# SVG as drawn by :func:`draw`: glyphs as paths (the report needs no font where it is read) and a fixed salt
# for the ids matplotlib gives clip paths, so that the same figure always gives the same bytes.
SVG_STYLE = {"svg.fonttype": "path", "svg.hashsalt": "workbook-chart"}


def draw(fig, alt: str, dpi: int = 200, format: str = "svg") -> Chart:
    """A matplotlib figure as a :class:`Chart`; the figure is closed.

    SVG by default: sharp at any print size and about half the bytes of a 200 dpi PNG, with no date in it, so
    the same figure gives the same bytes on every run. ``format="png"``: a PNG at ``dpi`` (200 prints sharp).
    The image keeps the figure's size (an SVG is as wide in print as the figure is in inches)."""
    import matplotlib
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    if fig.get_layout_engine() is None:
        fig.set_layout_engine("tight")  # cheaper than savefig(bbox_inches="tight"), which draws twice
    if format == "svg":
        with matplotlib.rc_context(SVG_STYLE):
            fig.savefig(buffer, format="svg", metadata={"Date": None})
        mime = "image/svg+xml"
    else:
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
        mime = "image/png"
    plt.close(fig)
    return Chart(base64.b64encode(buffer.getvalue()).decode("ascii"), alt, mime)


@dataclass
class Section:
    """One reader-facing section: built with the methods below, rendered by ``helpers.presentation.render``."""

    title: str = ""
    headline: str = ""
    blocks: list[Block] = field(default_factory=list)
    downloads: str = ""  # a file-name stem: when set, each table with a tidy frame gets a CSV download link
    # when set, a report page shows this note in place of the tables and method notes (they are in its annex)
    tables_elsewhere: str = ""

    def text(self, words: str, kind: str = "") -> Section:
        self.blocks.append(Paragraph(words, kind))
        return self

    def note(self, words: str) -> Section:
        return self.text(words, "note")

    def method(self, words: str) -> Section:
        """How the section's figures were made: beside them on a dashboard, in the annex of a printed report."""
        return self.text(words, "method")

    def message(self, words: str) -> Section:
        return self.text(words, "message")

    def bullets(self, items, kind: str = "") -> Section:
        """A list of points (nothing when ``items`` is empty)."""
        if items:
            self.blocks.append(Bullets(tuple(items), kind))
        return self

    def table(self, key: str, display: pd.DataFrame, caption: str, tidy: pd.DataFrame | None = None) -> Section:
        self.blocks.append(Table(key, caption, display.reset_index(drop=True), tidy))
        return self

    def chart(self, fig, alt: str) -> Section:
        self.blocks.append(draw(fig, alt))
        return self

    def story(self, title: str, text: str) -> Section:
        self.blocks.append(Story(title, text))
        return self

    def extend(self, other: Section) -> Section:
        self.blocks.extend(other.blocks)
        return self

    @property
    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    @property
    def charts(self) -> list[Chart]:
        return [b for b in self.blocks if isinstance(b, Chart)]

    @property
    def notes(self) -> list[str]:
        return [b.text for b in self.blocks if isinstance(b, Paragraph) and b.kind in ("note", "method")]

    @property
    def methods(self) -> list[Paragraph]:
        """The method notes: what a printed report shows in its annex rather than beside the figures."""
        return [b for b in self.blocks if isinstance(b, Paragraph) and b.kind == "method"]

    @property
    def paragraphs(self) -> list[str]:
        return [b.text for b in self.blocks if isinstance(b, Paragraph)]

    @property
    def points(self) -> list[str]:
        """Every bullet point, in order."""
        return [item for b in self.blocks if isinstance(b, Bullets) for item in b.items]

    def _repr_html_(self) -> str:  # JupyterLab, nbconvert and Voila show a section through this
        from .render import to_html

        return to_html(self, downloads=self.downloads or None, tables_elsewhere=self.tables_elsewhere)
