"""Names of the deployed things, one function per rule (S3 keys live in `dataplatform.layout`).

infra/ builds every physical name with these functions; the local tooling maps names back with their inverses,
so a renamed rule changes in one place. Plain functions of the project name: no AWS or CDK imports.
"""

from __future__ import annotations

from typing import Literal

Zone = Literal["curated", "marts", "audit"]
ZONES: tuple[Zone, ...] = ("curated", "marts", "audit")
"""The logical Glue/Athena databases; SQL files use these names as qualifiers."""

_INGEST = "ingest_"
_STANDARDIZE = "standardize"


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


def glue_database(project: str, zone: Zone) -> str:
    """Glue/Athena database of a zone: `<project>_<zone>`, with '-' as '_' (Athena names allow no '-')."""
    return f"{project.replace('-', '_')}_{zone}"


def database_names(project: str) -> dict[Zone, str]:
    """Logical zone -> Glue database name, for every zone."""
    return {zone: glue_database(project, zone) for zone in ZONES}


def security_configuration_name(project: str) -> str:
    """Glue security configuration the standardize jobs share."""
    return f"{project}-{_STANDARDIZE}"


def state_machine_name(project: str) -> str:
    """The pipeline's Step Functions state machine (also its log group, alert topic and dashboard stem)."""
    return f"{project}-pipeline"


def workgroup_name(project: str) -> str:
    """The Athena workgroup: the project name itself."""
    return project
