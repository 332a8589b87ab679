"""Analytics: the sql/ files as Athena named queries, plus what the workflow needs to run them.

Every file under sql/ is rendered for this deployment (Glue database names, pipeline.yaml parameters, the curated
bucket) by the same renderer the local engine uses, and becomes an `AWS::Athena::NamedQuery` in the workgroup.
`steps` lists them in run order for `athena:startQueryExecution.sync`: DDL files, then the views and marts
(dependencies first), then the data-quality assertions with their severity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_iam as iam
from constructs import Construct

from dataplatform.athena.sqlfiles import LOGICAL_DATABASES, load_sql_files, parameters_from_config, unknown_reads
from dataplatform.config import PipelineConfig


@dataclass(frozen=True)
class AthenaStep:
    """One statement the workflow runs: `kind` is ddl, view or assertion; `severity` is set for assertions."""

    name: str
    kind: str
    severity: str | None
    database: str
    """Glue database for the QueryExecutionContext."""
    query: str
    """Rendered Athena SQL (may contain CDK tokens, e.g. the curated bucket name)."""
    named_query: athena.CfnNamedQuery

    def state_item(self) -> dict[str, Any]:
        """The workflow's Map item for this step: what the Athena task and check_quality read.

        Assertions carry their severity (`error` unless the file says `warn`); DDL and views do not.
        """
        item: dict[str, Any] = {"name": self.name, "database": self.database, "sql": self.query}
        if self.kind == "assertion":
            item["severity"] = self.severity or "error"
        return item


class Analytics(Construct):
    """Named queries for every sql/ file, and the ordered steps to refresh views/marts and run assertions."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        database_names: Mapping[str, str],
        workgroup_name: str,
        curated_bucket_name: str,
        sql_dir: Path,
    ) -> None:
        super().__init__(scope, construct_id)
        missing = [name for name in LOGICAL_DATABASES if name not in database_names]
        if missing:
            raise ValueError(f"database_names needs an entry for {', '.join(missing)}")
        self.workgroup_name = workgroup_name
        self.database_names = dict(database_names)
        params = parameters_from_config(config, curated_bucket_name)
        self.steps: list[AthenaStep] = []
        files = load_sql_files(sql_dir)
        problems = unknown_reads(files, config)
        if problems:
            raise ValueError("\n".join(problems))
        for sql_file in files:
            query = sql_file.render(params, database_names)
            database = database_names[sql_file.database]
            what = {"ddl": "table DDL", "view": "view", "assertion": f"data-quality assertion ({sql_file.severity})"}
            named = athena.CfnNamedQuery(
                self,
                f"Query{''.join(part.capitalize() for part in sql_file.name.split('_'))}",
                name=f"{config.project}-{sql_file.kind}-{sql_file.name}",
                description=f"{config.project}: {what[sql_file.kind]} from sql/{sql_file.path.parent.name}/"
                f"{sql_file.path.name}",
                database=database,
                query_string=query,
                work_group=workgroup_name,
            )
            step_query = sql_file.workflow_query(params, database_names)  # assertions: just the count
            self.steps.append(AthenaStep(sql_file.name, sql_file.kind, sql_file.severity, database, step_query, named))

    @property
    def refresh_steps(self) -> list[AthenaStep]:
        """DDL and CREATE OR REPLACE VIEW statements, in dependency order (run them one after another)."""
        return [s for s in self.steps if s.kind in ("ddl", "view")]

    @property
    def assertion_steps(self) -> list[AthenaStep]:
        """Data-quality assertions; independent of each other (they may run in parallel)."""
        return [s for s in self.steps if s.kind == "assertion"]

    def query_policy_statements(self) -> list[iam.PolicyStatement]:
        """Athena and Glue permissions to run the steps (S3 and KMS grants come with the buckets and the key)."""
        stack = Stack.of(self)
        workgroup_arn = stack.format_arn(service="athena", resource="workgroup", resource_name=self.workgroup_name)
        catalog_arn = stack.format_arn(service="glue", resource="catalog")
        glue_resources = [catalog_arn]
        for database in self.database_names.values():
            glue_resources.append(stack.format_arn(service="glue", resource="database", resource_name=database))
            glue_resources.append(stack.format_arn(service="glue", resource="table", resource_name=f"{database}/*"))
        return [
            iam.PolicyStatement(
                actions=[
                    "athena:StartQueryExecution",
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:StopQueryExecution",
                ],
                resources=[workgroup_arn],
            ),
            iam.PolicyStatement(
                actions=[
                    "glue:GetDatabase",
                    "glue:GetDatabases",
                    "glue:GetTable",
                    "glue:GetTables",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:CreateTable",
                    "glue:UpdateTable",
                ],
                resources=glue_resources,
            ),
        ]
