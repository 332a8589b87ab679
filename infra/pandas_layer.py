"""The managed AWS SDK for pandas Lambda layer (awswrangler with pandas and pyarrow), pinned per region.

AWS publishes one layer version per region and release; the ARNs below are those of release 3.17.0 for
python3.12 x86_64, from the project's layer table (docs/source/layers.rst of aws/aws-sdk-pandas, "Version 3.17.0").
Local tests run awswrangler 3.17.0 too (requirements-layer.txt). Moving to another release means replacing this
table and that pin together.
"""

from __future__ import annotations

AWS_SDK_PANDAS_VERSION = "3.17.0"

LAYER_ARNS: dict[str, str] = {
    "af-south-1": "arn:aws:lambda:af-south-1:336392948345:layer:AWSSDKPandas-Python312:28",
    "ap-northeast-1": "arn:aws:lambda:ap-northeast-1:336392948345:layer:AWSSDKPandas-Python312:29",
    "ap-northeast-2": "arn:aws:lambda:ap-northeast-2:336392948345:layer:AWSSDKPandas-Python312:29",
    "ap-northeast-3": "arn:aws:lambda:ap-northeast-3:336392948345:layer:AWSSDKPandas-Python312:29",
    "ap-south-1": "arn:aws:lambda:ap-south-1:336392948345:layer:AWSSDKPandas-Python312:29",
    "ap-southeast-1": "arn:aws:lambda:ap-southeast-1:336392948345:layer:AWSSDKPandas-Python312:29",
    "ap-southeast-2": "arn:aws:lambda:ap-southeast-2:336392948345:layer:AWSSDKPandas-Python312:29",
    "ca-central-1": "arn:aws:lambda:ca-central-1:336392948345:layer:AWSSDKPandas-Python312:29",
    "eu-central-1": "arn:aws:lambda:eu-central-1:336392948345:layer:AWSSDKPandas-Python312:29",
    "eu-north-1": "arn:aws:lambda:eu-north-1:336392948345:layer:AWSSDKPandas-Python312:29",
    "eu-west-1": "arn:aws:lambda:eu-west-1:336392948345:layer:AWSSDKPandas-Python312:29",
    "eu-west-2": "arn:aws:lambda:eu-west-2:336392948345:layer:AWSSDKPandas-Python312:29",
    "eu-west-3": "arn:aws:lambda:eu-west-3:336392948345:layer:AWSSDKPandas-Python312:29",
    "sa-east-1": "arn:aws:lambda:sa-east-1:336392948345:layer:AWSSDKPandas-Python312:29",
    "us-east-1": "arn:aws:lambda:us-east-1:336392948345:layer:AWSSDKPandas-Python312:29",
    "us-east-2": "arn:aws:lambda:us-east-2:336392948345:layer:AWSSDKPandas-Python312:29",
    "us-west-1": "arn:aws:lambda:us-west-1:336392948345:layer:AWSSDKPandas-Python312:29",
    "us-west-2": "arn:aws:lambda:us-west-2:336392948345:layer:AWSSDKPandas-Python312:29",
    "ap-east-1": "arn:aws:lambda:ap-east-1:839552336658:layer:AWSSDKPandas-Python312:26",
    "ap-south-2": "arn:aws:lambda:ap-south-2:246107603503:layer:AWSSDKPandas-Python312:26",
    "ap-southeast-3": "arn:aws:lambda:ap-southeast-3:258944054355:layer:AWSSDKPandas-Python312:26",
    "ap-southeast-4": "arn:aws:lambda:ap-southeast-4:945386623051:layer:AWSSDKPandas-Python312:26",
    "ca-west-1": "arn:aws:lambda:ca-west-1:941713567376:layer:AWSSDKPandas-Python312:3",
    "eu-central-2": "arn:aws:lambda:eu-central-2:956415814219:layer:AWSSDKPandas-Python312:26",
    "eu-south-1": "arn:aws:lambda:eu-south-1:774444163449:layer:AWSSDKPandas-Python312:26",
    "eu-south-2": "arn:aws:lambda:eu-south-2:982086096842:layer:AWSSDKPandas-Python312:26",
    "il-central-1": "arn:aws:lambda:il-central-1:263840725265:layer:AWSSDKPandas-Python312:26",
    "me-central-1": "arn:aws:lambda:me-central-1:593833071574:layer:AWSSDKPandas-Python312:26",
    "cn-north-1": "arn:aws-cn:lambda:cn-north-1:406640652441:layer:AWSSDKPandas-Python312:10",
    "cn-northwest-1": "arn:aws-cn:lambda:cn-northwest-1:406640652441:layer:AWSSDKPandas-Python312:10",
}


LAYER_CONTEXT = "aws_sdk_pandas_layer"
"""cdk.json context: `managed` (default: the ARN below for the stack's region), a layer ARN of your own (a region
the table lacks, or a copy of the layer), or `none` (no layer: LocalStack's free tier cannot fetch AWS's public
layers; the API then answers every query route with an error, the other routes work)."""


def chosen_layer(setting: str | None, region: str) -> str | None:
    """The layer ARN the API function gets for a `aws_sdk_pandas_layer` context value, or None for `none`."""
    if setting in (None, "", "managed"):
        return layer_arn(region)
    if setting == "none":
        return None
    if not setting.startswith("arn:") or ":layer:" not in setting:
        raise ValueError(
            f"context {LAYER_CONTEXT}: expected managed, none or a Lambda layer version ARN, got {setting!r}"
        )
    return setting


def layer_arn(region: str) -> str:
    """The layer for a region; a region it is not published in is an error naming the ones it is."""
    try:
        return LAYER_ARNS[region]
    except KeyError:
        raise ValueError(
            f"the AWS SDK for pandas layer {AWS_SDK_PANDAS_VERSION} (python3.12, x86_64) is not published in region "
            f"{region!r}; regions: {', '.join(sorted(LAYER_ARNS))}"
        ) from None
