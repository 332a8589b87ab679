"""The platform's audit table: declared by the stack from dataplatform/athena/audit_runs.sql."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App, Environment, Stack
from aws_cdk import aws_glue as glue
from aws_cdk.assertions import Match, Template

from dataplatform.config import load_config
from infra.audit_table import AuditTable

ROOT = Path(__file__).resolve().parents[2]


def test_audit_table_is_a_json_table_with_run_date_projection_in_the_audit_database() -> None:
    config = load_config(ROOT / "pipeline.yaml")
    stack = Stack(App(), "AuditTest", env=Environment(account="123456789012", region="eu-central-1"))
    database = glue.Database(stack, "Audit", database_name=config.glue_database("audit"))
    AuditTable(stack, "AuditTable", config=config, database=database, curated_bucket_name="curated-bucket")
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::Glue::Table",
        {
            "DatabaseName": "retail_audit",
            "TableInput": {
                "Name": "runs",
                "TableType": "EXTERNAL_TABLE",
                "PartitionKeys": [{"Name": "run_date", "Type": "date"}],
                "Parameters": Match.object_like({"projection.enabled": "true", "projection.run_date.type": "date"}),
                "StorageDescriptor": Match.object_like(
                    {
                        "Location": "s3://curated-bucket/audit/",
                        "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"},
                        "Columns": Match.array_with([{"Name": "error_step", "Type": "string"}]),
                    }
                ),
            },
        },
    )
