"""The demo's sample sources: an embedded Postgres seeded with sample data, the exchange-rate and customer APIs.

They start only for `dataplatform demo` (and `run --local` on the sample config): a pipeline of your own uses the
endpoints and secrets its config names.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataplatform.config import PipelineConfig
from dataplatform.local.sample_data import SampleData, generate, seed_postgres

CUSTOMER_API_TOKEN = "local-demo-token"  # loopback-only API; the value lives in (moto) Secrets Manager


@dataclass
class SampleServices:
    data: SampleData
    postgres_uri: str
    env: dict[str, str]
    """Variables the sample config's `${...}` URLs read."""
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Secret name -> value, for the secrets the config names."""
    customer_api: Any = None


def start_sample_services(
    stack: ExitStack,
    *,
    config: PipelineConfig,
    data_dir: Path,
    scale: float,
    seed: int,
    customer_api_faults: Any = None,
) -> SampleServices:
    """Start everything on loopback; `stack` stops it. Postgres data persists in `data_dir`."""
    import pgserver

    from dataplatform.local.apis import CustomerApi, ExchangeRateApi

    pg = pgserver.get_server(data_dir, cleanup_mode="stop")
    stack.callback(pg.cleanup)
    uri = pg.get_uri()
    data = generate(scale, seed)
    seed_postgres(uri, data)

    rates = ExchangeRateApi().start()
    stack.callback(rates.stop)
    customers = CustomerApi(data.customers, CUSTOMER_API_TOKEN, faults=customer_api_faults)
    customers.start()
    stack.callback(customers.stop)

    secrets: dict[str, dict[str, Any]] = {}
    for dataset in config.datasets.values():
        source = dataset.source
        if source.kind == "rest" and source.auth.secret:
            secrets[source.auth.secret] = {"token": CUSTOMER_API_TOKEN}
        elif source.kind == "postgres":
            secrets[source.connection_secret] = {"uri": uri}
    return SampleServices(
        data=data,
        postgres_uri=uri,
        env={"EXCHANGE_RATES_URL": rates.url, "CUSTOMER_API_URL": customers.url},
        secrets=secrets,
        customer_api=customers,
    )
