"""Who is calling: per-role credentials, and the in-process code's current role carried in a ContextVar.

Every role a task runs as gets its own SigV4 keys (sts:AssumeRole in moto, after checking that the role trusts the
service that runs the task); the enforcer maps an access key back to its role. In-process code (handlers, the Glue
job driver, the runner) creates clients with boto3's default session, whose credentials here are a
ContextCredentials: its value is the current context's role, read at every request signing, so `with as_role(...)`
switches identity for clients created earlier too, and concurrent tasks (Map iterations in other threads) never see
each other's keys. Environment variables could not do that: they are process-global, and boto3 caches them.

A thread starts with an empty context. s3transfer's worker threads (upload_file, download_file) get the submitting
thread's context copied in; any other thread that makes AWS calls without a role signs with NO_TASK_KEY, which the
enforcer denies and reports, so a missing identity shows up instead of passing as an administrator.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.credentials import Credentials, ReadOnlyCredentials

from dataplatform.local.iam.evaluator import Principal

RUNNER_KEY = "local"
"""The runner's own key (creating what the template declares, restoring the lake, test inspection): not checked."""
MOTO_INTERPRETER_KEY = "ak"
"""moto's Step Functions interpreter signs every service integration with this fixed key."""
NO_TASK_KEY = "LOCALNOTASKIDENTITY"

_current: contextvars.ContextVar[ReadOnlyCredentials | None] = contextvars.ContextVar(
    "local_aws_identity", default=None
)
_NO_TASK = ReadOnlyCredentials(NO_TASK_KEY, "local", None)


@dataclass(frozen=True)
class Identity:
    principal: Principal
    credentials: ReadOnlyCredentials


class ContextCredentials(Credentials):
    """botocore Credentials whose value is the current context's role (read at every signing)."""

    def __init__(self) -> None:
        self.method = "local-task-context"

    @staticmethod
    def _now() -> ReadOnlyCredentials:
        return _current.get() or _NO_TASK

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        return self._now()

    @property  # type: ignore[override]
    def access_key(self) -> str:
        return self._now().access_key

    @property  # type: ignore[override]
    def secret_key(self) -> str:
        return self._now().secret_key

    @property  # type: ignore[override]
    def token(self) -> str | None:
        return self._now().token


class ContextThreadPoolExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs each submitted callable in a copy of the submitter's context (so it signs as the same role)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


class KeyRegistry:
    """Access key -> identity, for the enforcer. Thread-safe: tasks mint keys while others run."""

    def __init__(self) -> None:
        self._by_key: dict[str, Identity] = {}
        self._by_role: dict[str, Identity] = {}
        self._aliases: dict[str, str] = {}
        self._lock = threading.Lock()

    def register(self, identity: Identity) -> None:
        with self._lock:
            self._by_key[identity.credentials.access_key] = identity
            self._by_role[identity.principal.role_arn] = identity

    def alias(self, fixed_key: str, role_arn: str) -> None:
        """Requests signed with `fixed_key` act as `role_arn` (moto's interpreter: the state machine's role)."""
        with self._lock:
            self._aliases[fixed_key] = self._by_role[role_arn].credentials.access_key

    def lookup(self, access_key: str | None, session_token: str | None) -> Identity | None:
        """The identity of a request's key; a session key only with its own token (a fixed alias has none)."""
        if access_key in self._aliases:
            return self._by_key.get(self._aliases[access_key])
        identity = self._by_key.get(access_key or "")
        if identity is None or identity.credentials.token != session_token:
            return None
        return identity

    def for_role(self, role_arn: str) -> Identity | None:
        return self._by_role.get(role_arn)


def mint(sts: Any, role_arn: str, session_name: str) -> Identity:
    """Session credentials for `role_arn` from moto's STS (which does not check trust: the caller did)."""
    issued = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name[:64])["Credentials"]
    role_name = role_arn.rsplit("/", 1)[-1]
    account = role_arn.split(":")[4]
    principal = Principal(role_arn, f"arn:aws:sts::{account}:assumed-role/{role_name}/{session_name[:64]}")
    credentials = ReadOnlyCredentials(issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"])
    return Identity(principal, credentials)


@contextmanager
def as_identity(credentials: ReadOnlyCredentials) -> Iterator[None]:
    token = _current.set(credentials)
    try:
        yield
    finally:
        _current.reset(token)


def runner_credentials() -> ReadOnlyCredentials:
    return ReadOnlyCredentials(RUNNER_KEY, "local", None)


class InstalledIdentity:
    """boto3's default session signs with the context's role; s3transfer's threads inherit it. Undone by `close`."""

    def __init__(self) -> None:
        from s3transfer.futures import BoundedExecutor

        boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None
        self._session = boto3.DEFAULT_SESSION._session
        self._session._credentials = ContextCredentials()
        self._executor_class = BoundedExecutor.EXECUTOR_CLS
        BoundedExecutor.EXECUTOR_CLS = ContextThreadPoolExecutor
        # The thread that starts the platform (the CLI's, a test's) acts as the runner.
        self._runner_token = _current.set(runner_credentials())

    def close(self) -> None:
        from s3transfer.futures import BoundedExecutor

        BoundedExecutor.EXECUTOR_CLS = self._executor_class
        try:
            _current.reset(self._runner_token)
        except ValueError:  # closed from another context than the one that installed it
            _current.set(None)
        boto3.DEFAULT_SESSION = None  # the next client resolves credentials from the environment again
