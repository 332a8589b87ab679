"""Runs each Lambda execution environment as a host process speaking LocalStack's executor protocol.

The protocol is the one LocalStack's Go init uses inside a container: the environment posts
``<runtime endpoint>/status/<id>/ready`` once the handler is imported, LocalStack posts invocations to
``http://<address>:<port>/invoke``, and the environment posts the result to
``<runtime endpoint>/invocations/<request id>/response`` (or ``/error``). ``bootstrap.py`` is that environment.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from localstack.services.lambda_.invocation.executor_endpoint import ExecutorEndpoint, StatusErrorException
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import RuntimeExecutor
from localstack.utils.net import get_free_tcp_port

from localstack import config

LOG = logging.getLogger(__name__)

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
# What the real Python runtimes provide besides the stdlib: the AWS SDK. These packages are pure Python, so the
# copies in LocalStack's own venv work under any Python 3 interpreter that runs a function.
SDK_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")
PYENV_ROOT = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))


class HostRuntimeError(RuntimeError):
    """The host cannot run this function (no interpreter for its runtime, or a runtime family we do not run)."""


def find_interpreter(runtime: str) -> str:
    """Host interpreter for a Lambda runtime such as ``python3.12`` (same minor version: bundled wheels need it)."""
    override = os.environ.get("LAMBDA_HOST_" + runtime.upper().replace(".", "_"))
    if override:
        return override
    if not runtime.startswith("python3."):
        raise HostRuntimeError(
            f"runtime {runtime!r} cannot run without Docker: the host executor only runs Python functions"
        )
    version = runtime.removeprefix("python")
    candidates = sorted(glob.glob(str(PYENV_ROOT / "versions" / f"{version}.*" / "bin" / runtime)), reverse=True)
    on_path = shutil.which(runtime)
    if on_path:
        candidates.append(on_path)
    for candidate in candidates:
        # pyenv shims exist for versions that are not selected; only accept one that really starts
        if subprocess.run([candidate, "-c", ""], capture_output=True).returncode == 0:
            return candidate
    raise HostRuntimeError(
        f"no {runtime} interpreter on this host (looked in {PYENV_ROOT}/versions and PATH); "
        f"install one or set LAMBDA_HOST_{runtime.upper().replace('.', '_')}"
    )


def sdk_path() -> Path:
    """A directory holding only the AWS SDK packages, so a function sees boto3 as it would in AWS."""
    target = Path(config.dirs.var_libs) / "host-executor-sdk"
    site = Path(sys.modules["boto3"].__file__ if "boto3" in sys.modules else __import__("boto3").__file__).parents[1]
    target.mkdir(parents=True, exist_ok=True)
    for name in SDK_PACKAGES:
        link = target / name
        if not link.exists() and (site / name).exists():
            link.symlink_to(site / name)
    return target


class HostRuntimeExecutor(RuntimeExecutor):
    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.port = get_free_tcp_port()
        self.executor_endpoint = ExecutorEndpoint(self.id, container_address="127.0.0.1", container_port=self.port)
        self.process: subprocess.Popen | None = None
        self.log_path = Path(config.dirs.tmp) / f"lambda-{self.id}.log"

    def start(self, env_vars: dict[str, str]) -> None:
        self.executor_endpoint.start()
        runtime = str(self.function_version.config.runtime or "")
        python = find_interpreter(runtime)
        code = self.function_version.config.code
        task_root = str(code.get_unzipped_code_location())
        layer_paths = [
            str(layer.code.get_unzipped_code_location() / "python")
            for layer in self.function_version.config.layers
            if layer.code is not None
        ]
        env = {key: str(value) for key, value in env_vars.items()}
        env.update(
            PATH=os.environ.get("PATH", "/usr/bin:/bin"),
            LAMBDA_TASK_ROOT=task_root,
            PYTHONPATH=os.pathsep.join([task_root, *layer_paths, str(sdk_path())]),
            PYTHONUNBUFFERED="1",
            HOST_EXECUTOR_PORT=str(self.port),
        )
        LOG.debug("Starting host execution environment %s with %s in %s", self.id, python, task_root)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [python, "-u", str(BOOTSTRAP)],
                cwd=task_root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                # same process group as LocalStack, so run-host.sh stop (which kills that group) ends it too
                stderr=subprocess.STDOUT,
            )
        threading.Thread(target=self._watch, args=(self.process,), daemon=True).start()
        self.executor_endpoint.wait_for_startup()

    def _watch(self, process: subprocess.Popen) -> None:
        """Fail a pending startup if the process dies before it reports ready (else LocalStack waits forever)."""
        code = process.wait()
        future = self.executor_endpoint.startup_future
        if future is not None and not future.done():
            future.set_exception(
                StatusErrorException(
                    f"host execution environment exited with {code} before it was ready; log: {self.get_logs()}",
                    payload=b"",
                )
            )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        try:
            self.executor_endpoint.shutdown()
        except Exception as e:  # the endpoint may never have been registered if start() failed early
            LOG.debug("Error while stopping executor endpoint %s: %s", self.id, e)

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        return "127.0.0.1"

    def get_runtime_endpoint(self) -> str:
        port = config.GATEWAY_LISTEN[0].port
        return f"http://127.0.0.1:{port}{self.executor_endpoint.get_endpoint_prefix()}"

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        return self.executor_endpoint.invoke(payload)

    def get_logs(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "Execution environment was not started"

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        # Only unpack the code: there is no image to pull and no init binary to download. A function whose
        # runtime the host cannot run still becomes Active (as in AWS); its invocations fail with the reason.
        if function_version.config.code:
            function_version.config.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        """Nothing to clean: prepare_version only unpacks code, which LocalStack's code store removes itself."""

    @classmethod
    def validate_environment(cls) -> bool:
        return True
