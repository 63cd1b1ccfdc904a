"""The people of an extract's accepted rows: their keys, their ages, and their numbers in order
of first appearance (after `checking` has put the rows with a problem in `flagged` and left
the accepted ones in `parsed`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from joinedup.analytics.extract_scoring.specs import Reject
from joinedup.analytics.extract_scoring.sql import query_count, trimmed
from joinedup.analytics.extract_scoring.writing import file_order

if TYPE_CHECKING:
    import duckdb


def flagged_columns(header: dict[str, int]) -> str:
    """The columns of `flagged` but its reason, from `extract_lines` (``e``)."""
    age = "age_values.meaning" if "age" in header else "NULL::BIGINT"
    values = ", ".join(f"e.{name}" for name in file_order(header))
    person = trimmed("e.person_id")
    return f"e.n, e.line, {person} AS person, e.person_hash, {values}, {age} AS age_value"


def age_join(header: dict[str, int], table: str) -> str:
    """The join giving what each row's age means (`age_values.meaning`), if ages are given."""
    if "age" not in header:
        return ""
    return f"LEFT JOIN age_values ON coalesce({table}.age, '') = age_values.given"


def accepted_view(con: duckdb.DuckDBPyConnection, header: dict[str, int], *, dates: bool) -> None:
    """`accepted`: the rows left in `parsed` (each accepted), with their row number, key,
    person_id and code as written and what their date (when `dates`) and age mean."""
    columns = ["p.rowid AS n", "p.person_hash", "p.person_id", "p.code"]
    joins = []
    if "age" not in header:
        columns.append("NULL::BIGINT AS age_value")
    elif query_count(
        con,
        "SELECT count(*) FROM age_values WHERE problem IS NULL AND given <> '' "
        "AND NOT regexp_full_match(given, '[0-9]+')",
    ):
        columns.append("age_values.meaning AS age_value")
        joins.append(age_join(header, "p"))
    else:  # every age as plain digits: read as written (no join of every row to its meaning)
        columns.append("TRY_CAST(p.age AS BIGINT) AS age_value")  # '' (or none): none
    if "date" in header and dates:
        columns.append("date_values.meaning AS date_value")
        joins.append("LEFT JOIN date_values ON coalesce(p.date, '') = date_values.given")
    elif dates:
        columns.append("NULL::DATE AS date_value")
    con.execute(
        f"CREATE OR REPLACE VIEW accepted AS SELECT {', '.join(columns)} FROM parsed AS p "
        + " ".join(joins)
    )


def count_persons(con: duckdb.DuckDBPyConnection, *, spaced: bool = True) -> None:
    """`persons`: each person of the accepted rows (grouped by identifier, so exactly), with
    their key, first row (which also numbers them, in order of first appearance) and ages.

    Grouped by the identifier as written; merged by the identifier less the spaces around it
    only when an identifier has any (grouping a million rows by an expression costs more),
    which none can when the file holds no space after its header (not `spaced`)."""
    con.execute(
        "CREATE OR REPLACE TABLE written AS SELECT person_id, any_value(person_hash) AS "
        "person_hash, min(n) AS first_n, min(age_value) AS youngest, max(age_value) AS oldest "
        "FROM accepted GROUP BY person_id"
    )
    if not spaced or not query_count(
        con,
        "SELECT count(*) FROM written WHERE starts_with(person_id, ' ') "
        "OR ends_with(person_id, ' ')",
    ):
        con.execute(
            "CREATE OR REPLACE VIEW persons AS SELECT person_id AS identifier, "
            "* EXCLUDE (person_id) FROM written"
        )
        return
    con.execute(
        f"CREATE OR REPLACE VIEW persons AS SELECT {trimmed('person_id')} AS identifier, "
        "any_value(person_hash) AS person_hash, min(first_n) AS first_n, "
        "min(youngest) AS youngest, max(oldest) AS oldest FROM written GROUP BY identifier"
    )


def keys_shared(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether two identifiers (on accepted or rejected rows) share a key."""
    return bool(
        query_count(con, "SELECT count(*) - count(DISTINCT person_hash) FROM persons")
        or query_count(
            con,
            "SELECT count(*) FROM flagged AS f JOIN persons AS p USING (person_hash) "
            "WHERE f.person <> p.identifier",
        )
    )


def key_by_number(con: duckdb.DuckDBPyConnection) -> None:
    """Give each identifier its number (in text order) as its key, on every row."""
    con.execute(
        f"CREATE TABLE person_numbers AS SELECT person, row_number() OVER (ORDER BY person) "
        f"AS number FROM (SELECT {trimmed('person_id')} AS person FROM parsed "
        "UNION SELECT person FROM flagged)"
    )
    con.execute(
        "UPDATE parsed SET person_hash = k.number FROM person_numbers AS k "
        f"WHERE k.person = {trimmed('parsed.person_id')}"
    )
    con.execute(
        "UPDATE flagged SET person_hash = k.number FROM person_numbers AS k "
        "WHERE k.person = flagged.person"
    )


def refuse_second_ages(con: duckdb.DuckDBPyConnection, header: dict[str, int]) -> bool:
    """The first accepted row with an age sets the person's age; a later row (accepted or not)
    with another age is refused, saying so. Returns whether any row was (the accepted ones are
    then moved from `parsed` to `flagged`)."""
    # Only people given two ages are looked at: on their accepted rows, or beside a rejected row.
    con.execute(
        "CREATE TABLE two_ages AS SELECT person_hash FROM persons WHERE youngest <> oldest "
        "UNION SELECT person_hash FROM flagged AS f JOIN persons AS p USING (person_hash) "
        "WHERE f.age_value <> p.youngest"
    )
    if not query_count(con, "SELECT count(*) FROM two_ages"):
        return False
    con.execute(
        "CREATE TABLE first_age AS SELECT person_hash, arg_min(age_value, n) AS age, "
        "min(n) AS n FROM accepted WHERE age_value IS NOT NULL "
        "AND person_hash IN (SELECT person_hash FROM two_ages) GROUP BY person_hash"
    )
    reason = (
        "'age ' || f.age_value || ' differs from age ' || a.age || ' given for the same '"
        " || 'person on row ' || e.line || '; give one age per person (at the index date)'"
    )
    con.execute(
        f"""
        CREATE TABLE refused AS
        SELECT f.n, {reason} AS reason FROM (
            SELECT n, person_hash, age_value FROM accepted
            WHERE person_hash IN (SELECT person_hash FROM first_age)
            UNION ALL SELECT n, person_hash, age_value FROM flagged
        ) AS f JOIN first_age AS a USING (person_hash) JOIN extract_lines AS e ON e.n = a.n
        WHERE f.age_value <> a.age AND f.n > a.n
        """
    )
    con.execute(
        "UPDATE flagged SET reason = concat_ws('; ', flagged.reason, r.reason) "
        "FROM refused AS r WHERE r.n = flagged.n"
    )
    con.execute(
        f"INSERT INTO flagged SELECT {flagged_columns(header)}, r.reason FROM extract_lines AS e "
        f"JOIN refused AS r USING (n) {age_join(header, 'e')} "
        "WHERE e.n NOT IN (SELECT n FROM flagged)"
    )
    con.execute("DELETE FROM parsed WHERE rowid IN (SELECT n FROM refused)")
    return True


def people_not_scored(con: duckdb.DuckDBPyConnection, structural: list[Reject]) -> int:
    """People named on a rejected row and on no accepted one."""
    unreadable = {r.values.get("person_id", "").strip() for r in structural} - {""}
    con.execute(
        "CREATE TABLE unreadable AS SELECT unnest($people) AS person",
        {"people": sorted(unreadable) or [""]},
    )
    return query_count(
        con,
        # (the few people of the rejected rows looked up among everyone, not the reverse)
        "WITH u AS (SELECT person FROM flagged UNION SELECT person FROM unreadable), "
        "scored AS (SELECT identifier FROM persons WHERE identifier IN (SELECT person FROM u)) "
        "SELECT count(*) FROM u WHERE person <> '' "
        "AND person NOT IN (SELECT identifier FROM scored)",
    )
