"""A small stack that composes only the workflow constructs, for template tests independent of the main stack."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App, Environment, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3

from dataplatform.config import load_config
from infra.monitoring import AlertTopic, Monitoring
from infra.orchestration import AthenaQuery, Orchestration, WorkflowFunctions, standardize_job_name

ROOT = Path(__file__).resolve().parents[2]


def build_orchestration_stack() -> Stack:
    config = load_config(ROOT / "pipeline.yaml")
    app = App(context={"aws:cdk:bundling-stacks": []})
    stack = Stack(app, "WorkflowTest", env=Environment(account="123456789012", region="eu-central-1"))
    raw = s3.Bucket(stack, "Raw")
    curated = s3.Bucket(stack, "Curated")

    def code(folder: str) -> lambda_.Code:
        return lambda_.Code.from_asset(str(ROOT / "lambdas" / folder))

    env = {"RAW_BUCKET": raw.bucket_name, "CURATED_BUCKET": curated.bucket_name, "PIPELINE_CONFIG": "pipeline.yaml"}
    functions = WorkflowFunctions(
        stack,
        "Workflow",
        config=config,
        code=code,
        environment=env,
        raw_bucket=raw,
        curated_bucket=curated,
        athena_workgroup=config.project,
    )
    ingest = {
        kind: lambda_.Function(
            stack,
            f"Ingest{kind}",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
        )
        for kind in ("csv", "rest", "postgres")
    }
    alerts = AlertTopic(stack, "Alerts", config=config)
    orchestration = Orchestration(
        stack,
        "Orchestration",
        config=config,
        functions=functions,
        ingest_functions=ingest,
        raw_bucket=raw,
        curated_bucket=curated,
        config_uri=f"s3://{curated.bucket_name}/config/pipeline.yaml",
        athena_workgroup=config.project,
        refresh_queries=[AthenaQuery("v_sales", "retail_marts", "CREATE OR REPLACE VIEW v AS SELECT 1 AS x")],
        assertions=[
            AthenaQuery("no_negative", "retail_curated", "SELECT 1 WHERE false", severity="error"),
            AthenaQuery("late_rows", "retail_curated", "SELECT 1 WHERE false", severity="warn"),
        ],
        alarm_topic=alerts.topic,
        landing_events=True,
    )
    Monitoring(
        stack,
        "Monitoring",
        config=config,
        topic=alerts.topic,
        state_machine=orchestration.state_machine,
        functions={**functions.functions, **{f"ingest_{k}": f for k, f in ingest.items()}},
        glue_job_names=[standardize_job_name(config.project, d) for d in config.datasets],
    )
    return stack
