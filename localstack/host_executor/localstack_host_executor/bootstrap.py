"""One Lambda execution environment, run as a host process by the host executor.

Stdlib only: it runs under the function's own interpreter (e.g. python3.12), not LocalStack's venv.
It imports the handler, reports ready (or the import error) to LocalStack, then serves invocations
one at a time, posting each result or error back to LocalStack's runtime endpoint.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import sys
import threading
import time
import traceback
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

ENDPOINT = os.environ["LOCALSTACK_RUNTIME_ENDPOINT"]
RUNTIME_ID = os.environ["LOCALSTACK_RUNTIME_ID"]
PORT = int(os.environ["HOST_EXECUTOR_PORT"])
TIMEOUT_S = float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3"))
# One invocation at a time, as in a real execution environment.
LOCK = threading.Lock()


def post(path: str, body: Any) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(ENDPOINT + path, data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def error_body(exc: BaseException) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_exception(exc)[1:],
    }


class Context:
    """The attributes of AWS's Python LambdaContext that handlers and Powertools read."""

    def __init__(self, request_id: str, arn: str) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + TIMEOUT_S

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handler() -> Any:
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    module = importlib.import_module(module_name.replace("/", "."))
    return getattr(module, function_name)


def run(handler: Any, invocation: dict[str, Any]) -> None:
    request_id = invocation["invoke-id"]
    logs = io.StringIO()
    with LOCK:
        try:
            event = json.loads(invocation["payload"]) if invocation.get("payload") else {}
            with contextlib.redirect_stdout(logs), contextlib.redirect_stderr(logs):
                result = handler(event, Context(request_id, invocation.get("invoked-function-arn", "")))
            body, outcome = json.dumps(result).encode(), "response"
        except Exception as exc:
            body, outcome = json.dumps(error_body(exc)).encode(), "error"
        sys.stdout.write(logs.getvalue())
        post(f"/invocations/{request_id}/logs", {"logs": logs.getvalue()})
        post(f"/invocations/{request_id}/{outcome}", body)


class InvokeHandler(BaseHTTPRequestHandler):
    handler: Any = None

    def do_POST(self) -> None:
        if self.path != "/invoke":
            self.send_error(404)
            return
        invocation = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        # Accept at once: LocalStack waits for the result on its runtime endpoint, not on this response.
        self.send_response(200)
        self.end_headers()
        threading.Thread(target=run, args=(type(self).handler, invocation), daemon=True).start()

    def log_message(self, format: str, *args: Any) -> None:
        return None  # the function's own output is the log; request lines would only add noise


def main() -> None:
    server = HTTPServer(("127.0.0.1", PORT), InvokeHandler)
    try:
        InvokeHandler.handler = load_handler()
    except Exception as exc:
        traceback.print_exc()
        # the error type AWS reports when a handler module fails to import
        body = {**error_body(exc), "errorType": "Runtime.ImportModuleError"}
        body["errorMessage"] = f"Unable to import module '{os.environ['_HANDLER']}': {exc}"
        post(f"/status/{RUNTIME_ID}/error", body)
        sys.exit(1)
    post(f"/status/{RUNTIME_ID}/ready", {})
    server.serve_forever()


if __name__ == "__main__":
    main()
