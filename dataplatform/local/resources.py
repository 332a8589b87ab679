"""Create in moto what `cdk deploy` would create from the synthesized template: buckets, file assets, Glue
databases/tables/jobs, the Athena workgroup, the alert topic, secrets and the state machine."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from dataplatform.layout import Lake
from dataplatform.local import lake_store
from dataplatform.local.template import ACCOUNT, Resolver, Synthesized

FAILURE_QUEUE = "local-failure-notifications"
"""Subscribed to the alert topics, so tests and the demo can read what a failed run published."""


@dataclass
class LocalResources:
    lake: Lake
    lambda_environment: dict[str, str]
    """RAW_BUCKET and CURATED_BUCKET as the template gives them to the pipeline Lambdas, resolved."""
    function_folders: dict[str, str] = field(default_factory=dict)
    """Lambda function name -> lambdas/<folder>."""
    failure_queue_url: str = ""


def create_resources(
    client: Callable[[str], Any],
    synthesized: Synthesized,
    resolver: Resolver,
    *,
    folder_of: Callable[[str], str | None],
    secrets: dict[str, str],
) -> LocalResources:
    r = resolver
    s3, glue = client("s3"), client("glue")
    for logical in r.of_type("AWS::S3::Bucket"):
        lake_store.ensure_bucket(s3, r.name(logical))
    for asset in synthesized.file_assets:  # what `cdk deploy` publishes (Glue script, config, package)
        lake_store.ensure_bucket(s3, asset["bucket"])
        s3.upload_file(str(asset["path"]), asset["bucket"], asset["key"])

    env: dict[str, str] = {}
    folders: dict[str, str] = {}
    for logical, fn in r.of_type("AWS::Lambda::Function").items():
        name = r.name(logical)
        folder = folder_of(name)
        if folder is None:
            continue  # CDK helper functions (custom resources), not pipeline code
        folders[name] = folder
        variables = fn["Properties"].get("Environment", {}).get("Variables", {})
        env.update({k: str(r.resolve(v)) for k, v in variables.items() if k in ("RAW_BUCKET", "CURATED_BUCKET")})
    if "RAW_BUCKET" not in env or "CURATED_BUCKET" not in env:
        raise RuntimeError("the template's pipeline Lambdas have no RAW_BUCKET/CURATED_BUCKET environment")

    for logical in r.of_type("AWS::Glue::Database"):
        lake_store.ensure_database(glue, r.name(logical))
    for table in r.of_type("AWS::Glue::Table").values():
        props = r.resolve(table["Properties"])
        lake_store.ensure_database(glue, props["DatabaseName"])
        lake_store.put_table(glue, props["DatabaseName"], props["TableInput"])
    for logical, job in r.of_type("AWS::Glue::Job").items():
        props = r.resolve(job["Properties"])
        with suppress(glue.exceptions.AlreadyExistsException):
            glue.create_job(
                Name=r.name(logical),
                Role=str(props.get("Role", f"arn:aws:iam::{ACCOUNT}:role/glue")),
                Command=props["Command"],
                DefaultArguments=props.get("DefaultArguments", {}),
                GlueVersion=props.get("GlueVersion", "5.0"),
            )
    athena = client("athena")
    for logical in r.of_type("AWS::Athena::WorkGroup"):
        with suppress(athena.exceptions.InvalidRequestException):
            athena.create_work_group(Name=r.name(logical), Configuration={})

    sns, sqs = client("sns"), client("sqs")
    queue_url = sqs.create_queue(QueueName=FAILURE_QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for logical in r.of_type("AWS::SNS::Topic"):
        sns.create_topic(Name=r.name(logical))
        sns.subscribe(TopicArn=r.arn(logical), Protocol="sqs", Endpoint=queue_arn)

    secretsmanager = client("secretsmanager")
    for secret_name, value in secrets.items():
        secretsmanager.create_secret(Name=secret_name, SecretString=value)

    return LocalResources(
        lake=Lake(raw_bucket=env["RAW_BUCKET"], curated_bucket=env["CURATED_BUCKET"]),
        lambda_environment=env,
        function_folders=folders,
        failure_queue_url=queue_url,
    )


def create_state_machine(client: Callable[[str], Any], resolver: Resolver, name: str) -> tuple[str, dict[str, Any]]:
    """(ARN, definition) of the template's state machine `name`, created in moto unchanged."""
    definition = resolver.state_machine(name)
    arn = client("stepfunctions").create_state_machine(
        name=name,
        definition=json.dumps(definition),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/{name}",
        type="STANDARD",
    )["stateMachineArn"]
    return arn, definition
