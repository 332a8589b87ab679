"""Glue 5.1 entry point of the publish job: parse the arguments and hand over to dataplatform.transform.job.

Arguments (docs/contracts.md): --run_id --datasets (JSON array) --curated_root --quarantine_root --config_uri.
Same packaging and Iceberg settings as the standardize job; no logic lives here.
"""

from __future__ import annotations

import sys

from dataplatform.transform.job import PUBLISH_ARGUMENTS, PublishArguments, glue_arguments, run_publish


def parse_arguments(argv: list[str]) -> PublishArguments:
    return PublishArguments.from_mapping(glue_arguments(argv, PUBLISH_ARGUMENTS))


def main(argv: list[str]) -> None:
    run_publish(parse_arguments(argv))


if __name__ == "__main__":
    main(sys.argv)
