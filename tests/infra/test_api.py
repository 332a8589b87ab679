"""The API construct on a bare stack: routes and their authorization, throttling, access logs, CORS, the layer."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match, Template

from dataplatform.api.access import ROUTES
from dataplatform.config import PipelineConfig, parse_config
from infra.api import Api
from infra.pandas_layer import LAYER_ARNS, chosen_layer, layer_arn
from infra.storage import Storage
from tests.infra.conftest import ROOT, SMALL_PIPELINE, bare_stack, resources


def template(config: PipelineConfig, config_file) -> Template:  # type: ignore[no-untyped-def]
    stack = bare_stack()
    storage = Storage(stack, "Storage", config=config)
    Api(stack, "Api", config=config, storage=storage, root=ROOT, config_file=config_file, marts=["daily", "kpi"])
    return Template.from_stack(stack)


def test_iam_routes_health_open_and_caller_policies(config: PipelineConfig, config_file) -> None:  # type: ignore[no-untyped-def]
    t = template(config, config_file)
    routes = {r["Properties"]["RouteKey"]: r["Properties"] for r in resources(t, "AWS::ApiGatewayV2::Route").values()}
    assert set(routes) == {f"{s.method} {s.path}" for s in ROUTES}
    assert routes["GET /health"]["AuthorizationType"] == "NONE"
    assert {k for k, r in routes.items() if r["AuthorizationType"] == "AWS_IAM"} == set(routes) - {"GET /health"}
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"][0] for p in resources(t, "AWS::IAM::ManagedPolicy").values()
    ]
    suffixes = sorted(json.dumps(p["Resource"]).split("$default/")[1].split('"')[0] for p in policies)
    assert suffixes == ["GET/*", "POST/uploads/*"] and all(p["Action"] == "execute-api:Invoke" for p in policies)
    function = next(iter(resources(t, "AWS::Lambda::Function").values()))["Properties"]
    assert function["Layers"] == [LAYER_ARNS["eu-central-1"]]
    assert function["Environment"]["Variables"]["API_MARTS"] == "daily,kpi"
    assert function["Timeout"] == 29


def test_stage_throttling_and_encrypted_access_logs(config: PipelineConfig, config_file) -> None:  # type: ignore[no-untyped-def]
    t = template(config, config_file)
    (stage,) = resources(t, "AWS::ApiGatewayV2::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == "$default" and props["AutoDeploy"] is True
    assert props["DefaultRouteSettings"] == {"ThrottlingBurstLimit": 40, "ThrottlingRateLimit": 20}
    log_group_id = props["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    assert "routeKey" in json.loads(props["AccessLogSettings"]["Format"])
    log_group = t.to_json()["Resources"][log_group_id]["Properties"]
    assert "KmsKeyId" in log_group and log_group["LogGroupName"].startswith("/aws/vendedlogs/apigateway/")
    (api,) = resources(t, "AWS::ApiGatewayV2::Api").values()
    assert "CorsConfiguration" not in api["Properties"]  # no origins configured: no CORS at all


JWT = (
    SMALL_PIPELINE
    + """\
api:
  auth: {mode: jwt, issuer: "https://idp.example.com/pool", audience: [client-a], read_scope: shop/read,
         upload_scope: shop/upload}
  cors_origins: ["https://console.example.com"]
  throttling: {rate_limit: 5, burst_limit: 10}
  uploads: {max_mb: 10, per_dataset_max_mb: {orders: 2}}
"""
)


def test_jwt_authorizer_scopes_and_cors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config_file = tmp_path / "pipeline.yaml"
    config_file.write_text(JWT)
    t = template(parse_config(JWT, file="jwt.yaml"), config_file)
    (authorizer,) = resources(t, "AWS::ApiGatewayV2::Authorizer").values()
    assert authorizer["Properties"]["AuthorizerType"] == "JWT"
    assert authorizer["Properties"]["JwtConfiguration"] == {
        "Audience": ["client-a"],
        "Issuer": "https://idp.example.com/pool",
    }
    routes = {r["Properties"]["RouteKey"]: r["Properties"] for r in resources(t, "AWS::ApiGatewayV2::Route").values()}
    assert routes["POST /uploads/{dataset}"]["AuthorizationScopes"] == ["shop/upload"]
    assert routes["GET /kpi/summary"]["AuthorizationScopes"] == ["shop/read"]
    assert "AuthorizationScopes" not in routes["GET /health"]
    assert resources(t, "AWS::IAM::ManagedPolicy") == {}
    t.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {"CorsConfiguration": Match.object_like({"AllowOrigins": ["https://console.example.com"]})},
    )
    t.has_resource_properties(
        "AWS::ApiGatewayV2::Stage", {"DefaultRouteSettings": {"ThrottlingBurstLimit": 10, "ThrottlingRateLimit": 5}}
    )


def test_layer_is_pinned_per_region_and_unknown_regions_fail() -> None:
    assert layer_arn("us-east-1").endswith(":336392948345:layer:AWSSDKPandas-Python312:29")
    assert all(":layer:AWSSDKPandas-Python312:" in arn and f":{region}:" in arn for region, arn in LAYER_ARNS.items())
    with pytest.raises(ValueError, match="not published in region 'mars-1'"):
        layer_arn("mars-1")


def test_layer_context_managed_none_or_own_arn() -> None:
    assert chosen_layer(None, "eu-west-1") == chosen_layer("managed", "eu-west-1") == LAYER_ARNS["eu-west-1"]
    assert chosen_layer("none", "eu-west-1") is None
    own = "arn:aws:lambda:eu-west-1:111122223333:layer:my-pandas:3"
    assert chosen_layer(own, "mars-1") == own
    with pytest.raises(ValueError, match="aws_sdk_pandas_layer"):
        chosen_layer("latest", "eu-west-1")
