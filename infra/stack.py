"""The data platform stack: composes the constructs and wires what they share. No resources of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Stack, Tags
from constructs import Construct

from dataplatform.config.models import PipelineConfig
from infra.analytics import Analytics
from infra.ingestion import Ingestion
from infra.standardization import Standardization
from infra.storage import Storage


class DataPlatformStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        root: Path,
        config_file: Path,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        Tags.of(self).add("project", config.project)
        self.storage = Storage(self, "Storage", config=config)
        self.ingestion = Ingestion(
            self, "Ingestion", config=config, storage=self.storage, root=root, config_file=config_file
        )
        self.standardization = Standardization(
            self, "Standardization", config=config, storage=self.storage, root=root, config_file=config_file
        )
        self.analytics = Analytics(
            self,
            "Analytics",
            config=config,
            database_names={zone: config.glue_database(zone) for zone in ("curated", "marts", "audit")},
            workgroup_name=self.storage.workgroup.ref,  # a Ref, so named queries wait for the workgroup
            curated_bucket_name=self.storage.curated_bucket.bucket_name,
        )
