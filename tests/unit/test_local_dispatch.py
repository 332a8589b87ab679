"""The local runner's task dispatch: parameter validation against the real APIs, Glue argument merging."""

from __future__ import annotations

import pytest

from dataplatform.local.sfn_dispatch import TaskParameterError, validate_request
from dataplatform.local.spark_runner import GlueJobError, _check_argument_names
from dataplatform.local.template import Resolver


def test_requests_are_validated_like_the_real_service() -> None:
    validate_request("glue", "StartJobRun", {"JobName": "retail-standardize-sales", "Arguments": {"--dataset": "x"}})
    with pytest.raises(TaskParameterError, match="JobName"):
        validate_request("glue", "StartJobRun", {"Arguments": {"--dataset": "x"}})
    with pytest.raises(TaskParameterError, match="JobNam"):
        validate_request("glue", "StartJobRun", {"JobName": "j", "JobNam": "typo"})
    with pytest.raises(TaskParameterError, match="QueryString"):
        validate_request("athena", "StartQueryExecution", {"WorkGroup": "retail"})


def test_deployed_default_arguments_are_accepted_and_typos_are_not() -> None:
    # Glue merges the job's DefaultArguments (which carry these, see docs/contracts.md) into every run.
    _check_argument_names(
        {
            "--dataset": "sales",
            "--raw_bucket": "r",
            "--curated_bucket": "c",
            "--curated_database": "retail_curated",
            "--enable-metrics": "",
            "--job-language": "python",
        }
    )
    with pytest.raises(GlueJobError, match="--datset"):
        _check_argument_names({"--datset": "sales"})


def test_template_tokens_resolve_to_local_names() -> None:
    template = {
        "Resources": {
            "Raw": {"Type": "AWS::S3::Bucket", "Properties": {}},
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "retail-resolve-run"}},
            "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "retail-alerts"}},
        }
    }
    r = Resolver(template)
    assert r.resolve({"Fn::Join": ["", ["s3://", {"Ref": "Raw"}, "/curated/"]]}) == "s3://local-raw/curated/"
    assert (
        r.resolve({"Fn::GetAtt": ["Fn", "Arn"]}) == "arn:aws:lambda:us-east-1:123456789012:function:retail-resolve-run"
    )
    assert r.resolve({"Ref": "Topic"}) == "arn:aws:sns:us-east-1:123456789012:retail-alerts"
    assert r.resolve({"Fn::Sub": "arn:${AWS::Partition}:s3:::${Raw}/x"}) == "arn:aws:s3:::local-raw/x"


def test_a_new_platform_starts_with_cold_lambda_containers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Module-level caches of the runtime package (a client bound to an earlier platform's endpoint) are cleared."""
    import functools
    import sys
    import types

    from dataplatform.local.dispatcher import cold_start

    module = types.ModuleType("dataplatform.cold_start_probe")
    calls: list[int] = []

    @functools.lru_cache(maxsize=1)
    def client() -> int:
        calls.append(1)
        return len(calls)

    client.__module__ = module.__name__
    module.client = client  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    assert client() == client() == 1
    cold_start()
    assert client() == 2
