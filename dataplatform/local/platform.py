"""The local platform: the synthesized workflow running in moto's Step Functions interpreter on loopback.

`LocalPlatform` starts moto (server mode, in this process), the demo's sample sources when asked, synthesizes the
CDK app for the given pipeline config, creates what the template declares, restores the on-disk lake, and runs
executions whose tasks are dispatched in-process (see dispatcher.py). On exit it dumps the lake back to disk and
stops everything. See docs/local-runner.md.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from dataplatform.config import PipelineConfig, load_config
from dataplatform.layout import Lake
from dataplatform.local import lake_store, sfn_dispatch
from dataplatform.local.dispatcher import Dispatcher
from dataplatform.local.events import Event
from dataplatform.local.execution import RunResult, busy_seconds, failure_of, resolved_run
from dataplatform.local.iam import LocalIam
from dataplatform.local.local_secrets import default_secrets_file, resolve_secrets
from dataplatform.local.resources import create_resources, create_state_machine
from dataplatform.local.sample_data import DEFAULT_SEED, SampleData
from dataplatform.local.sample_services import SampleServices, start_sample_services
from dataplatform.local.template import REGION, Resolver, synthesize
from dataplatform.naming import function_folder

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CONFIG = PROJECT_ROOT / "pipeline.yaml"


@dataclass
class LocalOptions:
    root: Path = PROJECT_ROOT
    """The project holding lambdas/, glue_jobs/ and infra/ (this repository)."""
    config: Path | None = None
    """The pipeline config to run (default: the sample, `<root>/pipeline.yaml`)."""
    lake_dir: Path | None = None
    """Default: $DATAPLATFORM_LAKE_DIR, else ./.local-lake."""
    sample_services: bool = False
    """Start the demo's sample Postgres and APIs, and land the sample CSV files."""
    secrets_file: Path | None = None
    """Local secrets (default: .local-secrets.yaml beside the config); see local_secrets.py."""
    scale: float = 1.0
    seed: int = DEFAULT_SEED
    fresh: bool = False
    lambda_timeout_s: float = 900.0
    """Remaining time each in-process Lambda starts with (tests shrink it to force continuations)."""
    customer_api_faults: Any = None
    """dataplatform.local.apis.Faults for the sample customer API (failure tests)."""
    iam: str = field(default_factory=lambda: os.environ.get("DATAPLATFORM_LOCAL_IAM", "strict"))
    """Permissions: strict (a call the role may not make fails), audit (only reported) or off (docs/local-runner.md)."""
    iam_report: Path | None = None
    """Write every IAM decision of the run here as JSON Lines."""

    @property
    def config_file(self) -> Path:
        return (self.config or self.root / "pipeline.yaml").resolve()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalPlatform:
    def __init__(self, options: LocalOptions | None = None) -> None:
        self.options = options or LocalOptions()
        self.root = self.options.root.resolve()
        self.config_file = self.options.config_file
        self.lake_dir = lake_store.resolve_lake_dir(self.options.lake_dir)
        self.listeners: list[Callable[[Event], None]] = []
        self.events: list[Event] = []
        self._stack = ExitStack()
        self._env_before: dict[str, str | None] = {}
        self.function_folders: dict[str, str] = {}
        self.services: SampleServices | None = None

    @property
    def sample(self) -> SampleData | None:
        return self.services.data if self.services else None

    @property
    def customer_api(self) -> Any:
        return self.services.customer_api if self.services else None

    @property
    def postgres_uri(self) -> str | None:
        return self.services.postgres_uri if self.services else None

    # ------------------------------------------------------------ lifecycle
    def emit(self, event: Event) -> None:
        self.events.append(event)
        for listener in self.listeners:
            listener(event)

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)

    def _setenv(self, **values: str) -> None:
        for key, value in values.items():
            self._env_before.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def __enter__(self) -> LocalPlatform:
        try:
            self._start()
        except BaseException:
            self.close(dump=False)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(dump=True)

    def _start(self) -> None:
        # Everything that can be wrong with the input is checked before the lake is touched.
        self.config: PipelineConfig = load_config(self.config_file)
        secrets_file = self.options.secrets_file or default_secrets_file(self.config_file)
        secret_values: dict[str, str] = {}
        if not self.options.sample_services:
            secret_values = resolve_secrets(self.config, secrets_file)

        if self.options.fresh and self.lake_dir.exists():
            import shutil

            shutil.rmtree(self.lake_dir)
        self.lake_dir.mkdir(parents=True, exist_ok=True)
        self._start_moto()

        if self.options.sample_services:
            self.emit(Event("setup", None, "start", {"what": "sample sources"}))
            self.services = start_sample_services(
                self._stack,
                config=self.config,
                data_dir=self.lake_dir / "postgres",
                scale=self.options.scale,
                seed=self.options.seed,
                customer_api_faults=self.options.customer_api_faults,
            )
            self._setenv(**self.services.env)
            self.config = load_config(self.config_file)  # its ${...} URLs now point at the sample APIs
            secret_values = resolve_secrets(self.config, secrets_file, provided=self.services.secrets)

        self.emit(Event("setup", None, "start", {"what": "synth"}))
        synthesized = synthesize(self.root, self.config_file)
        self.resolver = Resolver(synthesized.template, synthesized.stack_name)
        resources = create_resources(
            self.client, synthesized, self.resolver, folder_of=self._folder_of, secrets=secret_values
        )
        self.iam.load(self.resolver, self.client("sts"))  # from here on, tasks run as their roles
        self.lake: Lake = resources.lake
        self.function_folders = resources.function_folders
        self.failure_queue_url = resources.failure_queue_url
        self._setenv(PIPELINE_CONFIG=str(self.config_file), **resources.lambda_environment)
        lake_store.write_resources(
            self.lake_dir,
            self.config.project,
            {"raw_bucket": self.lake.raw_bucket, "curated_bucket": self.lake.curated_bucket},
        )
        # The persisted lake goes on top: its tables (with views and evolved schemas) win over the template's.
        restored = lake_store.restore(self.lake_dir, self.client("s3"), self.client("glue"))
        if self.services:
            self._land_sample_files()
        self.state_machine_arn, self.definition = create_state_machine(self.client, self.resolver)
        self.dispatcher = Dispatcher(self)
        sfn_dispatch.install(self.dispatcher)
        self.emit(Event("setup", None, "done", {"restored": restored}))

    def _start_moto(self) -> None:
        self.emit(Event("setup", None, "start", {"what": "moto"}))
        from moto.core.config import default_user_config

        # Request lines and the interpreter's warnings would drown the progress display.
        # (The interpreter logs every caught task failure at ERROR; the run result reports the ones that matter.)
        for noisy in ("werkzeug", "moto", "botocore.credentials"):
            logging.getLogger(noisy).setLevel(logging.CRITICAL)
        port = free_port()
        self._setenv(
            MOTO_PORT=str(port),
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
            AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
            POWERTOOLS_TRACE_DISABLED="true",
            POWERTOOLS_METRICS_DISABLED="true",
            POWERTOOLS_LOG_LEVEL=os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
        )
        from dataplatform.ingest.lambda_support import reset_warm_state

        reset_warm_state()  # in-process handlers of an earlier platform cached clients for its endpoint
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
        default_user_config["lambda"] = {"use_docker": False}
        self.endpoint = f"http://127.0.0.1:{port}"
        self.iam = LocalIam(self.options.iam, self.options.iam_report)
        self._stack.callback(self.iam.close)
        server = self.iam.server(port)  # moto behind the permission check (dataplatform/local/iam)
        server.start()
        self._stack.callback(server.stop)
        self._stack.callback(self._reset_moto)

    def _reset_moto(self) -> None:
        # Backends are process-global: a later platform in this process must start from nothing.
        import requests

        with suppress(requests.RequestException):
            requests.post(f"{self.endpoint}/moto-api/reset", timeout=10)

    def close(self, dump: bool) -> None:
        try:
            if dump and hasattr(self, "lake"):
                self.dump_lake()
        finally:
            sfn_dispatch.uninstall()
            if hasattr(self, "dispatcher"):
                self.dispatcher.reset_athena()
            self._stack.close()
            for key, value in self._env_before.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            self._env_before.clear()

    def dump_lake(self) -> dict[str, int]:
        return lake_store.dump(self.lake_dir, self.client("s3"), self.client("glue"))

    # ------------------------------------------------------------ landing
    def landing_prefix(self, dataset: str) -> str:
        prefix = self.config.datasets[dataset].source.access().landing_prefix
        if prefix is None:
            raise ValueError(f"dataset {dataset} does not read the landing prefix")
        return prefix

    def put_landing_file(self, name: str, body: bytes, dataset: str = "sales") -> str:
        key = f"{self.landing_prefix(dataset)}{name}"
        self.client("s3").put_object(Bucket=self.lake.raw_bucket, Key=key, Body=body)
        return key

    def _land_sample_files(self) -> None:
        s3 = self.client("s3")
        for file_name, body in self.sample.sales_files.items() if self.sample else []:
            key = f"{self.landing_prefix('sales')}{file_name}"
            with suppress(s3.exceptions.ClientError):
                s3.head_object(Bucket=self.lake.raw_bucket, Key=key)
                continue
            s3.put_object(Bucket=self.lake.raw_bucket, Key=key, Body=body)

    def _folder_of(self, function_name: str) -> str | None:
        folder = function_folder(self.config.project, function_name)
        return folder if folder and (self.root / "lambdas" / folder / "handler.py").is_file() else None

    # ------------------------------------------------------------ running
    def run(
        self, *, window: tuple[str, str] | None = None, datasets: list[str] | None = None, run_id: str | None = None
    ) -> RunResult:
        request: dict[str, Any] = {}
        if window:
            request["window"] = {"start": window[0], "end": window[1]}
        if datasets:
            request["datasets"] = datasets
        if run_id:
            request["run_id"] = run_id
        self.dispatcher.reset_athena()  # the engine maps the catalog as it is after this run's Glue jobs
        sfn = self.client("stepfunctions")
        started = time.monotonic()
        first_event = len(self.events)
        self.emit(Event("run", None, "start", {"request": request}))
        execution_arn = sfn.start_execution(
            stateMachineArn=self.state_machine_arn, name=f"local-{uuid.uuid4().hex[:12]}", input=json.dumps(request)
        )["executionArn"]
        while True:
            described = sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                break
            time.sleep(0.1)
        duration = time.monotonic() - started
        output = json.loads(described["output"]) if described.get("output") else None
        history = self.history(execution_arn)
        resolved = resolved_run(history) or {}
        run_id_out = (output or {}).get("run_id") or resolved.get("run_id")
        names = (output or {}).get("datasets") or resolved.get("dataset_names") or []
        status = described["status"]
        result = RunResult(
            status=status,
            execution_arn=execution_arn,
            run_id=run_id_out,
            duration_s=round(duration, 2),
            output=output,
            error=described.get("error"),
            cause=described.get("cause"),
            datasets=self.dataset_summary(run_id_out, names, status, self.events[first_event:]) if run_id_out else {},
            marts=self.mart_counts() if status == "SUCCEEDED" else {},
            failure=failure_of(history) if status != "SUCCEEDED" else None,
        )
        self.emit(Event("run", None, "done" if result.status == "SUCCEEDED" else "failed", {"status": result.status}))
        return result

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        sfn = self.client("stepfunctions")
        events: list[dict[str, Any]] = []
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
            events.extend(page["events"])
        return events

    def read_step(self, run_id: str, dataset: str, step: str) -> dict[str, Any] | None:
        from dataplatform.workflow.audit import read_json

        return read_json(self.client("s3"), self.lake.curated_bucket, self.lake.run_step_key(run_id, dataset, step))

    def dataset_summary(
        self, run_id: str, names: list[str], status: str, events: list[Event]
    ) -> dict[str, dict[str, Any]]:
        summary: dict[str, dict[str, Any]] = {}
        for name in names:
            ingest = self.read_step(run_id, name, "ingest") or {}
            standardize = self.read_step(run_id, name, "standardize") or {}
            failed = any(e.phase == "failed" and e.dataset == name for e in events)
            summary[name] = {
                "status": "FAILED" if failed or (status != "SUCCEEDED" and not standardize) else status,
                "raw_rows": ingest.get("rows"),
                "curated_rows": standardize.get("curated_rows"),
                "quarantined_rows": standardize.get("quarantined_rows"),
                "duplicate_rows": standardize.get("duplicate_rows"),
                "duration_s": busy_seconds(events, name),
                "rejected": self.rejected_files(ingest),
            }
        return summary

    def rejected_files(self, ingest: dict[str, Any]) -> list[dict[str, Any]]:
        """The source files the run's ingestion refused, with their reasons (from the manifest)."""
        if not ingest.get("rejected") or not ingest.get("manifest_uri"):
            return []
        from dataplatform.layout import split_s3_uri
        from dataplatform.workflow.audit import read_json

        bucket, key = split_s3_uri(ingest["manifest_uri"])
        manifest = read_json(self.client("s3"), bucket, key) or {}
        return list((manifest.get("source") or {}).get("rejected") or [])

    def mart_counts(self) -> dict[str, int]:
        marts_db = self.config.glue_database("marts")
        counts: dict[str, int] = {}
        engine = self.dispatcher.athena_engine()
        for table in self.client("glue").get_tables(DatabaseName=marts_db)["TableList"]:
            result = engine.execute(f'SELECT count(*) FROM "{marts_db}"."{table["Name"]}"')
            counts[table["Name"]] = int(result.rows[0][0])
        return counts

    def mart_rows(self, name: str, limit: int = 10) -> tuple[list[str], list[tuple[Any, ...]]]:
        marts_db = self.config.glue_database("marts")
        result = self.dispatcher.athena_engine().execute(
            f'SELECT * FROM "{marts_db}"."{name}" ORDER BY 1 LIMIT {int(limit)}'
        )
        return result.columns, result.rows

    def published_notifications(self) -> list[dict[str, Any]]:
        sqs = self.client("sqs")
        messages = []
        while True:
            batch = sqs.receive_message(QueueUrl=self.failure_queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return messages
            for m in batch:
                messages.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=self.failure_queue_url, ReceiptHandle=m["ReceiptHandle"])


__all__ = ["SAMPLE_CONFIG", "Event", "LocalOptions", "LocalPlatform", "RunResult"]
