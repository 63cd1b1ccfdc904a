"""Reading what a page shows, for tests: its tables (rows, cells, their data attributes) and its
text. One parser — the standard library's `html.parser` — so every test finds rows and cells
the same way, and a change of markup breaks one helper rather than five copies of a regex.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


def page_text(fragment: str) -> str:
    """The text a person reads: tags gone (each a word break), entities decoded, runs of white
    space as one space."""
    parser = _TextParser()
    parser.feed(fragment)
    parser.close()
    return " ".join(" ".join(parser.chunks).split())


@dataclass
class Cell:
    """A <td> or <th> (`tag`): attributes, text (`page_text`) and inner HTML as served."""

    tag: str
    attrs: dict[str, str]
    text: str = ""
    html: str = ""

    def data(self, *names: str) -> str | None:
        """The value of the first of these data-* attributes the cell has."""
        return _first_data(self.attrs, names)


@dataclass
class Row:
    """A <tr>: its attributes, its cells, its inner HTML, and whether it is in the <tbody>."""

    attrs: dict[str, str]
    in_body: bool
    cells: list[Cell] = field(default_factory=list)
    html: str = ""

    def data(self, *names: str) -> str | None:
        """The value of the first of these data-* attributes the row has."""
        return _first_data(self.attrs, names)


@dataclass
class HtmlTable:
    """A <table>: its attributes, caption text and rows (header and body) in page order."""

    attrs: dict[str, str]
    caption: str = ""
    rows: list[Row] = field(default_factory=list)

    @property
    def body_rows(self) -> list[Row]:
        return [r for r in self.rows if r.in_body]

    def row(self, name: str, value: str) -> Row:
        """The row whose data-`name` is `value` (the test fails if there is none)."""
        found = [r for r in self.rows if r.attrs.get(f"data-{name}") == value]
        assert found, f"no row with data-{name}={value!r}"
        return found[0]

    def keyed(
        self, row_keys: tuple[str, ...], cell_keys: tuple[str, ...]
    ) -> dict[str, dict[str, str]]:
        """Rows by the first of `row_keys` they carry (as data-*), each a dict of its cells'
        text by the first of `cell_keys` the cell carries; rows and cells without one are left
        out."""
        keyed: dict[str, dict[str, str]] = {}
        for row in self.rows:
            key = row.data(*row_keys)
            if key is None:
                continue
            named = ((cell.data(*cell_keys), cell.text) for cell in row.cells)
            keyed[key] = {name: text for name, text in named if name is not None}
        return keyed


def html_tables(page: str) -> list[HtmlTable]:
    """Every (non-nested) table of the page, in order."""
    parser = _TableParser(page)
    parser.feed(page)
    parser.close()
    return parser.tables


def find_table(
    page: str, table_id: str | None = None, *, caption: str | None = None
) -> HtmlTable | None:
    """The table with this id, or with this caption text; None when the page has none."""
    for table in html_tables(page):
        if table_id is not None and table.attrs.get("id") == table_id:
            return table
        if caption is not None and table.caption == page_text(caption):
            return table
    return None


def html_table(page: str, table_id: str | None = None, *, caption: str | None = None) -> HtmlTable:
    """The table with this id, or with this caption text (the test fails if there is none)."""
    found = find_table(page, table_id, caption=caption)
    assert found is not None, f"no table {table_id or caption!r}"
    return found


def page_row(page: str, name: str, value: str) -> Row:
    """The first row of any table on the page whose data-`name` is `value`."""
    rows = (row for table in html_tables(page) for row in table.rows)
    found = next((row for row in rows if row.attrs.get(f"data-{name}") == value), None)
    assert found is not None, f"no row with data-{name}={value!r}"
    return found


def _first_data(attrs: dict[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        if f"data-{name}" in attrs:
            return attrs[f"data-{name}"]
    return None


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


class _TableParser(HTMLParser):
    """Collects tables with their rows and cells; inner HTML is cut from the page by offset."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.line_starts = [0] + [i + 1 for i, ch in enumerate(page) if ch == "\n"]
        self.tables: list[HtmlTable] = []
        self.table: HtmlTable | None = None
        self.depth = 0  # nested tables are read as part of their outer table's cells
        self.in_body = False
        self.row: Row | None = None
        self.cell: Cell | None = None
        self.starts: dict[str, int] = {}
        self.caption: list[str] | None = None

    def position(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def after_tag(self) -> int:
        return self.position() + len(self.get_starttag_text() or "")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "table":
            self.depth += 1
            if self.depth == 1:
                self.table = HtmlTable(values)
            return
        if self.table is None or self.depth > 1:
            return
        if tag == "tbody":
            self.in_body = True
        elif tag == "caption":
            self.caption = []
        elif tag == "tr":
            self.row = Row(values, self.in_body)
            self.starts["tr"] = self.after_tag()
        elif tag in ("td", "th") and self.row is not None:
            self.cell = Cell(tag, values)
            self.starts["cell"] = self.after_tag()

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.depth -= 1
            if self.depth == 0 and self.table is not None:
                self.tables.append(self.table)
                self.table, self.in_body = None, False
            return
        if self.table is None or self.depth > 1:
            return
        if tag == "tbody":
            self.in_body = False
        elif tag == "caption" and self.caption is not None:
            self.table.caption = " ".join(" ".join(self.caption).split())
            self.caption = None
        elif tag == "tr" and self.row is not None:
            self.row.html = self.page[self.starts["tr"] : self.position()]
            self.table.rows.append(self.row)
            self.row = None
        elif tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.cell.html = self.page[self.starts["cell"] : self.position()]
            self.cell.text = page_text(self.cell.html)
            self.row.cells.append(self.cell)
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.caption is not None:
            self.caption.append(data)
