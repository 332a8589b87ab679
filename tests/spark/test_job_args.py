"""The thin Glue entry point's argument handling (argparse when awsglue is absent)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from dataplatform.transform.job import JobArgumentError, JobArguments, PublishArguments, part_uri

ENTRY = Path(__file__).resolve().parents[2] / "glue_jobs" / "standardize_job.py"
PUBLISH_ENTRY = ENTRY.with_name("publish_job.py")


def _entry(path: Path = ENTRY) -> object:
    spec = importlib.util.spec_from_file_location("glue_entry", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ARGV = ["standardize_job.py", "--JOB_NAME", "retail-standardize-sales", "--dataset", "sales", "--run_id", "r-1",
        "--manifest_uris", "s3://raw/a/_manifest.json, s3://raw/b/_manifest.json", "--curated_root", "s3://c/curated",
        "--quarantine_root", "s3://c/curated/_quarantine/", "--config_uri", "s3://c/config/pipeline.yaml"]  # fmt: skip


def test_entry_parses_glue_style_argv_and_ignores_glue_extras() -> None:
    args = _entry().parse_arguments(ARGV)  # type: ignore[attr-defined]
    assert args == JobArguments(
        dataset="sales",
        run_id="r-1",
        manifest_uris=("s3://raw/a/_manifest.json", "s3://raw/b/_manifest.json"),
        curated_root="s3://c/curated/",
        quarantine_root="s3://c/curated/_quarantine/",
        config_uri="s3://c/config/pipeline.yaml",
    )


@pytest.mark.parametrize("empty", ["", "-", "none"])
def test_nothing_new_spellings(empty: str) -> None:
    argv = [*ARGV]
    argv[argv.index("--manifest_uris") + 1] = empty
    assert _entry().parse_arguments(argv).manifest_uris == ()  # type: ignore[attr-defined]


def test_missing_or_bad_arguments_fail_loudly() -> None:
    values = dict(zip(ARGV[1::2], ARGV[2::2], strict=True))
    with pytest.raises(JobArgumentError, match="--config_uri"):
        JobArguments.from_mapping({k: v for k, v in values.items() if k != "--config_uri"})
    with pytest.raises(ValueError, match="run_id"):
        JobArguments.from_mapping({**values, "--run_id": "bad id/with slash"})
    with pytest.raises(SystemExit):
        _entry().parse_arguments([a for a in ARGV if a not in ("--dataset", "sales")])  # type: ignore[attr-defined]
    assert part_uri("s3://raw/raw/x/_manifest.json", "raw/x/part-00000.parquet") == "s3://raw/raw/x/part-00000.parquet"


def test_publish_entry_takes_the_run_and_its_datasets_as_a_json_array() -> None:
    argv = ["publish_job.py", "--JOB_NAME", "retail-publish", "--run_id", "r-1", "--datasets", '["sales", "products"]',
            "--curated_root", "s3://c/curated", "--quarantine_root", "s3://c/curated/_quarantine/",
            "--config_uri", "s3://c/config/pipeline.yaml"]  # fmt: skip
    args = _entry(PUBLISH_ENTRY).parse_arguments(argv)  # type: ignore[attr-defined]
    assert args == PublishArguments(
        run_id="r-1",
        datasets=("sales", "products"),
        curated_root="s3://c/curated/",
        quarantine_root="s3://c/curated/_quarantine/",
        config_uri="s3://c/config/pipeline.yaml",
    )
    values = dict(zip(argv[1::2], argv[2::2], strict=True))
    assert PublishArguments.from_mapping({**values, "--datasets": "sales, products"}).datasets == ("sales", "products")
    for bad in ("[]", '["sales"', "[1]"):
        with pytest.raises(JobArgumentError, match="--datasets"):
            PublishArguments.from_mapping({**values, "--datasets": bad})
