"""Glue 5.1 entry point: parse the job arguments and hand over to the plain-PySpark job in dataplatform.

Arguments (docs/contracts.md): --dataset --run_id --manifest_uris --curated_root --quarantine_root --config_uri.
The dataplatform package arrives through --extra-py-files, Iceberg through --datalake-formats and --conf
(dataplatform/transform/iceberg.py); no logic lives here.
"""

from __future__ import annotations

import sys

from dataplatform.transform.job import JOB_ARGUMENTS, JobArguments, glue_arguments, run_job


def parse_arguments(argv: list[str]) -> JobArguments:
    return JobArguments.from_mapping(glue_arguments(argv, JOB_ARGUMENTS))


def main(argv: list[str]) -> None:
    run_job(parse_arguments(argv))


if __name__ == "__main__":
    main(sys.argv)
