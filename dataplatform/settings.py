"""Runtime settings read from the environment (Lambda env vars, Glue job args mapped to env, local runner)."""

from __future__ import annotations

import os
from functools import cached_property

from pydantic_settings import BaseSettings, SettingsConfigDict

from dataplatform.config import PipelineConfig, load_config
from dataplatform.layout import Lake


class RuntimeSettings(BaseSettings):
    """RAW_BUCKET, CURATED_BUCKET and PIPELINE_CONFIG; AWS endpoints come from boto3's own AWS_ENDPOINT_URL."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    raw_bucket: str
    curated_bucket: str
    pipeline_config: str = "pipeline.yaml"

    @property
    def lake(self) -> Lake:
        return Lake(raw_bucket=self.raw_bucket, curated_bucket=self.curated_bucket)

    @cached_property
    def config(self) -> PipelineConfig:
        return load_config(self.pipeline_config)


def running_on_aws() -> bool:
    """In a deployed Lambda (not the local runner or LocalStack, which point boto3 at an endpoint override)."""
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")) and not os.environ.get("AWS_ENDPOINT_URL")
