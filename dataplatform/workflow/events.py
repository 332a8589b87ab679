"""The events the workflow's Lambda tasks receive (docs/contracts.md), as pydantic models for Powertools' parser."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dataplatform.workflow.quality import AssertionRef


class WorkflowEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(WorkflowEvent):
    start: str
    end: str


class ResolveRunEvent(WorkflowEvent):
    input: dict[str, Any] = Field(default_factory=dict)
    """The execution input (validated as a RunRequest by resolve_run)."""
    started_at: str
    """`$$.Execution.StartTime`."""


class CommitStateEvent(WorkflowEvent):
    run_id: str
    datasets: list[str]
    owner: str | None = None
    """`$$.Execution.Name`: whose (run, dataset) leases the commit releases (dataplatform/lease.py)."""


class RunError(WorkflowEvent):
    step: str
    cause: str


class WriteAuditEvent(WorkflowEvent):
    run_id: str
    window: Window
    datasets: list[str]
    status: Literal["SUCCEEDED", "FAILED"]
    started_at: str
    error: RunError | None = None
    execution: str | None = None
    """`$$.Execution.Id`: its history gives the run's timeline (runs/<run_id>/_run/timeline.json)."""
    owner: str | None = None
    """`$$.Execution.Name`: a failed run releases this execution's (run, dataset) leases."""


class CheckQualityEvent(WorkflowEvent):
    run_id: str
    query_execution_ids: list[AssertionRef]


class PrepareAuditEvent(WorkflowEvent):
    run_id: str
    datasets: list[str]
    """The run's datasets (`$.run.dataset_names`)."""
    extra_tables: list[str] = Field(default_factory=list)
    """`curated.<t>` / `marts.<t>` tables created by sql/ddl/ files, viewed as published."""
