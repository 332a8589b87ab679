"""Athena engine v3 conformance: every entry of dataplatform/athena/conformance.yaml, against the local engine.

An entry either returns exactly the result and types Trino documents, or fails with exactly
`not supported by the local engine: <construct>`; anything else (another value or type, another error, a
traceback) fails the test and counts as wrong in the summary line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dataplatform.athena.conformance import DOC, Entry, load_entries, render_doc
from dataplatform.athena.engine import AthenaNotSupportedError, AthenaQueryError, LocalAthena
from dataplatform.athena.macros import REFUSAL
from dataplatform.config import load_config
from tests.component.athena_support import BUCKET, clean_data, deployment_sql_files, write_lake_dir
from tests.conformance.athena_values import expected_value, normalize_type, parse_type, same
from tests.conformance.conftest import OUTCOMES

ROOT = Path(__file__).resolve().parents[2]
CONFIG = load_config(ROOT / "pipeline.yaml")
ENTRIES = load_entries()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAthena]:
    """The conformance lake: the fixture's curated tables, the audit table and the marts views."""
    lake = tmp_path_factory.mktemp("conformance-lake")
    write_lake_dir(lake, CONFIG, clean_data())
    with LocalAthena.from_lake_dir(lake, CONFIG, curated_bucket=BUCKET) as athena:
        for sql_file in deployment_sql_files():
            if sql_file.kind != "assertion":
                athena.run_file(sql_file)
        yield athena


def outcome(engine: LocalAthena, entry: Entry) -> str:
    try:
        result = engine.execute(entry.sql)
    except AthenaNotSupportedError as exc:
        assert entry.refused is not None, f"refused, but Athena answers {entry.result or entry.error}: {exc}"
        assert str(exc) == REFUSAL + entry.refused
        return "refused"
    except AthenaQueryError as exc:
        assert entry.error is not None and entry.refused is None, f"failed where Athena answers: {exc}"
        return "match"
    assert entry.refused is None, f"answered {result.rows} ({result.types}) instead of refusing {entry.refused}"
    assert entry.error is None, f"answered {result.rows} where Athena fails with {entry.error}"
    assert entry.result is not None and entry.types is not None
    assert [normalize_type(t) for t in result.types] == [normalize_type(t) for t in entry.types]
    assert len(result.rows) == len(entry.result)
    if not entry.nondeterministic:
        types = [parse_type(t) for t in entry.types]
        expected = [tuple(expected_value(v, t) for v, t in zip(row, types, strict=True)) for row in entry.result]
        assert all(map(same, expected, result.rows)), f"{result.rows} != expected {expected}"
    return "match"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_entry(engine: LocalAthena, entry: Entry) -> None:
    OUTCOMES[entry.id] = outcome(engine, entry)


def test_the_table_is_large_and_consistent() -> None:
    assert len(ENTRIES) >= 150
    for entry in ENTRIES:
        if entry.supported and entry.result is not None and entry.types is not None:
            types = [parse_type(t) for t in entry.types]
            for row in entry.result:  # every expected value is written so that its type can be checked exactly
                [expected_value(v, t) for v, t in zip(row, types, strict=True)]


def test_docs_local_athena_is_generated_from_the_table() -> None:
    assert DOC.read_text(encoding="utf-8") == render_doc(ENTRIES), "run: python -m dataplatform.athena.conformance"


def test_entries_keep_their_answer_as_persisted_views(tmp_path: Path) -> None:
    """A view stores its query as Trino SQL in the catalog; a fresh engine maps it through the same dialect layer.

    A sample of the supported entries becomes views in one engine; a second engine over the same lake (as
    `dataplatform query` after a demo) must map every view and return the expected rows and types.
    """
    sample = [
        e
        for e in ENTRIES
        if e.supported and e.result is not None and not (e.fixture or e.nondeterministic)
        and e.sql.upper().startswith("SELECT")
    ][::12]  # fmt: skip
    write_lake_dir(tmp_path, CONFIG, {})
    with LocalAthena.from_lake_dir(tmp_path, CONFIG) as first:
        for i, entry in enumerate(sample):
            first.execute(f"CREATE OR REPLACE VIEW marts.v{i} AS {entry.sql}")
    with LocalAthena.from_lake_dir(tmp_path, CONFIG) as fresh:
        assert fresh.skipped == {}
        for i, entry in enumerate(sample):
            result = fresh.execute(f"SELECT * FROM marts.v{i}")
            assert entry.types is not None and entry.result is not None
            assert [normalize_type(t) for t in result.types] == [normalize_type(t) for t in entry.types], entry.id
            types = [parse_type(t) for t in entry.types]
            expected = [tuple(expected_value(v, t) for v, t in zip(row, types, strict=True)) for row in entry.result]
            assert all(map(same, expected, result.rows)), (entry.id, result.rows)
