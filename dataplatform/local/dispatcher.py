"""Runs the tasks moto's Step Functions interpreter hands over (see sfn_dispatch): Lambda tasks go to the real
handlers in-process, Glue `.sync` to the local Spark session, Athena `.sync` to the local DuckDB engine."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
import uuid
from types import ModuleType
from typing import TYPE_CHECKING, Any

from dataplatform.local.events import Event
from dataplatform.local.template import ACCOUNT, REGION

if TYPE_CHECKING:
    from dataplatform.local.platform import LocalPlatform


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


def cold_start() -> None:
    """A new platform starts with cold Lambda containers: the runtime package's cached clients and configs (e.g.
    lambda_support._clients) would still point at an earlier platform's endpoint in this process."""
    for name, module in list(sys.modules.items()):
        if not name.startswith("dataplatform.") or name.startswith("dataplatform.local"):
            continue
        for value in list(vars(module).values()):
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == name:
                value.cache_clear()


class Dispatcher:
    """Receives the tasks of moto's interpreter (see sfn_dispatch) and runs them locally."""

    def __init__(self, platform: LocalPlatform) -> None:
        self.platform = platform
        self._modules: dict[str, ModuleType] = {}
        cold_start()
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
            with self.platform.iam.as_function(function_name):  # the handler's AWS calls are made as its role
                result = self._handler_module(folder).handler(
                    payload, LambdaContext(function_name, self.platform.options.lambda_timeout_s)
                )
        except Exception as exc:
            self.platform.emit(Event(folder, dataset, "failed", {"error": f"{type(exc).__name__}: {exc}"}))
            raise
        phase = "continue" if isinstance(result, dict) and result.get("status") == "continue" else "done"
        self.platform.emit(Event(folder, dataset, phase, result if isinstance(result, dict) else {}))
        return result

    def authorize(self, action: str, resource: str) -> None:
        """The state machine role's permission for an integration run here, not in moto (raises AccessDenied)."""
        self.platform.iam.require(action, resource, f"states:{action}")

    # ------------------------------------------------------------ glue
    def run_glue_job(self, job_name: str, arguments: dict[str, str]) -> dict[str, Any]:
        glue = self.platform.client("glue")
        # Unknown job -> EntityNotFoundException, as on AWS. Reading the definition is Glue's own work.
        with self.platform.iam.as_runner():
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
                with self.platform.iam.as_job(job_name):  # the job's AWS calls are made as its role
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
            from dataplatform.local.athena.engine import LocalAthena

            p = self.platform
            self._athena = LocalAthena.from_glue(
                p.lake_dir, p.config, curated_bucket=p.lake.curated_bucket, glue=p.client("glue"), s3=p.client("s3")
            )
        return self._athena

    def run_athena_query(self, parameters: dict[str, Any]) -> dict[str, Any]:
        from moto.athena.models import QueryResults, athena_backends

        athena = self.platform.client("athena")
        # Recorded in moto first (workgroup must exist, like on AWS), then run on DuckDB.
        with self.platform.iam.as_state_machine():
            qid = athena.start_query_execution(**parameters)["QueryExecutionId"]
        execution = athena_backends[ACCOUNT][REGION].executions[qid]
        name = parameters["QueryString"].strip().splitlines()[0][:80]
        self.platform.emit(Event("athena", None, "start", {"query": name}))
        state, reason = "SUCCEEDED", None
        try:
            with self._athena_lock, self.platform.iam.as_runner():  # the engine stands in for Athena itself
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
