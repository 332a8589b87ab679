"""The check in front of moto: every signed request is decided by the template's policies before moto sees it.

`Authority` decides and records; `Enforcer` is the WSGI middleware around moto's server app that maps a request to
its checks (actions.py), adds the KMS checks AWS makes for SSE-KMS buckets and encrypted topics, and answers a
denial the way the service does (S3: XML AccessDenied, 403; JSON services: AccessDeniedException, 400; SNS:
AuthorizationError), naming the role session, the action and the resource. DeleteObjects is authorized per key,
as on S3: denied keys come back as <Error> entries of a 200 and only the allowed ones reach moto.

Local traffic is plain HTTP, but it stands for production TLS traffic: aws:SecureTransport is "true", otherwise
every CDK enforceSSL policy would deny everything. The enforcer does not verify signatures (loopback only); it does
check that a session token belongs to its access key.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from dataplatform.local.iam.actions import Check, Request, Unmapped, credential_scope, map_request
from dataplatform.local.iam.evaluator import Decision, Principal, denial_message, evaluate
from dataplatform.local.iam.identity import NO_TASK_KEY, RUNNER_KEY, KeyRegistry
from dataplatform.local.iam.policies import PolicyStore
from dataplatform.local.iam.report import Recorder
from dataplatform.local.iam.responses import (
    DENIED,
    DENIED_JSON,
    DENIED_QUERY,
    delete_allowed_keys,
    error_response,
)

Json = dict[str, Any]
StartResponse = Callable[..., Any]
MODES = ("strict", "audit", "off")
"""strict: denials fail the call; audit: they are only reported; off: no check at all."""


class AccessDenied(ClientError):
    """A denied service integration the local dispatcher runs itself (Lambda invoke, Glue job run)."""


@dataclass
class Authority:
    mode: str = "strict"
    store: PolicyStore | None = None
    registry: KeyRegistry = field(default_factory=KeyRegistry)
    recorder: Recorder = field(default_factory=Recorder)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"IAM mode must be one of {', '.join(MODES)}, not {self.mode!r}")

    def decide(
        self, principal: Principal, checks: Iterable[Check], operation: str, region: str
    ) -> list[tuple[Check, Decision]]:
        """Evaluate and record each check; returns every (check, decision)."""
        assert self.store is not None, "policies are loaded before any task runs"
        role = self.store.roles.get(principal.role_arn)
        identity_policies = role.policies if role else []
        base = {
            "aws:SecureTransport": "true",
            "aws:RequestedRegion": region,
            "aws:CurrentTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        decided = []
        for check in checks:
            resource_policy, required = self.store.resource_policy(check)
            decision = evaluate(
                principal,
                check.action,
                check.resource,
                identity_policies,
                resource_policy,
                {**base, **check.context},
                resource_policy_required=required,
            )
            self.recorder.record(
                {
                    "role": principal.role_arn,
                    "session": principal.session_arn,
                    "operation": operation,
                    "action": check.action,
                    "resource": check.resource,
                    "decision": decision.word,
                    "reason": decision.reason,
                    "matched": list(decision.matched),
                }
            )
            decided.append((check, decision))
        return decided

    def require(self, role_arn: str, action: str, resource: str, operation: str) -> None:
        """A check the dispatcher makes for an integration that never reaches moto; raises AccessDenied."""
        if self.mode == "off":
            return
        identity = self.registry.for_role(role_arn)
        if identity is None:
            raise RuntimeError(f"no credentials were minted for {role_arn}")
        assert self.store is not None
        ((_, decision),) = self.decide(identity.principal, [Check(action, resource)], operation, self.store.region)
        if not decision.allowed and self.mode == "strict":
            message = denial_message(identity.principal, action, resource, decision)
            error = {
                "Error": {"Code": "AccessDeniedException", "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": str(uuid.uuid4())},
            }
            raise AccessDenied(error, operation.split(":", 1)[-1])


class MotoLookups:
    """Facts from moto's backends (the server runs in this process)."""

    def __init__(self, account: str, region: str) -> None:
        self.account, self.region = account, region

    def secret_arn(self, secret_id: str) -> str:
        from moto.secretsmanager.models import secretsmanager_backends

        secrets = secretsmanager_backends[self.account][self.region].secrets
        if secret_id in secrets:
            return str(secrets[secret_id].arn)  # AWS appends a random 6-character suffix
        return f"arn:aws:secretsmanager:{self.region}:{self.account}:secret:{secret_id}"

    def query_workgroup(self, query_execution_id: str) -> str:
        from moto.athena.models import athena_backends

        execution = athena_backends[self.account][self.region].executions.get(query_execution_id)
        workgroup = getattr(execution, "workgroup", None)
        return str(getattr(workgroup, "name", None) or "primary")


def implied_kms_checks(store: PolicyStore, request: Request) -> list[Check]:
    """The KMS permissions AWS checks on the caller for SSE-KMS objects and encrypted topics (bucket keys on)."""
    if request.service == "sns":
        checks = []
        for check in request.checks:
            key = store.topic_keys.get(check.resource)
            if key:
                context = {"kms:ViaService": f"sns.{request.region}.amazonaws.com", "kms:CallerAccount": store.account}
                checks += [
                    Check("kms:GenerateDataKey", key, context, "kms-key"),
                    Check("kms:Decrypt", key, context, "kms-key"),
                ]
        return checks
    if request.service != "s3":
        return []
    needs = {
        "PutObject": ("kms:GenerateDataKey",),
        "CreateMultipartUpload": ("kms:GenerateDataKey", "kms:Decrypt"),
        "UploadPart": ("kms:GenerateDataKey", "kms:Decrypt"),
        "CompleteMultipartUpload": ("kms:GenerateDataKey", "kms:Decrypt"),
        "CopyObject": ("kms:GenerateDataKey",),
        "UploadPartCopy": ("kms:GenerateDataKey",),
        "GetObject": ("kms:Decrypt",),
        "GetObjectVersion": ("kms:Decrypt",),
    }.get(request.operation, ())
    checks = []
    for index, check in enumerate(request.checks):
        bucket = check.resource.split(":::", 1)[1].split("/", 1)[0]
        key = check.context.get("s3:x-amz-server-side-encryption-aws-kms-key-id") or store.bucket_keys.get(bucket)
        if not key or check.kind != "s3-object":
            continue
        context = {
            "kms:ViaService": f"s3.{request.region}.amazonaws.com",
            "kms:CallerAccount": store.account,
            "kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{bucket}",
        }
        actions = needs if index == 0 else ("kms:Decrypt",)  # a copy's source is read
        checks += [Check(action, key, context, "kms-key") for action in actions]
    return checks


class Enforcer:
    """WSGI middleware around moto's app."""

    def __init__(self, app: Callable[..., Iterable[bytes]], authority: Authority, account: str, region: str) -> None:
        self.app, self.authority = app, authority
        self.account, self.region = account, region
        self.lookups = MotoLookups(account, region)

    def __call__(self, environ: Json, start_response: StartResponse) -> Iterable[bytes]:
        authority = self.authority
        signed = "HTTP_AUTHORIZATION" in environ or "X-Amz-Credential" in environ.get("QUERY_STRING", "")
        if authority.mode == "off" or not signed or environ.get("PATH_INFO", "").startswith("/moto-api"):
            return self.app(environ, start_response)
        access_key = credential_scope(environ)[0]
        if access_key == RUNNER_KEY or authority.store is None:
            authority.recorder.runner_call()
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        verdict = self._decide(environ, body)
        if verdict is None:
            return self.app(environ, start_response)
        if isinstance(verdict, set):
            return delete_allowed_keys(self.app, environ, body, verdict, start_response)
        status, headers, payload = verdict
        start_response(status, headers)
        return [payload]

    def _deny(self, row: Json, protocol: str, service: str, code: str, status: int, message: str, method: str) -> Any:
        self.authority.recorder.record(row)
        if self.authority.mode != "strict":
            return None
        return error_response(protocol, service, code, status, message, method)

    def _decide(self, environ: Json, body: bytes) -> Any:
        method = environ["REQUEST_METHOD"]
        try:
            request = map_request(environ, body, self.account, self.lookups)
        except Unmapped as unmapped:
            code, status = DENIED.get(unmapped.service) or (
                DENIED_JSON if unmapped.protocol == "json" else DENIED_QUERY
            )
            row = {
                "role": None,
                "operation": f"{unmapped.service}:{unmapped.operation}",
                "action": None,
                "resource": None,
                "decision": "Deny",
                "reason": "unmapped-operation",
                "matched": [],
            }
            message = (
                f"local IAM check: {unmapped.service}:{unmapped.operation} is not mapped to IAM actions "
                "(add it to dataplatform/local/iam/actions.py)"
            )
            return self._deny(row, unmapped.protocol, unmapped.service, code, status, message, method)
        identity = self.authority.registry.lookup(request.access_key, request.session_token)
        operation = f"{request.service}:{request.operation}"
        if identity is None:
            reason = "no-task-identity" if request.access_key == NO_TASK_KEY else "unknown-credentials"
            row = {
                "role": None,
                "operation": operation,
                "action": None,
                "resource": None,
                "decision": "Deny",
                "reason": reason,
                "matched": [],
                "access_key": request.access_key,
            }
            message = (
                "local IAM check: a call made outside any task's identity (a thread that did not inherit the "
                "task's context?)"
                if reason == "no-task-identity"
                else "The security token included in the request is invalid."
            )
            code, status = ("AccessDenied", 403) if request.protocol != "json" else DENIED_JSON
            return self._deny(row, request.protocol, request.service, code, status, message, method)
        assert self.authority.store is not None
        checks = [*request.checks, *implied_kms_checks(self.authority.store, request)]
        decided = self.authority.decide(identity.principal, checks, operation, request.region)
        denied = [(check, decision) for check, decision in decided if not decision.allowed]
        if not denied or self.authority.mode != "strict":
            return None
        if request.operation == "DeleteObjects" and all(c.action == "s3:DeleteObject" for c, _ in denied):
            return {c.resource.split(":::", 1)[1].split("/", 1)[1] for c, _ in denied}
        check, decision = denied[0]
        code, status = DENIED.get(request.service) or (DENIED_JSON if request.protocol == "json" else DENIED_QUERY)
        message = denial_message(identity.principal, check.action, check.resource, decision)
        return error_response(request.protocol, request.service, code, status, message, method)


class EnforcedMotoServer:
    """moto's ThreadedMotoServer with the enforcer around its app (same request handler, same lifecycle)."""

    def __init__(
        self, authority: Authority, *, port: int, account: str, region: str, ip_address: str = "127.0.0.1"
    ) -> None:
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        enforcer_app = Enforcer(DomainDispatcherApplication(create_backend_app), authority, account, region)

        class _Server(ThreadedMotoServer):
            def _server_entry(self) -> None:
                self._server = make_server(
                    self._ip_address, self._port, enforcer_app, True, request_handler=MotoRequestHandler
                )
                self._server_ready_event.set()
                self._server.serve_forever()

        self._server = _Server(ip_address=ip_address, port=port, verbose=False)

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()
