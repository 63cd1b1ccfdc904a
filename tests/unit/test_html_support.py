"""The shared page reader of the tests (`tests.html_support`), on a table written by hand."""

from __future__ import annotations

from tests.html_support import find_table, html_table, page_row, page_text

PAGE = """<main><p>Before &amp; after</p>
<table class="nhsuk-table" id="practices">
  <caption class="nhsuk-table__caption">People by <b>practice</b></caption>
  <thead><tr><th>Practice</th><th>People</th></tr></thead>
  <tbody>
    <tr data-key="P1"><td data-figure="name">Oak <span>Lane</span></td>
      <td class="nhsuk-table__cell--numeric" data-figure="people">1,205</td></tr>
    <tr data-key="P2"><td data-figure="name">Elm &amp; Ash</td>
      <td data-figure="people">withheld</td></tr>
  </tbody>
</table></main>"""


def test_rows_cells_and_text_come_from_the_markup() -> None:
    table = html_table(PAGE, "practices")
    assert table.caption == "People by practice"
    assert [r.in_body for r in table.rows] == [False, True, True]
    assert [c.tag for c in table.rows[0].cells] == ["th", "th"]
    assert table.keyed(("key",), ("figure",)) == {
        "P1": {"name": "Oak Lane", "people": "1,205"},
        "P2": {"name": "Elm & Ash", "people": "withheld"},
    }
    assert table.row("key", "P2").html.endswith('<td data-figure="people">withheld</td>')
    assert '">1,205<' in page_row(PAGE, "key", "P1").html


def test_a_table_is_found_by_caption_and_a_missing_one_is_none() -> None:
    assert html_table(PAGE, caption="People by practice").attrs["id"] == "practices"
    assert find_table(PAGE, "no-such-table") is None
    assert page_text(PAGE) == (
        "Before & after People by practice Practice People Oak Lane 1,205 Elm & Ash withheld"
    )
