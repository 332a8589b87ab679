"""Glue 5.1 entry point: parse the job arguments and hand over to the plain-PySpark job in dataplatform.

Arguments (docs/contracts.md): --dataset --run_id --manifest_uris --curated_root --quarantine_root --config_uri.
The dataplatform package arrives through --extra-py-files; no logic lives here.
"""

from __future__ import annotations

import argparse
import sys

from dataplatform.transform.job import JOB_ARGUMENTS, JobArguments, run_job


def parse_arguments(argv: list[str]) -> JobArguments:
    try:  # On Glue: the same resolver Glue documents, which tolerates Glue's own extra arguments.
        from awsglue.utils import getResolvedOptions  # type: ignore[import-not-found]
    except ImportError:  # Anywhere else (local spark-submit, tests): plain argparse.
        parser = argparse.ArgumentParser(description="Standardize one dataset from raw to curated")
        for name in JOB_ARGUMENTS:
            parser.add_argument(f"--{name}", required=True)
        known, _ = parser.parse_known_args(argv[1:])
        return JobArguments.from_mapping(vars(known))
    return JobArguments.from_mapping(getResolvedOptions(argv, list(JOB_ARGUMENTS)))


def main(argv: list[str]) -> None:
    run_job(parse_arguments(argv))


if __name__ == "__main__":
    main(sys.argv)
