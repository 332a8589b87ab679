"""The local platform: the synthesized workflow running in moto's Step Functions interpreter on loopback.

`LocalPlatform` starts moto (server mode, in this process), pgserver, the exchange-rate and customer APIs,
creates what the template declares (buckets, Glue databases/tables/jobs, workgroup, topic, functions, state
machine), restores the on-disk lake, and runs executions whose tasks are dispatched in-process:
Lambda -> the real handler, Glue .sync -> dataplatform.local.spark_runner, Athena .sync -> the local DuckDB
engine. On exit it dumps the lake back to disk and stops everything. See docs/local-runner.md.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3

from dataplatform.config import PipelineConfig, load_config
from dataplatform.layout import Lake
from dataplatform.local import lake_store, sfn_dispatch
from dataplatform.local.sample_data import DEFAULT_SEED, SampleData, generate, seed_postgres
from dataplatform.local.template import ACCOUNT, REGION, Resolver, synthesize

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CUSTOMER_SECRET_TOKEN = "local-demo-token"  # loopback-only API; the value lives in (moto) Secrets Manager


@dataclass
class LocalOptions:
    root: Path = PROJECT_ROOT
    lake_dir: Path | None = None
    scale: float = 1.0
    seed: int = DEFAULT_SEED
    fresh: bool = False
    lambda_timeout_s: float = 900.0
    """Remaining time each in-process Lambda starts with (tests shrink it to force continuations)."""
    customer_api_faults: Any = None
    """dataplatform.local.apis.Faults for the customer API (failure tests)."""


@dataclass
class Event:
    """One progress event: a task started/finished for a dataset (or the run)."""

    step: str
    dataset: str | None
    phase: str  # start | done | continue | failed
    detail: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


class LambdaContext:
    """What Powertools and the handlers read from the Lambda context object."""

    def __init__(self, function_name: str, timeout_s: float) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Dispatcher:
    """Receives the tasks of moto's interpreter (see sfn_dispatch) and runs them locally."""

    def __init__(self, platform: LocalPlatform) -> None:
        self.platform = platform
        self._modules: dict[str, ModuleType] = {}
        self._glue_lock = threading.Lock()  # one local SparkSession: jobs of a wave take turns
        self._athena_lock = threading.Lock()
        self._athena: Any = None

    # ------------------------------------------------------------ lambda
    def _handler_module(self, folder: str) -> ModuleType:
        if folder not in self._modules:
            path = self.platform.root / "lambdas" / folder / "handler.py"
            if not path.is_file():
                raise FileNotFoundError(f"no handler for Lambda folder '{folder}' at {path}")
            spec = importlib.util.spec_from_file_location(f"_local_lambda_{folder}", path)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self._modules[folder] = module
        return self._modules[folder]

    def invoke_lambda(self, function_name: str, payload: Any) -> Any:
        folder = self.platform.function_folders.get(function_name)
        if folder is None:
            raise LookupError(f"Lambda function '{function_name}' is not in the synthesized template")
        dataset = payload.get("dataset") if isinstance(payload, dict) else None
        self.platform.emit(Event(folder, dataset, "start"))
        try:
            result = self._handler_module(folder).handler(
                payload, LambdaContext(function_name, self.platform.options.lambda_timeout_s)
            )
        except Exception as exc:
            self.platform.emit(Event(folder, dataset, "failed", {"error": f"{type(exc).__name__}: {exc}"}))
            raise
        phase = "continue" if isinstance(result, dict) and result.get("status") == "continue" else "done"
        self.platform.emit(Event(folder, dataset, phase, result if isinstance(result, dict) else {}))
        return result

    # ------------------------------------------------------------ glue
    def run_glue_job(self, job_name: str, arguments: dict[str, str]) -> dict[str, Any]:
        glue = self.platform.client("glue")
        # Unknown job -> EntityNotFoundException, as on AWS.
        job = glue.get_job(JobName=job_name)["Job"]
        merged = {**job.get("DefaultArguments", {}), **arguments}  # Glue's own merge rule
        dataset = merged.get("--dataset")
        run_id = f"jr_{uuid.uuid4().hex}"
        try:
            from dataplatform.local.spark_runner import run_glue_job

            with self._glue_lock:
                # Started once it has the (single, local) SparkSession: durations exclude time queued.
                self.platform.emit(Event("standardize", dataset, "start", {"job": job_name}))
                started = time.monotonic()
                run_glue_job(job_name, merged)
        except Exception as exc:
            self.platform.emit(Event("standardize", dataset, "failed", {"error": f"{type(exc).__name__}: {exc}"}))
            return {"Id": run_id, "JobRunState": "FAILED", "ErrorMessage": f"{type(exc).__name__}: {exc}"}
        self.platform.emit(Event("standardize", dataset, "done", {"seconds": time.monotonic() - started}))
        return {"Id": run_id, "JobRunState": "SUCCEEDED", "ExecutionTime": int(time.monotonic() - started)}

    # ------------------------------------------------------------ athena
    def reset_athena(self) -> None:
        with self._athena_lock:
            if self._athena is not None:
                self._athena.close()
            self._athena = None

    def athena_engine(self) -> Any:
        if self._athena is None:
            from dataplatform.athena.engine import LocalAthena

            p = self.platform
            self._athena = LocalAthena.from_glue(
                p.lake_dir, p.config, curated_bucket=p.lake.curated_bucket, glue=p.client("glue"), s3=p.client("s3")
            )
        return self._athena

    def run_athena_query(self, parameters: dict[str, Any]) -> dict[str, Any]:
        from moto.athena.models import QueryResults, athena_backends

        athena = self.platform.client("athena")
        # Recorded in moto first (workgroup must exist, like on AWS), then run on DuckDB.
        qid = athena.start_query_execution(**parameters)["QueryExecutionId"]
        execution = athena_backends[ACCOUNT][REGION].executions[qid]
        name = parameters["QueryString"].strip().splitlines()[0][:80]
        self.platform.emit(Event("athena", None, "start", {"query": name}))
        state, reason = "SUCCEEDED", None
        try:
            with self._athena_lock:
                result = self.athena_engine().execute(parameters["QueryString"])
            header = {"Data": [{"VarCharValue": c} for c in result.columns]}
            rows = [{"Data": [{} if v is None else {"VarCharValue": str(v)} for v in row]} for row in result.rows]
            athena_backends[ACCOUNT][REGION].query_results[qid] = QueryResults(
                rows=[header, *rows],
                column_info=[{"Name": c, "Type": t} for c, t in zip(result.columns, result.types, strict=True)],
            )
        except Exception as exc:
            state, reason = "FAILED", f"{type(exc).__name__}: {exc}"
        execution.status = state
        execution._transitions = [(state, state)]
        self.platform.emit(Event("athena", None, "done" if state == "SUCCEEDED" else "failed", {"error": reason}))
        status: dict[str, Any] = {"State": state}
        if reason:
            status["StateChangeReason"] = reason
        return {
            "QueryExecutionId": qid,
            "Query": parameters["QueryString"],
            "StatementType": "DDL" if parameters["QueryString"].lstrip().upper().startswith("CREATE") else "DML",
            "WorkGroup": parameters.get("WorkGroup", "primary"),
            "Status": status,
        }


@dataclass
class RunResult:
    status: str
    execution_arn: str
    run_id: str | None
    duration_s: float
    output: dict[str, Any] | None
    error: str | None
    cause: str | None
    datasets: dict[str, dict[str, Any]]
    marts: dict[str, int]


class LocalPlatform:
    def __init__(self, options: LocalOptions | None = None) -> None:
        self.options = options or LocalOptions()
        self.root = self.options.root.resolve()
        self.lake_dir = (self.options.lake_dir or lake_store.default_lake_dir(self.root)).resolve()
        self.listeners: list[Callable[[Event], None]] = []
        self.events: list[Event] = []
        self._stack = ExitStack()
        self._env_before: dict[str, str | None] = {}
        self.function_folders: dict[str, str] = {}
        self.sample: SampleData | None = None

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
        if self.options.fresh and self.lake_dir.exists():
            import shutil

            shutil.rmtree(self.lake_dir)
        self.lake_dir.mkdir(parents=True, exist_ok=True)
        self.emit(Event("setup", None, "start", {"what": "moto"}))
        from moto.core.config import default_user_config
        from moto.server import ThreadedMotoServer

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
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        self._stack.callback(server.stop)
        self._stack.callback(self._reset_moto)

        # Postgres, persisted with the lake so a second demo sees the same database.
        import pgserver

        self.emit(Event("setup", None, "start", {"what": "postgres"}))
        pg = pgserver.get_server(self.lake_dir / "postgres", cleanup_mode="stop")
        self._stack.callback(pg.cleanup)
        self.postgres_uri = pg.get_uri()
        self.sample = generate(self.options.scale, self.options.seed)
        seed_postgres(self.postgres_uri, self.sample)

        from dataplatform.local.apis import CustomerApi, ExchangeRateApi

        rates = ExchangeRateApi().start()
        self._stack.callback(rates.stop)
        customers = CustomerApi(self.sample.customers, CUSTOMER_SECRET_TOKEN, faults=self.options.customer_api_faults)
        customers.start()
        self._stack.callback(customers.stop)
        self.customer_api = customers
        self._setenv(EXCHANGE_RATES_URL=rates.url, CUSTOMER_API_URL=customers.url)

        self.emit(Event("setup", None, "start", {"what": "synth"}))
        synthesized = synthesize(self.root)
        self.resolver = Resolver(synthesized.template)
        self.config: PipelineConfig = load_config(self.root / "pipeline.yaml")
        self._create_resources(synthesized)
        self.emit(Event("setup", None, "done", {}))

    def _reset_moto(self) -> None:
        # Backends are process-global: a later platform in this process must start from nothing.
        import requests

        with suppress(requests.RequestException):
            requests.post(f"{self.endpoint}/moto-api/reset", timeout=10)

    def close(self, dump: bool) -> None:
        try:
            if dump and hasattr(self, "endpoint"):
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

    # ------------------------------------------------------------ resources
    def _create_resources(self, synthesized: Any) -> None:
        r = self.resolver
        s3, glue = self.client("s3"), self.client("glue")
        buckets = [r.name(k) for k in r.of_type("AWS::S3::Bucket")]
        for bucket in buckets:
            lake_store.ensure_bucket(s3, bucket)
        for asset in synthesized.file_assets:  # what `cdk deploy` publishes (Glue script, config, package)
            lake_store.ensure_bucket(s3, asset["bucket"])
            s3.upload_file(str(asset["path"]), asset["bucket"], asset["key"])

        # Environment the Lambdas get in the template (RAW_BUCKET, CURATED_BUCKET, ...), resolved to local names.
        env: dict[str, str] = {}
        for logical, fn in r.of_type("AWS::Lambda::Function").items():
            name = r.name(logical)
            folder = self._folder_of(name)
            if folder is None:
                continue  # CDK helper functions (custom resources), not pipeline code
            self.function_folders[name] = folder
            variables = fn["Properties"].get("Environment", {}).get("Variables", {})
            env.update({k: str(r.resolve(v)) for k, v in variables.items() if k in ("RAW_BUCKET", "CURATED_BUCKET")})
        if "RAW_BUCKET" not in env or "CURATED_BUCKET" not in env:
            raise RuntimeError("the template's pipeline Lambdas have no RAW_BUCKET/CURATED_BUCKET environment")
        self._setenv(PIPELINE_CONFIG=str(self.root / "pipeline.yaml"), **env)
        self.lake = Lake(raw_bucket=env["RAW_BUCKET"], curated_bucket=env["CURATED_BUCKET"])

        for logical, _db in r.of_type("AWS::Glue::Database").items():
            lake_store.ensure_database(glue, r.name(logical))
        for _logical, table in r.of_type("AWS::Glue::Table").items():
            props = r.resolve(table["Properties"])
            lake_store.ensure_database(glue, props["DatabaseName"])
            lake_store.put_table(glue, props["DatabaseName"], props["TableInput"])
        for logical, job in r.of_type("AWS::Glue::Job").items():
            props = r.resolve(job["Properties"])
            with suppress(glue.exceptions.AlreadyExistsException):
                glue.create_job(
                    Name=r.name(logical),
                    Role=str(props.get("Role", f"arn:aws:iam::{ACCOUNT}:role/glue")),
                    Command=props["Command"],
                    DefaultArguments=props.get("DefaultArguments", {}),
                    GlueVersion=props.get("GlueVersion", "5.0"),
                )
        athena = self.client("athena")
        for logical, _wg in r.of_type("AWS::Athena::WorkGroup").items():
            with suppress(athena.exceptions.InvalidRequestException):
                athena.create_work_group(Name=r.name(logical), Configuration={})
        sns = self.client("sns")
        for logical in r.of_type("AWS::SNS::Topic"):
            sns.create_topic(Name=r.name(logical))
        sqs = self.client("sqs")
        self.failure_queue_url = sqs.create_queue(QueueName="local-failure-notifications")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.failure_queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        for logical in r.of_type("AWS::SNS::Topic"):  # so tests (and the demo) can see what was published
            sns.subscribe(TopicArn=r.arn(logical), Protocol="sqs", Endpoint=queue_arn)

        secrets = self.client("secretsmanager")
        values: dict[str, dict[str, str]] = {}
        for ds in self.config.datasets.values():
            src = ds.source
            if src.kind == "rest" and src.auth.secret:
                values[src.auth.secret] = {"token": CUSTOMER_SECRET_TOKEN}
            elif src.kind == "postgres":
                values[src.connection_secret] = {"uri": self.postgres_uri}
        for secret_name, value in values.items():
            secrets.create_secret(Name=secret_name, SecretString=json.dumps(value))

        # The persisted lake goes on top: its tables (with views and evolved schemas) win over the template's.
        restored = lake_store.restore(self.lake_dir, s3, glue)
        self.emit(Event("setup", None, "done", {"restored": restored}))
        for file_name, body in self.sample.sales_files.items() if self.sample else []:
            key = f"{self._landing_prefix()}{file_name}"
            with suppress(Exception):
                s3.head_object(Bucket=self.lake.raw_bucket, Key=key)
                continue
            s3.put_object(Bucket=self.lake.raw_bucket, Key=key, Body=body)

        name, definition = r.state_machine()
        self.definition = definition
        sfn = self.client("stepfunctions")
        self.state_machine_arn = sfn.create_state_machine(
            name=name,
            definition=json.dumps(definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/{name}",
            type="STANDARD",
        )["stateMachineArn"]
        self.dispatcher = Dispatcher(self)
        sfn_dispatch.install(self.dispatcher)

    def _landing_prefix(self) -> str:
        for ds in self.config.datasets.values():
            if ds.source.kind == "csv" and ds.source.location.startswith("landing/"):  # type: ignore[union-attr]
                return ds.source.location  # type: ignore[union-attr]
        return "landing/sales/"

    def _folder_of(self, function_name: str) -> str | None:
        prefix = f"{self.config.project}-"
        if not function_name.startswith(prefix):
            return None
        folder = function_name[len(prefix) :].replace("-", "_")
        return folder if (self.root / "lambdas" / folder / "handler.py").is_file() else None

    # ------------------------------------------------------------ running
    def put_landing_file(self, name: str, body: bytes) -> str:
        key = f"{self._landing_prefix()}{name}"
        self.client("s3").put_object(Bucket=self.lake.raw_bucket, Key=key, Body=body)
        return key

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
        run_id_out = self._run_id_of(execution_arn, output)
        names = (output or {}).get("datasets") or self._datasets_of(execution_arn) or []
        result = RunResult(
            status=described["status"],
            execution_arn=execution_arn,
            run_id=run_id_out,
            duration_s=round(duration, 2),
            output=output,
            error=described.get("error"),
            cause=described.get("cause"),
            datasets=self.dataset_summary(run_id_out, names, described["status"], self.events[first_event:])
            if run_id_out
            else {},
            marts=self.mart_counts() if described["status"] == "SUCCEEDED" else {},
        )
        self.emit(Event("run", None, "done" if result.status == "SUCCEEDED" else "failed", {"status": result.status}))
        return result

    def _history(self, execution_arn: str) -> list[dict[str, Any]]:
        sfn = self.client("stepfunctions")
        events: list[dict[str, Any]] = []
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
            events.extend(page["events"])
        return events

    def _resolved(self, execution_arn: str) -> dict[str, Any] | None:
        """The `$.run` the ResolveRun state produced (from the execution history, so also for failed runs)."""
        for event in self._history(execution_arn):
            details = event.get("stateExitedEventDetails")
            if details and details.get("name") == "ResolveRun":
                run = json.loads(details.get("output") or "{}").get("run")
                return run if isinstance(run, dict) else None
        return None

    def _run_id_of(self, execution_arn: str, output: dict[str, Any] | None) -> str | None:
        if output and output.get("run_id"):
            return str(output["run_id"])
        resolved = self._resolved(execution_arn)
        return resolved.get("run_id") if resolved else None

    def _datasets_of(self, execution_arn: str) -> list[str] | None:
        resolved = self._resolved(execution_arn)
        return resolved.get("dataset_names") if resolved else None

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
                "duration_s": _busy_seconds(events, name),
            }
        return summary

    def mart_counts(self) -> dict[str, int]:
        from dataplatform.athena.sqlfiles import database_names

        marts_db = database_names(self.config.project)["marts"]
        counts: dict[str, int] = {}
        engine = self.dispatcher.athena_engine()
        for table in self.client("glue").get_tables(DatabaseName=marts_db)["TableList"]:
            result = engine.execute(f'SELECT count(*) FROM "{marts_db}"."{table["Name"]}"')
            counts[table["Name"]] = int(result.rows[0][0])
        return counts

    def mart_rows(self, name: str, limit: int = 10) -> tuple[list[str], list[tuple[Any, ...]]]:
        from dataplatform.athena.sqlfiles import database_names

        marts_db = database_names(self.config.project)["marts"]
        result = self.dispatcher.athena_engine().execute(f'SELECT * FROM "{marts_db}"."{name}" LIMIT {int(limit)}')
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


def _busy_seconds(events: list[Event], dataset: str) -> float | None:
    """Time this dataset's own tasks ran (ingest calls and its Glue job), not time spent queued behind others."""
    total, opened = 0.0, {}
    for event in events:
        if event.dataset != dataset:
            continue
        if event.phase == "start":
            opened[event.step] = event.at
        elif event.step in opened:
            total += event.at - opened.pop(event.step)
    return round(total, 2) if total else None


def utc_now() -> datetime:
    return datetime.now(UTC)


__all__ = ["Event", "LocalOptions", "LocalPlatform", "RunResult"]
