"""No IAM statement of the stack grants an action on Resource '*' unless AWS offers no resource-level permission
for it. cdk-nag's acknowledgment of `IAM5[Resource::*]` relies on this list; a new action here fails the test."""

from __future__ import annotations

from typing import Any

from tests.infra.conftest import Synth

# Each: AWS documents no resource-level permissions for it (the Service Authorization Reference lists no resource
# types), so a policy can only name '*'. Conditions narrow some of them (cloudwatch:namespace).
ACTIONS_WITHOUT_RESOURCES = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
    "cloudwatch:PutMetricData",
}


def _statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    props = resource["Properties"]
    if resource["Type"] == "AWS::IAM::Policy":
        return list(props["PolicyDocument"]["Statement"])
    return [s for policy in props.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_only_actions_without_resource_level_permissions_use_resource_star(synth: Synth) -> None:
    offending = {}
    for kind in ("AWS::IAM::Policy", "AWS::IAM::Role", "AWS::IAM::ManagedPolicy"):
        for logical, resource in synth.resources(kind).items():
            for statement in _statements(resource):
                if statement.get("Effect") != "Allow" or "*" not in _as_list(statement.get("Resource")):
                    continue
                extra = sorted(set(_as_list(statement["Action"])) - ACTIONS_WITHOUT_RESOURCES)
                if extra:
                    offending[logical] = extra
    assert offending == {}
