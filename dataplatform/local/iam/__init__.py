"""Permissions enforced in local runs: every task's AWS calls are made as its role and decided by its policies.

`LocalIam` is what the local runner uses: the moto server with the enforcer in front (enforcer.py), the policies of
the synthesized template (policies.py), per-role credentials and the ContextVar identity (identity.py), and the
report (report.py). Developer tooling only: nothing in lambdas/, glue_jobs/ or the runtime package imports it.
See docs/local-runner.md, "Permissions".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from dataplatform.local.iam.enforcer import Authority, EnforcedMotoServer
from dataplatform.local.iam.identity import (
    MOTO_INTERPRETER_KEY,
    Identity,
    InstalledIdentity,
    as_identity,
    mint,
    runner_credentials,
)
from dataplatform.local.iam.policies import PolicyStore
from dataplatform.local.iam.report import Recorder, Summary
from dataplatform.local.template import ACCOUNT, REGION, Resolver, TemplateError

SERVICE_PRINCIPALS = {
    "function": "lambda.amazonaws.com",
    "job": "glue.amazonaws.com",
    "state machine": "states.amazonaws.com",
}


class LocalIam:
    def __init__(self, mode: str = "strict", report: Path | None = None) -> None:
        self.authority = Authority(mode=mode, recorder=Recorder(report))
        self.mode = mode
        self._installed: InstalledIdentity | None = None
        self._identities: dict[str, Identity] = {}
        self.state_machine_role: str | None = None

    @property
    def store(self) -> PolicyStore:
        assert self.authority.store is not None, "LocalIam.load() has not run"
        return self.authority.store

    def server(self, port: int) -> Any:
        """The moto server this run uses: enforced unless the mode is off."""
        if self.mode == "off":
            from moto.server import ThreadedMotoServer

            return ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._installed = InstalledIdentity()
        return EnforcedMotoServer(self.authority, port=port, account=ACCOUNT, region=REGION)

    def load(self, resolver: Resolver, sts: Any) -> None:
        """Read the template's policies and mint one set of keys per role a task runs as (checking its trust)."""
        store = PolicyStore.from_template(resolver, ACCOUNT, REGION)
        if self.mode == "off":
            self.authority.store = store
            return
        tasks = [
            *(("function", name, arn) for name, arn in store.function_roles.items()),
            *(("job", name, arn) for name, arn in store.job_roles.items()),
            *(("state machine", name, arn) for name, arn in store.state_machine_roles.items()),
        ]
        for kind, name, role_arn in tasks:
            role = store.roles.get(role_arn)
            if role is None:
                raise TemplateError(f"{kind} {name} runs as {role_arn}, which the template does not declare")
            if not role.trusts(SERVICE_PRINCIPALS[kind]):
                raise TemplateError(f"{kind} {name}: role {role.logical_id} does not trust {SERVICE_PRINCIPALS[kind]}")
            if role_arn not in self._identities:
                session = "GlueJobRunnerSession" if kind == "job" else name
                self._identities[role_arn] = mint(sts, role_arn, session)
                self.authority.registry.register(self._identities[role_arn])
        if len(store.state_machine_roles) == 1:
            (self.state_machine_role,) = store.state_machine_roles.values()
            self.authority.registry.alias(MOTO_INTERPRETER_KEY, self.state_machine_role)
        self.authority.store = store

    # ------------------------------------------------------------ identities
    def _as_role(self, role_arn: str | None) -> Any:
        if self.mode == "off" or role_arn is None:
            return nullcontext()
        return as_identity(self._identities[role_arn].credentials)

    def as_function(self, function_name: str) -> Any:
        return self._as_role(self.store.function_roles.get(function_name) if self.authority.store else None)

    def as_job(self, job_name: str) -> Any:
        return self._as_role(self.store.job_roles.get(job_name) if self.authority.store else None)

    def as_state_machine(self) -> Any:
        return self._as_role(self.state_machine_role)

    @contextmanager
    def as_runner(self) -> Iterator[None]:
        """The local stand-in of an AWS service's own work (Glue reading its job definition): not checked."""
        if self.mode == "off":
            yield
            return
        with as_identity(runner_credentials()):
            yield

    def require(self, action: str, resource: str, operation: str) -> None:
        """The state machine role's permission for an integration the dispatcher runs itself (never reaches moto)."""
        if self.mode != "off" and self.state_machine_role is not None:
            self.authority.require(self.state_machine_role, action, resource, operation)

    # ------------------------------------------------------------ results
    def summary(self) -> Summary:
        return self.authority.recorder.summary()

    def close(self) -> None:
        self.authority.recorder.close()
        if self._installed is not None:
            self._installed.close()
            self._installed = None


__all__ = ["LocalIam", "Summary"]
