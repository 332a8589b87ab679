"""Apply the AWS::S3::Bucket properties that LocalStack's community CloudFormation provider drops.

Its provider (localstack.services.s3.resource_providers.aws_s3_bucket) creates the bucket and applies
versioning, CORS, object lock, tags, website and notifications, but silently ignores BucketEncryption,
PublicAccessBlockConfiguration, LifecycleConfiguration, LoggingConfiguration and OwnershipControls, so a
deployed bucket could never be checked against those promises. After the provider's create succeeds, this hook
puts them through LocalStack's S3 API, the way CloudFormation does in AWS, so S3's own validation applies
(a malformed lifecycle rule or a missing log bucket fails the deploy, as it would in AWS). Updates are not
re-applied: the suite deploys once and destroys.
"""

from __future__ import annotations

import logging
from typing import Any

from localstack.runtime import hooks

LOG = logging.getLogger(__name__)


def lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's lifecycle rule shape -> PutBucketLifecycleConfiguration's."""
    api: dict[str, Any] = {"Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "Id" in rule:
        api["ID"] = rule["Id"]
    expiration = {}
    if "ExpirationInDays" in rule:
        expiration["Days"] = int(rule["ExpirationInDays"])
    if "ExpiredObjectDeleteMarker" in rule:
        expiration["ExpiredObjectDeleteMarker"] = bool(rule["ExpiredObjectDeleteMarker"])
    if expiration:
        api["Expiration"] = expiration
    if "NoncurrentVersionExpiration" in rule:
        api["NoncurrentVersionExpiration"] = {
            key: int(value) for key, value in rule["NoncurrentVersionExpiration"].items()
        }
    elif "NoncurrentVersionExpirationInDays" in rule:
        api["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(rule["NoncurrentVersionExpirationInDays"])}
    if "Transitions" in rule:
        api["Transitions"] = [
            {"Days": int(t["TransitionInDays"]), "StorageClass": t["StorageClass"]} for t in rule["Transitions"]
        ]
    if "NoncurrentVersionTransitions" in rule:
        api["NoncurrentVersionTransitions"] = [
            {"NoncurrentDays": int(t["TransitionInDays"]), "StorageClass": t["StorageClass"]}
            for t in rule["NoncurrentVersionTransitions"]
        ]
    if "AbortIncompleteMultipartUpload" in rule:
        api["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        }
    return api


def as_bool(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def apply_properties(s3: Any, model: dict[str, Any]) -> None:
    bucket = model["BucketName"]
    if encryption := model.get("BucketEncryption"):
        rules = []
        for rule in encryption["ServerSideEncryptionConfiguration"]:
            api_rule: dict[str, Any] = {}
            if "ServerSideEncryptionByDefault" in rule:
                api_rule["ApplyServerSideEncryptionByDefault"] = rule["ServerSideEncryptionByDefault"]
            if "BucketKeyEnabled" in rule:
                api_rule["BucketKeyEnabled"] = as_bool(rule["BucketKeyEnabled"])
            rules.append(api_rule)
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": rules})
    if block := model.get("PublicAccessBlockConfiguration"):
        s3.put_public_access_block(
            Bucket=bucket, PublicAccessBlockConfiguration={key: as_bool(value) for key, value in block.items()}
        )
    if ownership := model.get("OwnershipControls"):
        s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=ownership)
    if lifecycle := model.get("LifecycleConfiguration"):
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": [lifecycle_rule(r) for r in lifecycle["Rules"]]}
        )
    if logging_config := model.get("LoggingConfiguration"):
        enabled = {
            "TargetBucket": logging_config.get("DestinationBucketName", bucket),
            "TargetPrefix": logging_config.get("LogFilePrefix", ""),
        }
        s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={"LoggingEnabled": enabled})


@hooks.on_infra_start()
def apply_s3_bucket_properties() -> None:
    from localstack.services.cloudformation.resource_provider import OperationStatus
    from localstack.services.s3.resource_providers.aws_s3_bucket import S3BucketProvider

    original = S3BucketProvider.create
    if getattr(original, "applies_dropped_properties", False):
        return

    def create(self: S3BucketProvider, request: Any) -> Any:
        event = original(self, request)
        if event.status == OperationStatus.SUCCESS:
            apply_properties(request.aws_client_factory.s3, event.resource_model)
        return event

    create.applies_dropped_properties = True  # type: ignore[attr-defined]
    S3BucketProvider.create = create  # type: ignore[method-assign]
    LOG.debug("AWS::S3::Bucket create now applies encryption, public access block, lifecycle, logging, ownership")
