"""The run console's routes on the API app (same resolver, same authorization: `access.ROUTES`). Each page asks
the API's data access (`LakeData`) through the view builders and renders HTML; none is in the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path as PathParam

from dataplatform.api.errors import NotFound
from dataplatform.config import PipelineConfig
from dataplatform.console import catalog_views, run_detail, run_views
from dataplatform.console.graph_layout import NODE_HEIGHT, NODE_WIDTH, layout
from dataplatform.console.lineage import Lineage, derive_lineage
from dataplatform.console.render import render_page
from dataplatform.layout import RUN_ID

if TYPE_CHECKING:
    from dataplatform.api.app import ApiApp

HTML = "text/html; charset=utf-8"
RUNS_LISTED = 50


PAGE_HEADERS = {
    "Cache-Control": "no-store",  # pages show the lake as it is now: never cached by a browser or a proxy
    "Content-Security-Policy": "frame-ancestors 'none'",  # the rest of the policy is in the page (base.html)
    "X-Content-Type-Options": "nosniff",
}


def html(body: str, status: int = 200) -> Response:
    return Response(status_code=status, content_type=HTML, body=body, headers=PAGE_HEADERS)


def lineage_of(config: PipelineConfig, sql_dir: Path) -> Callable[[], Lineage]:
    """The pipeline's lineage, derived on first use (then kept) from pipeline.yaml and its sql/ folder."""

    @cache
    def derive() -> Lineage:
        from dataplatform.athena import load_sql_files  # sqlglot: loaded by the lineage page, not at cold start

        return derive_lineage(config, load_sql_files(sql_dir) if sql_dir.is_dir() else [])  # no sql/: no marts

    return derive


def register_console(api: ApiApp, lineage: Callable[[], Lineage]) -> None:
    app, data = api.resolver, api.services.data
    project = data.project

    @app.get("/", include_in_schema=False)
    def runs():  # type: ignore[no-untyped-def]  # HTML: no response model (validation would need one)
        rows = run_views.runs_page(data, RUNS_LISTED)
        return html(render_page("runs.html", project=project, page="Runs", rows=rows))

    @app.get("/console/runs/<run_id>", include_in_schema=False)
    def run(run_id: Annotated[str, PathParam(pattern=RUN_ID.pattern)]):  # type: ignore[no-untyped-def]
        try:
            detail = run_detail.run_detail(data, run_id)
        except NotFound as error:  # a page for people (an old link, a typo), not the JSON error body
            missing = render_page(
                "error.html", project=project, page="Runs", status="Run not found", message=error.message
            )
            return html(missing, status=404)
        return html(render_page("run.html", project=project, page="Runs", detail=detail))

    @app.get("/console/datasets", include_in_schema=False)
    def datasets():  # type: ignore[no-untyped-def]  # HTML: no response model (validation would need one)
        views = catalog_views.datasets_page(data)
        return html(render_page("datasets.html", project=project, page="Datasets", charts=True, views=views))

    @app.get("/console/lineage", include_in_schema=False)
    def lineage_page():  # type: ignore[no-untyped-def]  # HTML: no response model (validation would need one)
        derived = lineage()
        body = render_page(
            "lineage.html", project=project, page="Lineage", lineage=derived, graph=layout(derived),
            node_width=NODE_WIDTH, node_height=NODE_HEIGHT,
        )  # fmt: skip
        return html(body)

    @app.get("/console/marts", include_in_schema=False)
    def marts():  # type: ignore[no-untyped-def]  # HTML: no response model (validation would need one)
        view = catalog_views.marts_page(data)
        return html(render_page("marts.html", project=project, page="Marts", charts=True, view=view))
