"""Compare what a synthesized CloudFormation template promises with what a deployment reports.

Template values contain intrinsics (Ref, Fn::GetAtt, Fn::Join, Fn::Sub). Rather than re-implementing
CloudFormation, each intrinsic becomes a regular expression: a Ref to a stack resource must be exactly that
resource's physical ID, a GetAtt ...Arn must contain it, pseudo parameters are their LocalStack values, and
anything else must be non-empty. Literal text around them must match exactly.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

INTRINSICS = ("Ref", "Fn::GetAtt", "Fn::Join", "Fn::Sub", "Fn::Select", "Fn::Split", "Fn::ImportValue", "Fn::If")


@dataclass
class Resolver:
    """Physical IDs of the deployed stack plus the pseudo parameters, to turn template values into patterns."""

    physical: dict[str, str]
    account: str
    region: str
    pseudo: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.pseudo = {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }

    def pattern(self, value: Any) -> str:
        """A regex (unanchored) that the deployed string form of a template value must fully match."""
        if isinstance(value, str):
            return re.escape(value)
        if isinstance(value, bool):
            return re.escape(str(value).lower())
        if isinstance(value, int | float):
            return re.escape(str(value))
        if is_intrinsic(value):
            (name, arg), *_ = value.items()
            if name == "Ref":
                if arg in self.pseudo:
                    return re.escape(self.pseudo[arg])
                if arg in self.physical:
                    return re.escape(self.physical[arg])
                return ".+"
            if name == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                if attribute == "Arn" and logical in self.physical:
                    # an ARN ends in (or is) the physical ID: name, key id or the ARN itself; an SQS
                    # queue's physical ID is its URL, whose last segment is the queue name in the ARN
                    physical = self.physical[logical]
                    tail = physical.rstrip("/").rsplit("/", 1)[-1] if "://" in physical else physical
                    return "[^\"']*" + re.escape(tail.rsplit(":", 1)[-1]) + "[^\"']*"
                return ".+?"
            if name == "Fn::Join":
                separator, parts = arg
                if is_intrinsic(parts):
                    return ".*"
                return re.escape(separator).join(self.pattern(part) for part in parts)
            if name == "Fn::Sub":
                template, variables = (arg, {}) if isinstance(arg, str) else arg
                pieces = re.split(r"\$\{([^}!][^}]*)\}", template)
                out = []
                for index, piece in enumerate(pieces):
                    if index % 2 == 0:
                        out.append(re.escape(piece))
                    elif piece in variables:
                        out.append(self.pattern(variables[piece]))
                    else:
                        logical, _, attribute = piece.partition(".")
                        out.append(
                            self.pattern({"Fn::GetAtt": [logical, attribute]} if attribute else {"Ref": logical})
                        )
                return "".join(out)
            return ".+?"
        return re.escape(json.dumps(value, separators=(",", ":")))

    def matches(self, promised: Any, deployed: Any, path: str = "$") -> list[str]:
        """Differences between a template value and the deployed one; [] if the deployment keeps the promise.

        Dicts: every promised key must be there and match (the service may add defaults). Lists: same length,
        pairwise. Scalars: equal after CloudFormation's string coercion ("true" == True, "7" == 7).
        """
        if is_intrinsic(promised):
            text = deployed if isinstance(deployed, str) else json.dumps(deployed)
            if re.fullmatch(self.pattern(promised), text, flags=re.DOTALL):
                return []
            return [f"{path}: {text!r} does not match {promised!r}"]
        if isinstance(promised, dict):
            if not isinstance(deployed, dict):
                return [f"{path}: expected an object, got {deployed!r}"]
            problems: list[str] = []
            for key, value in promised.items():
                if key not in deployed:
                    problems.append(f"{path}.{key}: missing (promised {value!r})")
                else:
                    problems += self.matches(value, deployed[key], f"{path}.{key}")
            return problems
        if isinstance(promised, list):
            if not isinstance(deployed, list):
                # IAM accepts a one-element list where a string is given back, and the reverse
                if len(promised) == 1:
                    return self.matches(promised[0], deployed, path)
                return [f"{path}: expected a list, got {deployed!r}"]
            if len(promised) != len(deployed):
                return [f"{path}: expected {len(promised)} items, got {len(deployed)}: {deployed!r}"]
            problems = []
            for index, (want, got) in enumerate(zip(promised, deployed, strict=True)):
                problems += self.matches(want, got, f"{path}[{index}]")
            return problems
        if promised == deployed or str(promised).lower() == str(deployed).lower():
            return []
        return [f"{path}: expected {promised!r}, got {deployed!r}"]


def is_intrinsic(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in INTRINSICS


CFN_LIFECYCLE_KEYS = {
    "Id",
    "Status",
    "Prefix",
    "ExpirationInDays",
    "NoncurrentVersionExpiration",
    "NoncurrentVersionExpirationInDays",
    "Transitions",
    "NoncurrentVersionTransitions",
    "AbortIncompleteMultipartUpload",
    "ExpiredObjectDeleteMarker",
    "TagFilters",
    "ObjectSizeGreaterThan",
    "ObjectSizeLessThan",
}


def lifecycle_rule_to_api(rule: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's LifecycleConfiguration rule shape -> the S3 API's (GetBucketLifecycleConfiguration)."""
    unknown = set(rule) - CFN_LIFECYCLE_KEYS
    if unknown:
        raise AssertionError(f"lifecycle keys {sorted(unknown)} are not mapped yet; extend lifecycle_rule_to_api")
    api: dict[str, Any] = {"Status": rule["Status"]}
    if "Id" in rule:
        api["ID"] = rule["Id"]
    if "Prefix" in rule:
        api["Filter"] = {"Prefix": rule["Prefix"]}
    expiration: dict[str, Any] = {}
    if "ExpirationInDays" in rule:
        expiration["Days"] = rule["ExpirationInDays"]
    if "ExpiredObjectDeleteMarker" in rule:
        expiration["ExpiredObjectDeleteMarker"] = rule["ExpiredObjectDeleteMarker"]
    if expiration:
        api["Expiration"] = expiration
    if "NoncurrentVersionExpiration" in rule:
        api["NoncurrentVersionExpiration"] = rule["NoncurrentVersionExpiration"]
    if "NoncurrentVersionExpirationInDays" in rule:
        api["NoncurrentVersionExpiration"] = {"NoncurrentDays": rule["NoncurrentVersionExpirationInDays"]}
    if "Transitions" in rule:
        api["Transitions"] = [
            {"StorageClass": t["StorageClass"], "Days": t["TransitionInDays"]} for t in rule["Transitions"]
        ]
    if "NoncurrentVersionTransitions" in rule:
        api["NoncurrentVersionTransitions"] = [
            {"StorageClass": t["StorageClass"], "NoncurrentDays": t["TransitionInDays"]}
            for t in rule["NoncurrentVersionTransitions"]
        ]
    if "AbortIncompleteMultipartUpload" in rule:
        api["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
    return api
