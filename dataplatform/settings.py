"""Runtime settings read from the environment (Lambda env vars, Glue job args mapped to env, local runner)."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from dataplatform.config import PipelineConfig, load_config
from dataplatform.layout import Lake

LAMBDA_CODE_ROOT = Path("/var/task")


class RuntimeSettings(BaseSettings):
    """RAW_BUCKET, CURATED_BUCKET and PIPELINE_CONFIG; AWS endpoints come from boto3's own AWS_ENDPOINT_URL."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    raw_bucket: str
    curated_bucket: str
    pipeline_config: str = "pipeline.yaml"

    @property
    def lake(self) -> Lake:
        return Lake(raw_bucket=self.raw_bucket, curated_bucket=self.curated_bucket)

    @property
    def config_path(self) -> Path:
        """PIPELINE_CONFIG. The deployed value lies under /var/task, the code root on AWS; it is read from the code
        root the runtime names (LAMBDA_TASK_ROOT), which LocalStack's host-mode executor puts elsewhere."""
        path = Path(self.pipeline_config)
        task_root = os.environ.get("LAMBDA_TASK_ROOT")
        if task_root and path.is_relative_to(LAMBDA_CODE_ROOT):
            return Path(task_root) / path.relative_to(LAMBDA_CODE_ROOT)
        return path

    @cached_property
    def config(self) -> PipelineConfig:
        return load_config(self.config_path)


def running_on_aws() -> bool:
    """In a deployed Lambda (not the local runner or LocalStack, which point boto3 at an endpoint override)."""
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")) and not os.environ.get("AWS_ENDPOINT_URL")
