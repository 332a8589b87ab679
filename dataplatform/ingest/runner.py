"""One ingest call for one dataset: resume or start, run the source, then continue or finish the manifest.

The continuation cursor is an envelope {previous, next_part, position, rows, bytes, files}; `position` belongs to
the source. Every call first takes (fresh start) or renews (continuation) the (run, dataset) lease
(dataplatform/lease.py), so two executions of one window never write the same raw prefix. A call that fails
removes what it wrote (earlier calls' parts stay, so retrying the same cursor works; a call that died without
undoing is cleaned up by the next one). Parts are checked against their sidecars before the manifest is written.
A fresh start of a run that committed the dataset returns its manifest without extracting again; of a run that
did not commit, it clears that run's raw data for the dataset and extracts again from the committed state
(docs/contracts.md, "Re-ingest").
"""

from __future__ import annotations

import json
from typing import Any

from dataplatform.config.models import Dataset, PipelineConfig
from dataplatform.config.sources import source_kind
from dataplatform.ingest.base import UNLIMITED, IngestRequest, IngestResult, SourceJob, SourceServices, TimeBudget
from dataplatform.ingest.raw_writer import RawDeleteError, RawWriter
from dataplatform.ingest.secrets import SecretReader, SecretsManagerReader
from dataplatform.layout import Lake
from dataplatform.lease import INGEST_TTL, RUN_TTL, LeaseLostError, LeaseStore
from dataplatform.manifest import RawFile, RawManifest
from dataplatform.state import StateStore


def make_extractor(dataset: Dataset, s3: Any, lake: Lake, secrets: SecretReader) -> Any:
    """The registered extractor of the dataset's source kind (its module is imported only now)."""
    extractor = source_kind(dataset.source.kind).load_extractor()
    return extractor.for_dataset(dataset, SourceServices(s3=s3, lake=lake, secrets=secrets))


def _result(request: IngestRequest, manifest: RawManifest, uri: str) -> IngestResult:
    return IngestResult(
        dataset=request.dataset,
        run_id=request.run_id,
        status="done",
        cursor=None,
        manifest_uri=uri,
        rows=manifest.rows,
        bytes=manifest.bytes,
        files=len(manifest.files),
        rejected=len(manifest.source.get("rejected") or []),
    )


def run_ingest(
    request: IngestRequest,
    *,
    config: PipelineConfig,
    lake: Lake,
    s3: Any,
    budget: TimeBudget = UNLIMITED,
    secrets: SecretReader | None = None,
    extractor: Any | None = None,
    expected_kind: str | None = None,
    on_part: Any | None = None,
) -> IngestResult:
    if request.dataset not in config.datasets:
        raise ValueError(f"unknown dataset '{request.dataset}'; pipeline.yaml has: {', '.join(config.datasets)}")
    dataset = config.datasets[request.dataset]
    kind = dataset.source.kind
    if expected_kind is not None and kind != expected_kind:
        raise ValueError(f"dataset '{request.dataset}' is a {kind} source, not {expected_kind}")
    raw_format = source_kind(kind).raw_format
    writer = RawWriter(s3, lake, request.dataset, request.ingest_date, request.run_id, raw_format, request.owner)
    leases = LeaseStore(s3, lake)
    lease_of = (request.run_id, request.dataset, request.owner)
    envelope = request.cursor
    if envelope is None:
        # One writer per (run, dataset): another execution of the same window that holds the lease makes this
        # call fail (LeaseHeldError, naming it) before anything is read or cleared.
        leases.acquire(*lease_of, INGEST_TTL)
        state, _ = StateStore(s3, lake).read(request.dataset)
        existing = writer.read_manifest()
        if existing is not None and state is not None and state.run_id == request.run_id:
            # This run committed the dataset: running it again changes nothing.
            leases.renew(*lease_of, RUN_TTL, "ingested")
            result = _result(request, existing, lake.manifest_uri(request.dataset, request.ingest_date, request.run_id))
            _record(s3, lake, result)
            return result
        # A run that never committed (it failed, or stopped) re-reads its sources: a corrected or newly landed
        # file, or records that arrived since, are picked up, and its earlier raw data is replaced.
        writer.clear_run()
        envelope = {"previous": state.watermark if state else None, "next_part": 0, "position": None}
    else:
        leases.renew(*lease_of, INGEST_TTL)
        writer.clear_parts_from(envelope["next_part"])  # a call that died (Lambda timeout) left these
    envelope = {"rows": 0, "bytes": 0, "files": 0, **envelope}

    def part_done(raw_file: RawFile) -> None:
        envelope["rows"] += raw_file.rows
        envelope["bytes"] += raw_file.bytes
        envelope["files"] += 1
        if on_part is not None:
            on_part(raw_file)

    job = SourceJob(
        dataset=request.dataset,
        request=request,
        previous_watermark=envelope["previous"],
        position=envelope["position"],
        budget=budget,
        writer=writer,
        next_part=envelope["next_part"],
        on_part=part_done,
    )
    source = extractor or make_extractor(dataset, s3, lake, secrets or SecretsManagerReader())
    try:
        progress = source.run(job)
        if not progress.done:
            cursor = {**envelope, "next_part": job.next_part, "position": progress.position}
            return IngestResult(
                dataset=request.dataset,
                run_id=request.run_id,
                status="continue",
                cursor=cursor,
                manifest_uri=None,
                rows=envelope["rows"],
                bytes=envelope["bytes"],
                files=envelope["files"],
            )
        files = writer.verified_parts()
        leases.renew(*lease_of, RUN_TTL, "ingested")  # still ours: nobody took over while this call wrote
        manifest, uri = writer.write_manifest(
            progress.source_info, progress.schema, envelope["previous"], progress.proposed_watermark, files
        )
    except LeaseLostError:
        raise  # the prefix is another execution's now: deleting "our" keys would delete its parts
    except BaseException as exc:
        try:
            writer.discard_this_call()
        except RawDeleteError as cleanup:  # the original error stays the one raised
            exc.add_note(f"and undoing this call's writes failed: {cleanup}")
        raise
    result = _result(request, manifest, uri)
    _record(s3, lake, result)
    return result


def _record(s3: Any, lake: Lake, result: IngestResult) -> None:
    """runs/<run_id>/<dataset>/ingest.json: how commit_state and the audit find this run's manifest."""
    s3.put_object(
        Bucket=lake.curated_bucket,
        Key=lake.run_step_key(result.run_id, result.dataset, "ingest"),
        Body=json.dumps(result.to_dict()).encode(),
        ContentType="application/json",
    )
