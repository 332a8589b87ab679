"""Shapes shared by every ingestion source: the request, the result, the time budget and the errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from dataplatform.config.models import Contract
from dataplatform.layout import Lake, check_run_id
from dataplatform.lease import UNNAMED_OWNER
from dataplatform.manifest import RawFile, SchemaField
from dataplatform.transform.names import snake_case

if TYPE_CHECKING:
    from dataplatform.ingest.raw_writer import RawWriter
    from dataplatform.ingest.secrets import SecretReader


class IngestError(RuntimeError):
    """A source could not be ingested. The message names the dataset and what was wrong, never a secret."""


@dataclass(frozen=True)
class IngestRequest:
    """What the workflow asks for (docs/contracts.md, ingest_* input)."""

    dataset: str
    run_id: str
    window_start: date
    window_end: date
    ingest_date: date
    cursor: dict[str, Any] | None = None
    owner: str = UNNAMED_OWNER
    """Who writes the run's raw data for the dataset (the Step Functions execution name): the lease holder."""

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> IngestRequest:
        missing = [k for k in ("dataset", "run_id", "window", "ingest_date") if k not in event]
        if missing:
            raise ValueError(f"ingest event is missing {', '.join(missing)}; got keys {sorted(event)}")
        window = event["window"] or {}
        try:
            start, end = date.fromisoformat(window["start"]), date.fromisoformat(window["end"])
            ingest_date = date.fromisoformat(event["ingest_date"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"ingest event: window {{start, end}} and ingest_date must be ISO dates ({exc})") from exc
        cursor = event.get("cursor")
        if cursor is not None and not isinstance(cursor, dict):
            raise ValueError(f"ingest event: cursor must be an object or null, got {type(cursor).__name__}")
        return cls(
            dataset=str(event["dataset"]),
            run_id=check_run_id(str(event["run_id"])),
            window_start=start,
            window_end=end,
            ingest_date=ingest_date,
            cursor=cursor,
            owner=str(event.get("owner") or UNNAMED_OWNER),
        )


@dataclass
class IngestResult:
    """The small payload an ingest Lambda returns (URIs and counts, never data)."""

    dataset: str
    run_id: str
    status: Literal["done", "continue"]
    cursor: dict[str, Any] | None
    manifest_uri: str | None
    rows: int
    bytes: int
    files: int
    rejected: int = 0
    """Source files refused (CSV: moved to the rejected prefix with a reason); the run goes on with a warning."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TimeBudget:
    """Tells a source when to stop at a chunk boundary so the Lambda can return a continuation cursor.

    `remaining_s` is e.g. `lambda: context.get_remaining_time_in_millis() / 1000`; None means no limit.
    """

    def __init__(self, remaining_s: Callable[[], float] | None = None, margin_s: float = 60.0) -> None:
        self._remaining = remaining_s
        self.margin_s = margin_s

    def exhausted(self) -> bool:
        return self._remaining is not None and self._remaining() < self.margin_s


UNLIMITED = TimeBudget()


@dataclass
class Progress:
    """What a source returns from one call: either done (with what goes into the manifest) or a position."""

    done: bool
    position: dict[str, Any] | None = None
    """Source-specific resume point when not done (JSON-serialisable, small)."""
    proposed_watermark: str | None = None
    schema: list[SchemaField] = field(default_factory=list)
    source_info: dict[str, Any] = field(default_factory=dict)


@dataclass
class SourceJob:
    """Everything a source needs for one call."""

    dataset: str
    request: IngestRequest
    previous_watermark: str | None
    position: dict[str, Any] | None
    budget: TimeBudget
    writer: RawWriter
    next_part: int = 0
    """Index of the next part to write (parts of earlier calls keep theirs)."""
    on_part: Callable[[RawFile], None] | None = None
    """Called after each part is stored (logging; tests use it to inject faults at a part boundary)."""

    def part_written(self, raw_file: RawFile) -> None:
        self.next_part += 1
        if self.on_part is not None:
            self.on_part(raw_file)


@dataclass(frozen=True)
class SourceServices:
    """What an extractor may use. Each extractor class builds itself with `for_dataset(dataset, services)`
    (the registry in dataplatform.config.sources names the class) and takes only what it needs."""

    s3: Any
    lake: Lake
    secrets: SecretReader


def contract_column_test(contract: Contract) -> Callable[[str], bool]:
    """Whether a source column feeds a contract column, matched as standardize matches them (exact name,
    case-insensitive, or snake_case). Sources extract only these unless the contract's schema_drift is evolve."""
    sources = {c.source_name for c in contract.columns}
    lowered = {n.lower() for n in sources}
    names = {c.name for c in contract.columns}

    def wanted(column: str) -> bool:
        if column in sources or column.lower() in lowered:
            return True
        try:
            return snake_case(column) in names
        except ValueError:  # no letters or digits at all
            return False

    return wanted
