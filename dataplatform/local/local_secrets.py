"""Secrets for a local run: from the environment or a git-ignored secrets file, put into the local Secrets Manager.

On AWS the pipeline reads its source credentials from Secrets Manager. Locally the same names are looked up in:
1. the environment: `DATAPLATFORM_SECRET_<NAME>` (see `secret_env_var`), a JSON object;
2. the secrets file, `.local-secrets.yaml` beside the pipeline config by default: a mapping of secret name to its
   value (a mapping, stored as the JSON SecretString).
A secret the config names but neither place has is a `MissingSecretError` naming it and where to put it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from dataplatform.config import PipelineConfig

SECRETS_FILE_NAME = ".local-secrets.yaml"
ENV_PREFIX = "DATAPLATFORM_SECRET_"


class LocalSecretError(ValueError):
    """A local secret is missing or malformed; the message names the secret and where it is looked up."""


def secret_env_var(name: str) -> str:
    """`retail/orders-api` -> `DATAPLATFORM_SECRET_RETAIL_ORDERS_API`."""
    return ENV_PREFIX + re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")


def default_secrets_file(config_file: Path) -> Path:
    return config_file.resolve().parent / SECRETS_FILE_NAME


def secret_users(config: PipelineConfig) -> dict[str, str]:
    """Secret name -> the config field that names it (for messages)."""
    users: dict[str, str] = {}
    for dataset_name, dataset in config.datasets.items():
        source = dataset.source
        if source.kind == "rest" and source.auth.secret:
            users.setdefault(source.auth.secret, f"datasets.{dataset_name}.source.auth.secret")
        elif source.kind == "postgres":
            users.setdefault(source.connection_secret, f"datasets.{dataset_name}.source.connection_secret")
    return users


def _read_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise LocalSecretError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(loaded, dict):
        raise LocalSecretError(f"{path}: expected a mapping of secret name to value")
    return loaded


def resolve_secrets(
    config: PipelineConfig,
    secrets_file: Path,
    *,
    provided: Mapping[str, dict[str, Any]] | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Secret name -> SecretString for every secret the config names. `provided` (sample services) wins."""
    env = os.environ if env is None else env
    from_file = _read_file(secrets_file)
    values: dict[str, str] = {}
    for name, field in secret_users(config).items():
        if provided and name in provided:
            values[name] = json.dumps(provided[name])
            continue
        variable = secret_env_var(name)
        if variable in env:
            try:
                parsed = json.loads(env[variable])
            except json.JSONDecodeError:
                raise LocalSecretError(f"{variable} (secret '{name}'): not a JSON object") from None
        elif name in from_file:
            parsed = from_file[name]
        else:
            raise LocalSecretError(
                f"secret '{name}' ({field}) is not set locally: add it to {secrets_file} "
                f"(`{name}: {{...}}`) or set {variable} to its JSON"
            )
        if not isinstance(parsed, dict):
            raise LocalSecretError(f"secret '{name}': expected a mapping (a JSON object), got {type(parsed).__name__}")
        values[name] = json.dumps(parsed)
    return values
