"""The Lambdas the workflow itself runs (ingest functions come from infra/ingestion.py), least privilege each."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from dataplatform.config import PipelineConfig
from dataplatform.layout import RUN_SCOPE
from dataplatform.naming import function_name, state_machine_name
from infra.functions import lambda_environment, python_function
from infra.nag import acknowledge
from infra.storage import Storage

WORKFLOW_FUNCTIONS = ("resolve_run", "prepare_audit", "check_quality", "commit_state", "write_audit")
"""Lambda folders (lambdas/<name>/handler.py) this construct deploys."""


class WorkflowFunctions(Construct):
    """`<project>-resolve-run`, `-prepare-audit`, `-check-quality`, `-commit-state` and `-write-audit`
    (docs/contracts.md)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        storage: Storage,
        root: Path,
        config_file: Path,
    ) -> None:
        super().__init__(scope, construct_id)
        self.functions: dict[str, lambda_.Function] = {}
        self.roles: dict[str, iam.Role] = {}
        for folder in WORKFLOW_FUNCTIONS:
            name = function_name(config.project, folder)
            self.functions[folder], self.roles[folder] = python_function(
                self,
                folder.title().replace("_", ""),
                folder=folder,
                function_name=name,
                description=f"{config.project} workflow step {folder}",
                role_description=f"{name}: workflow step {folder}",
                root=root,
                config_file=config_file,
                environment=lambda_environment(config, storage, folder),
                key=storage.key,
                memory_mb=512,
                timeout=Duration.minutes(5),
            )
        self._grant(config, storage)

    def _grant(self, config: PipelineConfig, storage: Storage) -> None:
        """Least privilege: each function gets only the prefixes it reads or writes."""
        lake = storage.lake
        raw_prefixes = [lake.raw_prefix(d) for d in config.datasets]  # the run's manifests

        commit = self.roles["commit_state"]
        storage.grant_prefixes(commit, storage.raw_bucket, raw_prefixes)
        storage.grant_prefixes(commit, storage.curated_bucket, [lake.runs_prefix()])
        storage.grant_prefixes(commit, storage.curated_bucket, [lake.state_prefix()], write=True)
        # Leases are released by a conditional put (no delete): commit on success, the failed run's audit.
        storage.grant_prefixes(commit, storage.curated_bucket, [lake.any_lease_key()], write=True)

        audit = self.roles["write_audit"]
        storage.grant_prefixes(audit, storage.raw_bucket, raw_prefixes)
        storage.grant_prefixes(audit, storage.curated_bucket, [lake.runs_prefix(), lake.state_prefix()])
        storage.grant_prefixes(audit, storage.curated_bucket, [lake.audit_prefix(), lake.any_lease_key()], write=True)
        # The run's timeline comes from its own execution history. The ARN is built from the machine's fixed name:
        # a reference to the state machine would make a cycle (its definition references this function).
        executions = Stack.of(self).format_arn(
            service="states",
            resource="execution",
            resource_name=f"{state_machine_name(config.project)}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        audit.add_to_principal_policy(
            iam.PolicyStatement(actions=["states:GetExecutionHistory"], resources=[executions])
        )
        stack = Stack.of(self)
        acknowledge(
            audit,
            f"AwsSolutions-IAM5[Resource::arn:{stack.partition}:states:{stack.region}:{stack.account}:execution:"
            f"{state_machine_name(config.project)}:*]",
            "write_audit reads the history of the execution it runs in (the run's timeline); execution names are "
            "chosen per start, so only the state machine part of the ARN is fixed.",
        )
        storage.grant_prefixes(audit, storage.curated_bucket, [lake.any_run_prefix(RUN_SCOPE)], write=True)

        prepare = self.roles["prepare_audit"]  # reads the run records (staged snapshot ids)
        storage.grant_prefixes(prepare, storage.curated_bucket, [lake.runs_prefix()])

        quality = self.roles["check_quality"]
        storage.grant_athena_query(quality)
        storage.grant_prefixes(quality, storage.curated_bucket, [lake.runs_prefix()], write=True)

    @property
    def resolve_run(self) -> lambda_.IFunction:
        return self.functions["resolve_run"]

    @property
    def prepare_audit(self) -> lambda_.IFunction:
        return self.functions["prepare_audit"]

    @property
    def check_quality(self) -> lambda_.IFunction:
        return self.functions["check_quality"]

    @property
    def commit_state(self) -> lambda_.IFunction:
        return self.functions["commit_state"]

    @property
    def write_audit(self) -> lambda_.IFunction:
        return self.functions["write_audit"]
