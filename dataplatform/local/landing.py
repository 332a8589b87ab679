"""`dataplatform land DATASET FILE...`: put files into a CSV dataset's landing prefix, of the local lake or (with
`--aws`) of the deployed raw bucket, where the next run picks them up."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dataplatform.config import PipelineConfig
from dataplatform.local import lake_store
from dataplatform.local.local_run import InputError


def landing_prefix(config: PipelineConfig, dataset: str, config_file: Path) -> str:
    """The landing prefix a CSV dataset reads, or an InputError saying why files cannot be landed for it."""
    if dataset not in config.datasets:
        raise InputError(f"{config_file}: no dataset '{dataset}' (datasets: {', '.join(config.datasets)})")
    source = config.datasets[dataset].source
    if source.kind != "csv":
        raise InputError(f"dataset '{dataset}' is a {source.kind} source; only CSV datasets read landed files")
    prefix = source.access().landing_prefix
    if prefix is None:
        raise InputError(
            f"dataset '{dataset}' reads {source.location}, not a landing/ prefix: put its files there instead"
        )
    return prefix


def check_files(files: Sequence[Path]) -> list[Path]:
    if not files:
        raise InputError("give at least one FILE to land")
    for path in files:
        if path.is_dir():
            raise InputError(f"{path}: is a directory; give the files in it (e.g. {path}/*.csv)")
        if not path.is_file():
            raise InputError(f"{path}: no such file")
    return [path.resolve() for path in files]


def raw_bucket_locally(lake_dir: Path, config: PipelineConfig, config_file: Path) -> str:
    """The local raw bucket's name: recorded by the last local run of this project, else from a synth."""
    known = lake_store.read_resources(lake_dir, config.project)
    if known:
        return known["raw_bucket"]
    from dataplatform.local.runner import PROJECT_ROOT
    from dataplatform.local.template import Resolver, synthesize

    synthesized = synthesize(PROJECT_ROOT, config_file)
    resolver = Resolver(synthesized.template, synthesized.stack_name)
    for function in resolver.of_type("AWS::Lambda::Function").values():
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        if "RAW_BUCKET" in variables:
            return str(resolver.resolve(variables["RAW_BUCKET"]))
    raise RuntimeError("the synthesized template has no Lambda with RAW_BUCKET")


def land_locally(lake_dir: Path, bucket: str, prefix: str, files: Sequence[Path]) -> list[str]:
    """Copy into `<lake>/s3/<bucket>/<prefix>`: the next local run restores it into its S3 (a same-named file is
    replaced: a changed file is a new version to ingest)."""
    targets = []
    for path in files:
        target = lake_dir / "s3" / bucket / prefix / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        targets.append(f"s3://{bucket}/{prefix}{path.name}")
    return targets


def deployed_raw_bucket(config: PipelineConfig, cloudformation: Any) -> str:
    from infra.app_builder import stack_name

    name = stack_name(config.project)
    try:
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    except Exception as exc:  # botocore ClientError (no such stack) or no credentials
        raise InputError(f"cannot read the deployed stack {name}: {exc}") from None
    for output in stack.get("Outputs", []):
        if output["OutputKey"] == "RawBucketName":
            return str(output["OutputValue"])
    raise InputError(f"stack {name} has no RawBucketName output; is it this project's stack?")


def land_on_aws(s3: Any, bucket: str, prefix: str, files: Sequence[Path]) -> list[str]:
    targets = []
    for path in files:
        s3.upload_file(str(path), bucket, f"{prefix}{path.name}", ExtraArgs={"ContentType": "text/csv"})
        targets.append(f"s3://{bucket}/{prefix}{path.name}")
    return targets
