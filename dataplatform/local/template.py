"""Synthesize the CDK app in-process and turn its template into local names: what `cdk deploy` would create.

The state machine definition is taken from the synthesized template, with CloudFormation intrinsics (Ref,
Fn::GetAtt, Fn::Join, Fn::Sub, pseudo parameters) resolved to the names and ARNs the local runner creates in
moto. Nothing in the definition is rewritten beyond that token resolution.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"


class TemplateError(RuntimeError):
    pass


@dataclass
class Synthesized:
    stack_name: str
    template: dict[str, Any]
    file_assets: list[dict[str, Any]] = field(default_factory=list)
    """[{path, bucket, key}] of file assets (Glue script, config, package zip) as `cdk deploy` would publish."""


def synthesize(root: Path, config_file: Path, outdir: Path | None = None) -> Synthesized:
    """Build the app like `cdk synth`, with Lambda bundling skipped (the runner calls handlers in-process)."""
    # Imported here: runtime code does not depend on infra/, only this local tool does.
    from infra.app_builder import build_app, cdk_json_context

    out = outdir or Path(tempfile.mkdtemp(prefix="dataplatform-synth-"))
    context = {**cdk_json_context(root), "aws:cdk:bundling-stacks": [], "account": ACCOUNT, "region": REGION}
    app = build_app(
        context=context, validation=False, root=root, outdir=str(out), config_file=config_file, local_run=True
    )
    assembly = app.synth()
    stacks = assembly.stacks
    if len(stacks) != 1:
        raise TemplateError(f"expected one stack in the app, found {len(stacks)}")
    stack = stacks[0]
    assets: list[dict[str, Any]] = []
    manifest = out / f"{stack.stack_name}.assets.json"
    if not manifest.is_file():
        manifest = out / f"{stack.artifact_id}.assets.json"
    if manifest.is_file():
        for asset in json.loads(manifest.read_text()).get("files", {}).values():
            source = asset["source"]
            if source.get("packaging", "file") != "file":
                continue  # Lambda code directories: not needed, handlers run in-process
            for dest in asset["destinations"].values():
                assets.append(
                    {
                        "path": out / source["path"],
                        "bucket": _pseudo(dest["bucketName"]),
                        "key": _pseudo(dest["objectKey"]),
                    }
                )
    return Synthesized(stack_name=stack.stack_name, template=stack.template, file_assets=assets)


def _pseudo(text: str) -> str:
    return (
        text.replace("${AWS::AccountId}", ACCOUNT)
        .replace("${AWS::Region}", REGION)
        .replace("${AWS::Partition}", PARTITION)
    )


class Resolver:
    """Resolves intrinsics against local physical names chosen for every resource of the template."""

    def __init__(self, template: dict[str, Any], stack_name: str = "local") -> None:
        self.stack_name = stack_name
        self.resources: dict[str, dict[str, Any]] = template.get("Resources", {})
        self.parameters: dict[str, Any] = template.get("Parameters", {})
        self._names: dict[str, str] = {}

    # ------------------------------------------------------------ physical names
    def name(self, logical_id: str) -> str:
        if logical_id in self._names:
            return self._names[logical_id]
        resource = self.resources.get(logical_id)
        if resource is None:
            raise TemplateError(f"Ref to unknown resource {logical_id}")
        props = resource.get("Properties", {})
        explicit = {
            "AWS::S3::Bucket": "BucketName",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::SNS::Topic": "TopicName",
            "AWS::SQS::Queue": "QueueName",
            "AWS::Glue::Job": "Name",
            "AWS::Glue::Database": None,
            "AWS::Athena::WorkGroup": "Name",
            "AWS::StepFunctions::StateMachine": "StateMachineName",
            "AWS::Logs::LogGroup": "LogGroupName",
            "AWS::SecretsManager::Secret": "Name",
        }.get(resource["Type"], "Name")
        value: Any = None
        if resource["Type"] == "AWS::Glue::Database":
            value = props.get("DatabaseInput", {}).get("Name")
        elif explicit:
            value = props.get(explicit)
        if value is not None:
            name = str(self.resolve(value))
        else:
            # CloudFormation generates `<stack>-<logical id>-<suffix>`; locally without the suffix, so the name stays
            # stable across runs (the lake persists by bucket name) and two pipelines' lakes never share a bucket.
            name = re.sub(r"[^a-z0-9-]", "-", f"{self.stack_name}-{logical_id}".lower())[:63].strip("-")
        self._names[logical_id] = name
        return name

    def arn(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        name = self.name(logical_id)
        return {
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
            "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
            "AWS::StepFunctions::StateMachine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}",
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
            "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{name}",
        }.get(kind, f"arn:aws:local:{REGION}:{ACCOUNT}:{name}")

    def ref(self, logical_id: str) -> str:
        pseudo = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::NoValue": "",
        }
        if logical_id in pseudo:
            return pseudo[logical_id]
        if logical_id in self.parameters:
            default = self.parameters[logical_id].get("Default")
            if default is None:
                raise TemplateError(f"parameter {logical_id} has no default")
            return str(default)
        kind = self.resources.get(logical_id, {}).get("Type")
        # Ref returns the ARN for these types, the name for the rest we use.
        if kind in ("AWS::SNS::Topic", "AWS::StepFunctions::StateMachine"):
            return self.arn(logical_id)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self.name(logical_id)}"
        return self.name(logical_id)

    def get_att(self, logical_id: str, attribute: str) -> str:
        if attribute == "Arn":
            return self.arn(logical_id)
        if attribute in ("Name", "QueueName", "TopicName"):
            return self.name(logical_id)
        if attribute == "DomainName":
            return f"{self.name(logical_id)}.s3.amazonaws.com"
        raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute} is not resolved locally")

    # ------------------------------------------------------------ intrinsics
    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical, attribute)
            if key == "Fn::Join":
                sep, parts = arg
                return sep.join(str(self.resolve(p)) for p in parts)
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                resolved = {k: str(self.resolve(v)) for k, v in variables.items()}

                def sub(match: re.Match[str]) -> str:
                    token = match.group(1)
                    if token in resolved:
                        return resolved[token]
                    if "." in token:
                        logical, attribute = token.split(".", 1)
                        return self.get_att(logical, attribute)
                    return self.ref(token)

                return re.sub(r"\$\{([^}!]+)\}", sub, text)
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(index)]
            if key == "Fn::Split":
                sep, text = arg
                return str(self.resolve(text)).split(sep)
            if key.startswith("Fn::"):
                raise TemplateError(f"{key} is not resolved locally")
        return {k: self.resolve(v) for k, v in value.items()}

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}

    def state_machine(self, name: str) -> dict[str, Any]:
        """The definition of the template's state machine called `name` (the pipeline's, the maintenance's)."""
        machines = {
            self.name(logical): res for logical, res in self.of_type("AWS::StepFunctions::StateMachine").items()
        }
        if name not in machines:
            raise TemplateError(f"no state machine {name!r} in the template (found: {', '.join(sorted(machines))})")
        props = machines[name]["Properties"]
        definition = props.get("DefinitionString")
        if definition is None:
            raise TemplateError("the state machine has no DefinitionString")
        substitutions = {k: str(self.resolve(v)) for k, v in props.get("DefinitionSubstitutions", {}).items()}
        text = str(self.resolve(definition))
        for key, val in substitutions.items():
            text = text.replace("${" + key + "}", val)
        return dict(json.loads(text))
