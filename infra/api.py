"""The HTTP API: an API Gateway HTTP API in front of one Powertools-resolver Lambda (`lambdas/api`).

Every route of `dataplatform.api.access.ROUTES` becomes an API Gateway route: `/health` without authorization,
every other route with the IAM authorizer (SigV4; the Read and Upload managed policies grant the two kinds of
route) or the JWT authorizer of the configured OIDC issuer, with the read or upload scope per route. The default
stage is throttled and writes JSON access logs to a KMS-encrypted log group; CORS allows the configured origins
only. The function reads Athena with awswrangler from the managed AWS SDK for pandas layer (infra/pandas_layer.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from dataplatform.api.access import ROUTES, RouteSpec
from dataplatform.config import PipelineConfig, sql_dir_of
from dataplatform.naming import database_names, function_name
from infra.functions import lambda_environment, python_function
from infra.nag import API_CHECKOV_FINDINGS, HEALTH_ROUTE_CHECKOV_FINDING, accept_checkov, acknowledge
from infra.pandas_layer import LAYER_CONTEXT, chosen_layer
from infra.storage import Storage, allow_log_groups_to_use_key

FOLDER = "api"
STAGE = "$default"
# What API Gateway writes per request ($context variables of HTTP APIs).
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
    "caller": "$context.identity.caller",
    "principal": "$context.authorizer.principalId",
}
POLICY_REASON = (
    "A caller policy for this API's routes: execute-api ARNs address routes as <api>/<stage>/<METHOD>/<path>, so "
    "granting the read routes (every GET) or the upload route (POST /uploads/<dataset>) needs the trailing '*'."
)


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        storage: Storage,
        root: Path,
        config_file: Path,
        marts: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        stack = Stack.of(self)
        name = function_name(config.project, FOLDER)
        self.function, self.role = python_function(
            self,
            "Function",
            folder=FOLDER,
            function_name=name,
            description=f"{config.project} HTTP API (KPIs, marts, runs, uploads)",
            role_description=f"{name}: reads the lake through Athena, presigns CSV uploads into landing prefixes",
            root=root,
            config_file=config_file,
            environment={**lambda_environment(config, storage, FOLDER), "API_MARTS": ",".join(marts)},
            memory_mb=1024,
            timeout=Duration.seconds(29),  # API Gateway gives up at 30 s; the app answers 503 before
            key=storage.key,
            checkov_findings=API_CHECKOV_FINDINGS,
            layers=self._layers(),
            # The console derives its lineage page from the pipeline's SQL (dataplatform/console/lineage.py).
            bundled_folders=tuple((d, "sql") for d in [sql_dir_of(config, config_file)] if d.is_dir()),
        )
        self._grant(storage)
        self.access_logs = self._access_log_group(storage)
        self.http_api = apigw.HttpApi(
            self,
            "HttpApi",
            api_name=f"{config.project}-api",
            description=f"{config.project} data platform API",
            create_default_stage=False,
            cors_preflight=self._cors(),
        )
        self.stage = apigw.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            stage_name=STAGE,
            auto_deploy=True,
            throttle=apigw.ThrottleSettings(
                rate_limit=config.api.throttling.rate_limit, burst_limit=config.api.throttling.burst_limit
            ),
        )
        stage = self.stage.node.default_child
        assert isinstance(stage, apigw.CfnStage)
        stage.access_log_settings = apigw.CfnStage.AccessLogSettingsProperty(
            destination_arn=self.access_logs.log_group_arn, format=json.dumps(ACCESS_LOG_FORMAT)
        )
        self.routes = self._routes()
        self.read_policy, self.upload_policy = (
            self._caller_policies() if config.api.auth.mode == "iam" else (None, None)
        )
        CfnOutput(stack, "ApiUrl", value=self.stage.url, description="the HTTP API's base URL")

    def _layers(self) -> list[lambda_.ILayerVersion]:
        arn = chosen_layer(self.node.try_get_context(LAYER_CONTEXT), Stack.of(self).region)
        return [lambda_.LayerVersion.from_layer_version_arn(self, "AwsSdkPandas", arn)] if arn else []

    def _grant(self, storage: Storage) -> None:
        """Athena in the workgroup over the curated, marts and audit databases; presigning into landing prefixes."""
        stack, lake = Stack.of(self), storage.lake
        storage.grant_athena_query(self.role)
        glue_resources = [stack.format_arn(service="glue", resource="catalog")]
        for database in database_names(self.config.project).values():
            glue_resources.append(stack.format_arn(service="glue", resource="database", resource_name=database))
            glue_resources.append(stack.format_arn(service="glue", resource="table", resource_name=f"{database}/*"))
            acknowledge(
                self.role,
                f"AwsSolutions-IAM5[Resource::arn:{stack.partition}:glue:{stack.region}:{stack.account}:table/{database}/*]",
                "The API reads (GetTable/GetTables/GetPartitions only) the tables and views of this deployment's own "
                "Glue databases: marts, curated (quarantine summaries) and audit (runs); their names come from sql/.",
            )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "glue:GetDatabase",
                    "glue:GetTable",
                    "glue:GetTables",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                ],
                resources=glue_resources,
            )
        )
        # Athena reads the curated data and the audit records on the caller's behalf; the console reads the run
        # records (steps, assertions) itself.
        prefixes = [lake.curated_prefix(), lake.audit_prefix(), lake.runs_prefix()]
        storage.grant_prefixes(self.role, storage.curated_bucket, prefixes)
        # A presigned POST is signed with this role's credentials: S3 lets it write only what the role may.
        landing = sorted(set(self.config.uploadable_datasets().values()))
        if landing:
            storage.grant_prefixes(self.role, storage.raw_bucket, landing, write=True)

    def _access_log_group(self, storage: Storage) -> logs.LogGroup:
        name = f"/aws/vendedlogs/apigateway/{self.config.project}-api"
        allow_log_groups_to_use_key(storage.key, name)
        return logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=name,
            encryption_key=storage.key,
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.DESTROY,
        )

    def _cors(self) -> apigw.CorsPreflightOptions | None:
        origins = list(self.config.api.cors_origins)
        if not origins:
            return None
        return apigw.CorsPreflightOptions(
            allow_origins=origins,
            allow_methods=[apigw.CorsHttpMethod.GET, apigw.CorsHttpMethod.POST],
            allow_headers=["authorization", "content-type", "x-amz-date", "x-amz-security-token"],
            max_age=Duration.hours(1),
        )

    def _authorizer(self) -> apigw.IHttpRouteAuthorizer:
        auth = self.config.api.auth
        if auth.mode == "jwt":
            assert auth.issuer is not None
            return authorizers.HttpJwtAuthorizer("Jwt", auth.issuer, jwt_audience=list(auth.audience))
        return authorizers.HttpIamAuthorizer()

    def _scopes(self, spec: RouteSpec) -> list[str] | None:
        auth = self.config.api.auth
        if auth.mode != "jwt" or spec.access == "public":
            return None
        return [auth.read_scope if spec.access == "read" else auth.upload_scope]

    def _routes(self) -> dict[str, apigw.HttpRoute]:
        integration = integrations.HttpLambdaIntegration("Lambda", self.function)
        authorizer = self._authorizer()
        routes: dict[str, apigw.HttpRoute] = {}
        for spec in ROUTES:
            (route,) = self.http_api.add_routes(
                path=spec.path,
                methods=[apigw.HttpMethod(spec.method)],
                integration=integration,
                authorizer=apigw.HttpNoneAuthorizer() if spec.access == "public" else authorizer,
                authorization_scopes=self._scopes(spec),
            )
            routes[f"{spec.method} {spec.path}"] = route
            if spec.access == "public":
                accept_checkov(route, HEALTH_ROUTE_CHECKOV_FINDING)
                acknowledge(
                    route,
                    "AwsSolutions-APIG4",
                    "GET /health is the one anonymous route on purpose: a liveness probe that reads nothing and "
                    "returns only the project name; every other route needs IAM or JWT authorization.",
                )
        return routes

    def _caller_policies(self) -> tuple[iam.ManagedPolicy, iam.ManagedPolicy]:
        """IAM mode: attach Read to callers of the read routes, Upload to callers of the upload route."""

        def arn(method: str, path: str) -> str:
            return Stack.of(self).format_arn(
                service="execute-api", resource=self.http_api.api_id, resource_name=f"{STAGE}/{method}/{path}"
            )

        read = iam.ManagedPolicy(
            self,
            "ReadPolicy",
            description=f"Call the read routes of the {self.config.project} API (every GET)",
            statements=[iam.PolicyStatement(actions=["execute-api:Invoke"], resources=[arn("GET", "*")])],
        )
        upload = iam.ManagedPolicy(
            self,
            "UploadPolicy",
            description=f"Ask the {self.config.project} API for presigned CSV uploads (POST /uploads/<dataset>)",
            statements=[iam.PolicyStatement(actions=["execute-api:Invoke"], resources=[arn("POST", "uploads/*")])],
        )
        stack = Stack.of(self)
        api = self.http_api.node.default_child
        assert isinstance(api, apigw.CfnApi)
        api_id = f"<{stack.resolve(stack.get_logical_id(api))}>"
        for policy, route in ((read, "GET/*"), (upload, "POST/uploads/*")):
            resource = f"arn:{stack.partition}:execute-api:{stack.region}:{stack.account}:{api_id}/{STAGE}/{route}"
            acknowledge(policy, f"AwsSolutions-IAM5[Resource::{resource}]", POLICY_REASON)
        CfnOutput(stack, "ApiReadPolicyArn", value=read.managed_policy_arn, description="attach to API readers")
        CfnOutput(stack, "ApiUploadPolicyArn", value=upload.managed_policy_arn, description="attach to API uploaders")
        return read, upload
