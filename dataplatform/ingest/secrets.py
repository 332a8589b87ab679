"""Reading source credentials from Secrets Manager (Powertools parameters: fetched once, cached for 5 minutes).

Every value read is registered with the redaction filter (`redaction.REDACTOR`) before it is handed out, so no
log line, error or payload of the ingest call can carry it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

from dataplatform.ingest.base import IngestError
from dataplatform.ingest.redaction import REDACTOR, Redactor

SecretReader = Callable[[str], dict[str, Any]]

CACHE_SECONDS = 300
"""A rotated secret is picked up within this time; a warm Lambda container reuses the value until then."""
NOT_SECRET_FIELDS = frozenset({"host", "port", "dbname", "database", "username", "user", "engine", "sslmode"})
"""Connection fields that are not credentials (masking `5432` or a user name everywhere helps nobody)."""


def register_secret(secret: dict[str, Any], redactor: Redactor = REDACTOR) -> None:
    """Registers every credential of a secret for redaction, including the password inside a connection URI."""
    for field, value in secret.items():
        if field in NOT_SECRET_FIELDS or not isinstance(value, str | int | float):
            continue
        redactor.register(str(value))
        if field == "uri":
            parts = urlsplit(str(value))
            if parts.password:
                redactor.register(unquote(parts.password))
                redactor.register(parts.password)
    user, password = secret.get("username") or secret.get("user"), secret.get("password")
    if user and password:
        redactor.register_basic_auth(str(user), str(password))


BOTOCORE_BODY_LOGGERS = ("botocore.parsers", "botocore.endpoint")
"""At DEBUG they log the GetSecretValue response body: the secret, before anyone can register it for redaction."""


@contextmanager
def _bodies_unlogged() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in BOTOCORE_BODY_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(max(logging.INFO, lg.getEffectiveLevel()))
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


class SecretsManagerReader:
    """Reads JSON secrets by name through Powertools' `SecretsProvider` (cached for `CACHE_SECONDS`)."""

    def __init__(self, client: Any | None = None, max_age: int = CACHE_SECONDS) -> None:
        self._client = client
        self._provider: Any = None
        self.max_age = max_age

    def __call__(self, name: str) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

        if self._provider is None:
            self._provider = SecretsProvider(boto3_client=self._client) if self._client else SecretsProvider()
        try:
            with _bodies_unlogged():
                value = self._provider.get(name, transform="json", max_age=self.max_age)
        except GetParameterError as exc:
            origin = exc.__cause__ or exc.__context__
            cause = type(origin).__name__ if origin else type(exc).__name__
            raise IngestError(f"cannot read secret '{name}' from Secrets Manager: {cause}") from None
        except TransformParameterError:
            raise IngestError(f"secret '{name}' is not a JSON object") from None
        if not isinstance(value, dict):
            raise IngestError(f"secret '{name}' is not a JSON object")
        register_secret(value)
        return value


def require_fields(name: str, secret: dict[str, Any], *fields: str) -> list[Any]:
    missing = [f for f in fields if not secret.get(f)]
    if missing:
        raise IngestError(f"secret '{name}' lacks field(s) {', '.join(missing)} (has: {', '.join(sorted(secret))})")
    return [secret[f] for f in fields]
