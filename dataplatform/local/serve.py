"""`dataplatform serve`: the HTTP API of the deployed stack, on 127.0.0.1, over the local lake.

The same app as the API Lambda (dataplatform/api/app.py) behind a local gateway (bearer token instead of IAM or
JWT, gateway.py), with the local Athena engine behind the same data-access interface (serve_engine.py). Uploads
are real S3 presigned POSTs against an S3 started in-process (moto) that holds the raw bucket; a mirror copies
every object landed there into `<lake>/s3/<raw bucket>/landing/...`, where the next `dataplatform run --local`
ingests it. moto stores a POST upload without checking its policy, so the local S3 checks it first
(post_policy.py): an oversize or non-CSV upload is refused locally as S3 refuses it.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TOKEN_ENV = "DATAPLATFORM_API_TOKEN"
READ_TOKEN_ENV = "DATAPLATFORM_API_READ_TOKEN"
DEFAULT_PORT = 8765
MIRROR_INTERVAL_S = 0.5
_FAKE_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local-secret", "region_name": "us-east-1"}


@dataclass
class ServeOptions:
    config_file: Path = Path("pipeline.yaml")
    lake_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    token: str | None = None
    """Bearer token with read and upload permissions; default $DATAPLATFORM_API_TOKEN, else a generated one."""
    read_token: str | None = None
    """Optional read-only token; default $DATAPLATFORM_API_READ_TOKEN."""
    token_generated: bool = field(default=False, init=False)

    def resolve_tokens(self) -> None:
        self.token = self.token or os.environ.get(TOKEN_ENV)
        if not self.token:
            self.token = secrets.token_urlsafe(24)
            self.token_generated = True
        self.read_token = self.read_token or os.environ.get(READ_TOKEN_ENV) or None


class LandingMirror:
    """Copies objects under `landing/` of the local S3's raw bucket into the lake directory (new or changed ones)."""

    def __init__(self, s3: Any, bucket: str, lake_dir: Path) -> None:
        self.s3, self.bucket, self.lake_dir = s3, bucket, lake_dir
        self._seen: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="landing-mirror", daemon=True)

    def sync(self) -> list[str]:
        written = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix="landing/"):
            for obj in page.get("Contents", []):
                key, etag = obj["Key"], obj["ETag"]
                if self._seen.get(key) == etag or key.endswith("/"):
                    continue
                target = self.lake_dir / "s3" / self.bucket / key
                target.parent.mkdir(parents=True, exist_ok=True)
                partial = target.with_name(f".{target.name}.partial")
                partial.write_bytes(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
                partial.replace(target)  # a run never sees half a file
                self._seen[key] = etag
                written.append(key)
        return written

    def _loop(self) -> None:
        while not self._stop.wait(MIRROR_INTERVAL_S):
            self.sync()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sync()


class LocalApiServer:
    """The served API with its local S3 and mirror; a context manager (`url`, `token` once entered)."""

    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        self._closers: list[Callable[[], None]] = []
        self.url = ""
        self.s3_url = ""

    def __enter__(self) -> LocalApiServer:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _start(self) -> None:
        import boto3
        from botocore.config import Config
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        from dataplatform.api.app import ApiApp, ApiServices
        from dataplatform.config import load_config, sql_dir_of
        from dataplatform.local import lake_store, landing
        from dataplatform.local.gateway import LocalGateway, Tokens
        from dataplatform.local.lake_data import local_lake_data
        from dataplatform.local.post_policy import PostPolicyCheck

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per local S3 or API request
        options = self.options
        options.resolve_tokens()
        config = load_config(options.config_file)
        lake_dir = lake_store.resolve_lake_dir(options.lake_dir)
        raw_bucket = landing.raw_bucket_locally(lake_dir, config, options.config_file)

        local_s3 = PostPolicyCheck(DomainDispatcherApplication(create_backend_app))
        s3_server = make_server(options.host, 0, local_s3, threaded=True, request_handler=MotoRequestHandler)
        threading.Thread(target=s3_server.serve_forever, name="local-s3", daemon=True).start()
        self._closers.append(s3_server.shutdown)
        self.s3_url = f"http://{options.host}:{s3_server.server_port}"
        s3 = boto3.client(
            "s3",
            endpoint_url=self.s3_url,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
            **_FAKE_CREDENTIALS,
        )
        lake_store.ensure_bucket(s3, raw_bucket)
        self.mirror = LandingMirror(s3, raw_bucket, lake_dir)
        self.mirror.start()
        self._closers.append(self.mirror.stop)

        data, engine = local_lake_data(config, options.config_file, lake_dir)
        self._closers.append(engine.close)
        app = ApiApp(
            ApiServices(
                data,
                s3=s3,
                raw_bucket=raw_bucket,
                local=True,
                sql_dir=sql_dir_of(config, options.config_file),
            )
        )
        assert options.token is not None
        self.gateway = LocalGateway(app, Tokens(options.token, options.read_token))
        self.server = make_server(options.host, options.port, self.gateway, threaded=True)
        self.url = f"http://{options.host}:{self.server.server_port}"
        self.lake_dir, self.raw_bucket = lake_dir, raw_bucket
        thread = threading.Thread(target=self.server.serve_forever, name="api", daemon=True)
        thread.start()
        self._closers.append(self.server.shutdown)

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()


def serve(options: ServeOptions, echo: Callable[[str], None] = print) -> int:
    """Serve until Ctrl-C; prints the URL, the token and a first curl."""
    with LocalApiServer(options) as server:
        token = options.token
        where = f"(set {TOKEN_ENV} to choose it)" if options.token_generated else f"(from ${TOKEN_ENV})"
        echo(f"dataplatform API on {server.url}  lake: {server.lake_dir}")
        echo(f"token {where}: {token}")
        echo(f"  run console: {server.url}/?token={token}")
        echo(f'  curl -H "Authorization: Bearer {token}" {server.url}/kpi/summary')
        echo(f"  OpenAPI: {server.url}/openapi.json   uploads land in s3://{server.raw_bucket}/landing/ (local S3 "
             f"{server.s3_url}) and in the lake; Ctrl-C stops")  # fmt: skip
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            echo("stopping")
    return 0
