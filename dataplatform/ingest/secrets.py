"""Reading source credentials from Secrets Manager. Values are never logged or put into error messages."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from dataplatform.ingest.base import IngestError

SecretReader = Callable[[str], dict[str, Any]]


class SecretsManagerReader:
    """Reads JSON secrets by name, caching them for the life of the Lambda container."""

    def __init__(self, client: Any | None = None) -> None:
        self._client = client
        self._cache: dict[str, dict[str, Any]] = {}

    def __call__(self, name: str) -> dict[str, Any]:
        if name not in self._cache:
            if self._client is None:
                import boto3

                self._client = boto3.client("secretsmanager")
            try:
                raw = self._client.get_secret_value(SecretId=name)["SecretString"]
            except Exception as exc:  # botocore ClientError or a missing SecretString
                raise IngestError(f"cannot read secret '{name}' from Secrets Manager: {type(exc).__name__}") from exc
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise IngestError(f"secret '{name}' is not a JSON object") from exc
            if not isinstance(value, dict):
                raise IngestError(f"secret '{name}' is not a JSON object")
            self._cache[name] = value
        return self._cache[name]


def require_fields(name: str, secret: dict[str, Any], *fields: str) -> list[Any]:
    missing = [f for f in fields if not secret.get(f)]
    if missing:
        raise IngestError(f"secret '{name}' lacks field(s) {', '.join(missing)} (has: {', '.join(sorted(secret))})")
    return [secret[f] for f in fields]
