"""What the synthesized template says about permissions, with its intrinsics resolved to the local names.

Roles (trust policy, inline, attached and AWS-managed policies), S3 bucket policies, KMS key policies, SNS topic
policies, which bucket and topic encrypt with which key, and which role each Lambda function, Glue job and the state
machine runs as. The Resolver is the one the local runner names its buckets, keys and jobs with, so a policy's ARNs
and the ARNs of local requests agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataplatform.local.iam.actions import Check
from dataplatform.local.iam.evaluator import Policy, as_list
from dataplatform.local.template import Resolver, TemplateError

Json = dict[str, Any]
AWS_MANAGED: dict[str, Json] = json.loads((Path(__file__).with_name("aws_managed.json")).read_text())
"""Local copies of the AWS-managed policies a template may attach (the template has only their ARNs)."""


@dataclass
class Role:
    arn: str
    logical_id: str
    trust: Json
    policies: list[Policy] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    def trusts(self, service_principal: str) -> bool:
        """Whether the trust policy lets `service_principal` assume the role (conditions are the service's)."""
        for statement in as_list(self.trust.get("Statement")):
            actions = as_list(statement.get("Action"))
            principal = statement.get("Principal") or {}
            services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
            if statement.get("Effect") == "Allow" and "sts:AssumeRole" in actions and service_principal in services:
                return True
        return False


@dataclass
class PolicyStore:
    account: str
    region: str
    roles: dict[str, Role] = field(default_factory=dict)
    """Role ARN -> role."""
    bucket_policies: dict[str, Json] = field(default_factory=dict)
    key_policies: dict[str, Json] = field(default_factory=dict)
    """KMS key ARN -> key policy."""
    topic_policies: dict[str, Json] = field(default_factory=dict)
    bucket_keys: dict[str, str] = field(default_factory=dict)
    """Bucket name -> KMS key ARN of its SSE-KMS default encryption."""
    topic_keys: dict[str, str] = field(default_factory=dict)
    function_roles: dict[str, str] = field(default_factory=dict)
    """Lambda function name -> role ARN."""
    job_roles: dict[str, str] = field(default_factory=dict)
    state_machine_roles: dict[str, str] = field(default_factory=dict)

    def resource_policy(self, check: Check) -> tuple[Policy | None, bool]:
        """(the policy attached to the check's resource, whether that policy must grant: KMS keys)."""
        if check.kind in ("s3-object", "s3-bucket"):
            bucket = check.resource.split(":::", 1)[1].split("/", 1)[0]
            document = self.bucket_policies.get(bucket)
            return ((f"BucketPolicy:{bucket}", document) if document else None), False
        if check.kind == "kms-key":
            document = self.key_policies.get(check.resource)
            if document is None:
                # A key the template does not declare: the default key policy (the account root delegates to IAM).
                document = {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "kms:*",
                            "Resource": "*",
                            "Principal": {"AWS": f"arn:aws:iam::{self.account}:root"},
                        }
                    ]
                }
            return (f"KeyPolicy:{check.resource.rsplit('/', 1)[-1]}", document), True
        if check.kind == "sns-topic" and check.resource in self.topic_policies:
            return (f"TopicPolicy:{check.resource.rsplit(':', 1)[-1]}", self.topic_policies[check.resource]), False
        return None, False

    @classmethod
    def from_template(cls, resolver: Resolver, account: str, region: str) -> PolicyStore:
        store = cls(account, region)
        resources = resolver.resources
        for logical, resource in resources.items():
            if resource["Type"] == "AWS::IAM::Role":
                store._add_role(resolver, logical, resource.get("Properties", {}))
        by_logical = {role.logical_id: role for role in store.roles.values()}
        for logical, resource in resources.items():
            kind, props = resource["Type"], resource.get("Properties", {})
            if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                document = _resolved(resolver, props["PolicyDocument"], logical)
                for ref in props.get("Roles", []):
                    role = by_logical[ref["Ref"]] if isinstance(ref, dict) else _role_named(store, str(ref))
                    role.policies.append((props.get("PolicyName", logical), document))
            elif kind == "AWS::S3::BucketPolicy":
                store.bucket_policies[str(resolver.resolve(props["Bucket"]))] = _resolved(
                    resolver, props["PolicyDocument"], logical
                )
            elif kind == "AWS::KMS::Key" and "KeyPolicy" in props:
                store.key_policies[resolver.arn(logical)] = _resolved(resolver, props["KeyPolicy"], logical)
            elif kind == "AWS::SNS::TopicPolicy":
                document = _resolved(resolver, props["PolicyDocument"], logical)
                for topic in props.get("Topics", []):
                    store.topic_policies[str(resolver.resolve(topic))] = document
            elif kind == "AWS::S3::Bucket":
                for rule in props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", []):
                    default = rule.get("ServerSideEncryptionByDefault", {})
                    if default.get("SSEAlgorithm") == "aws:kms" and "KMSMasterKeyID" in default:
                        store.bucket_keys[resolver.name(logical)] = str(resolver.resolve(default["KMSMasterKeyID"]))
            elif kind == "AWS::SNS::Topic" and "KmsMasterKeyId" in props:
                store.topic_keys[resolver.arn(logical)] = str(resolver.resolve(props["KmsMasterKeyId"]))
            elif kind == "AWS::Lambda::Function":
                store.function_roles[resolver.name(logical)] = str(resolver.resolve(props["Role"]))
            elif kind == "AWS::Glue::Job":
                store.job_roles[resolver.name(logical)] = str(resolver.resolve(props["Role"]))
            elif kind == "AWS::StepFunctions::StateMachine":
                store.state_machine_roles[resolver.name(logical)] = str(resolver.resolve(props["RoleArn"]))
        return store

    def _add_role(self, resolver: Resolver, logical: str, props: Json) -> None:
        arn = resolver.arn(logical)
        role = Role(arn, logical, _resolved(resolver, props["AssumeRolePolicyDocument"], logical))
        for inline in props.get("Policies", []):
            role.policies.append((inline["PolicyName"], _resolved(resolver, inline["PolicyDocument"], logical)))
        for managed in props.get("ManagedPolicyArns", []):
            managed_arn = str(resolver.resolve(managed))
            if managed_arn.startswith("arn:aws:iam::aws:policy/"):
                if managed_arn not in AWS_MANAGED:
                    raise TemplateError(
                        f"role {logical} attaches the AWS-managed policy {managed_arn}, which has no local copy in "
                        "dataplatform/local/iam/aws_managed.json: add its document there"
                    )
                role.policies.append((managed_arn.rsplit("/", 1)[-1], AWS_MANAGED[managed_arn]))
            else:
                role.policies.append(_customer_managed(resolver, managed, logical))
        self.roles[arn] = role


def _resolved(resolver: Resolver, document: Json, logical: str) -> Json:
    try:
        return resolver.resolve(document)
    except TemplateError as exc:
        raise TemplateError(f"the policy of {logical} cannot be resolved locally: {exc}") from None


def _role_named(store: PolicyStore, name: str) -> Role:
    for role in store.roles.values():
        if role.name == name:
            return role
    raise TemplateError(f"a policy is attached to role {name!r}, which the template does not declare")


def _customer_managed(resolver: Resolver, reference: Any, role_logical: str) -> Policy:
    if isinstance(reference, dict) and "Ref" in reference:
        resource = resolver.resources.get(reference["Ref"], {})
        if resource.get("Type") == "AWS::IAM::ManagedPolicy":
            return reference["Ref"], _resolved(resolver, resource["Properties"]["PolicyDocument"], reference["Ref"])
    raise TemplateError(f"role {role_logical} attaches managed policy {reference!r}, which is not in the template")
