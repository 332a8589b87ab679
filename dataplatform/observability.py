"""One observability setup for every Lambda handler: Powertools Logger, Tracer and Metrics, and the typed event.

    observe = Observability()

    @observe.handler(ResolveRunEvent)
    def handler(event: ResolveRunEvent, context: LambdaContext) -> dict[str, Any]: ...

injects the Lambda context into structured logs (never the event), traces the invocation, flushes metrics, and
parses the event into its pydantic model with Powertools' parser (a malformed event fails before any work,
naming the field). Each handler module builds its own instance when it is imported, so service name and metrics
namespace come from that function's environment (POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.correlation_paths import API_GATEWAY_HTTP
from aws_lambda_powertools.utilities.parser import event_parser
from pydantic import BaseModel

Event = TypeVar("Event", bound=BaseModel)
Handler = Callable[[Any, Any], Any]


class Observability:
    def __init__(self) -> None:
        self.logger = Logger()
        self.tracer = Tracer()
        self.metrics = Metrics()

    def handler(self, model: type[Event]) -> Callable[[Callable[[Event, Any], Any]], Handler]:
        def wrap(function: Callable[[Event, Any], Any]) -> Handler:
            parsed = event_parser(model=model)(function)
            traced = self.tracer.capture_lambda_handler(self._emitting_metrics(parsed))
            return self.logger.inject_lambda_context(log_event=False)(traced)

        return wrap

    def http_handler(self, function: Handler) -> Handler:
        """An API Gateway handler: the Powertools resolver parses the event into its own typed event
        (APIGatewayProxyEventV2); logs carry the request id as correlation id."""
        traced = self.tracer.capture_lambda_handler(self._emitting_metrics(function))
        return self.logger.inject_lambda_context(log_event=False, correlation_id_path=API_GATEWAY_HTTP)(traced)

    def _emitting_metrics(self, function: Handler) -> Handler:
        """log_metrics, and the invocation's metrics forgotten afterwards even when metrics are disabled (Powertools
        then keeps them, so a warm process, such as a local run, would emit earlier invocations' values later)."""
        logged = self.metrics.log_metrics(function)

        @functools.wraps(function)
        def invoke(event: Any, context: Any) -> Any:
            try:
                return logged(event, context)
            finally:
                self.metrics.clear_metrics()

        return invoke
