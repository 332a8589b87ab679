"""Names of the deployed things, one function per rule (S3 keys live in `dataplatform.layout`).

infra/ builds every physical name with these functions; the local tooling maps names back with their inverses,
so a renamed rule changes in one place. Plain functions of the project name: no AWS or CDK imports.
"""

from __future__ import annotations

import re
from typing import Literal

Zone = Literal["curated", "marts", "audit"]
ZONES: tuple[Zone, ...] = ("curated", "marts", "audit")
"""The logical Glue/Athena databases; SQL files use these names as qualifiers."""
StagedZone = Literal["curated", "marts"]
STAGED_ZONES: tuple[StagedZone, ...] = ("curated", "marts")
"""Zones with a staged twin: views over a run's unpublished Iceberg snapshots, and the marts over those."""

_INGEST = "ingest_"
_STANDARDIZE = "standardize"
_PUBLISH = "publish"
_RUN_BRANCH = "run_"


def function_name(project: str, folder: str) -> str:
    """Physical Lambda name of `lambdas/<folder>/`: `<project>-<folder with '-' for '_'>` (`retail-resolve-run`)."""
    return f"{project}-{folder.replace('_', '-')}"


def function_folder(project: str, name: str) -> str | None:
    """The `lambdas/<folder>` a physical Lambda name comes from; None for names of other projects."""
    prefix = function_name(project, "")
    folder = name.removeprefix(prefix).replace("-", "_") if name.startswith(prefix) else ""
    return folder or None


def ingest_folder(kind: str) -> str:
    """The Lambda folder that ingests one source kind: `ingest_<kind>`."""
    return f"{_INGEST}{kind}"


def ingest_kind(folder: str) -> str | None:
    """The source kind an ingest Lambda folder serves; None for the workflow's own functions."""
    return folder.removeprefix(_INGEST) if folder.startswith(_INGEST) else None


def standardize_job_name(project: str, dataset: str) -> str:
    """Glue job of one dataset: `<project>-standardize-<dataset>`. `dataset` may be a pattern (`*`, `{}`)."""
    return f"{project}-{_STANDARDIZE}-{dataset}"


def job_dataset(project: str, job_name: str) -> str | None:
    """The dataset a standardize job name belongs to; None for other names."""
    prefix = standardize_job_name(project, "")
    dataset = job_name.removeprefix(prefix) if job_name.startswith(prefix) else ""
    return dataset or None


def publish_job_name(project: str) -> str:
    """Glue job that publishes a run's staged Iceberg snapshots: `<project>-publish`."""
    return f"{project}-{_PUBLISH}"


def glue_database(project: str, zone: Zone) -> str:
    """Glue/Athena database of a zone: `<project>_<zone>`, with '-' as '_' (Athena names allow no '-')."""
    return f"{project.replace('-', '_')}_{zone}"


def database_names(project: str) -> dict[Zone, str]:
    """Logical zone -> Glue database name, for every zone."""
    return {zone: glue_database(project, zone) for zone in ZONES}


def staged_database(project: str, zone: StagedZone) -> str:
    """Glue/Athena database of a zone's staged twin: `<project>_staged_<zone>` ('-' as '_')."""
    return f"{project.replace('-', '_')}_staged_{zone}"


def staged_database_names(project: str) -> dict[Zone, str]:
    """Logical zone -> Glue database as the audit of a run sees it: the staged twins of curated and marts, and
    the real audit database (the SQL renders against this mapping for the assertions over unpublished data)."""
    names = database_names(project)
    names.update({zone: staged_database(project, zone) for zone in STAGED_ZONES})
    return names


def quarantine_table(dataset: str) -> str:
    """The Iceberg table holding a dataset's rejected rows, beside its curated table: `<dataset>_quarantine`."""
    return f"{dataset}_quarantine"


def run_branch(run_id: str) -> str:
    """Iceberg branch a run stages its writes on: `run_<run_id>`, lower case, every other character as `_`
    (a plain SQL identifier in `<table>.branch_<name>`)."""
    return _RUN_BRANCH + re.sub(r"[^0-9a-z_]", "_", run_id.lower())


def security_configuration_name(project: str) -> str:
    """Glue security configuration the standardize jobs share."""
    return f"{project}-{_STANDARDIZE}"


def state_machine_name(project: str) -> str:
    """The pipeline's Step Functions state machine (also its log group, alert topic and dashboard stem)."""
    return f"{project}-pipeline"


def maintenance_state_machine_name(project: str) -> str:
    """The weekly Iceberg maintenance (compaction, snapshot expiry) state machine."""
    return f"{project}-maintenance"


def workgroup_name(project: str) -> str:
    """The Athena workgroup: the project name itself."""
    return project
