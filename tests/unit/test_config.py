"""pipeline.yaml validation: the sample loads, and every malformed file gives exactly the expected messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataplatform.config import ConfigError, PipelineConfig, load_config, parse_config

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = (ROOT / "pipeline.yaml").read_text(encoding="utf-8")
NO_ENV: dict[str, str] = {}


def edit(old: str, new: str, text: str = SAMPLE) -> str:
    """The sample with one exact edit; fails loudly if the sample changed under the test."""
    assert text.count(old) == 1, f"sample pipeline.yaml no longer contains exactly one {old!r}"
    return text.replace(old, new)


def messages(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, env=NO_ENV)
    return info.value.messages


def test_sample_loads_with_the_five_reference_datasets() -> None:
    config = load_config(ROOT / "pipeline.yaml", env=NO_ENV)
    assert isinstance(config, PipelineConfig)
    assert sorted(config.datasets) == ["customers", "exchange_rates", "products", "sales", "transactions"]
    assert config.waves() == [["customers", "exchange_rates", "products"], ["sales", "transactions"]]
    assert config.schedule.expression == "cron(0 3 * * ? *)"
    assert config.secret_names() == ["retail/customer-api", "retail/postgres"]
    assert config.datasets_of_kind("postgres") == ["products", "transactions"]
    assert config.glue_database("curated") == "retail_curated"
    # ${VAR:-default} falls back to the default when the variable is unset...
    assert config.datasets["exchange_rates"].source.base_url == "https://api.frankfurter.dev/v1"
    # ...and takes the environment's value when set (the local demo points APIs at loopback this way).
    local = parse_config(SAMPLE, env={"EXCHANGE_RATES_URL": "http://127.0.0.1:9/v1"})
    assert local.datasets["exchange_rates"].source.base_url == "http://127.0.0.1:9/v1"


def test_glue_database_names_replace_hyphens() -> None:
    config = parse_config(edit("project: retail", "project: retail-eu"), env=NO_ENV)
    assert config.glue_database("marts") == "retail_eu_marts"


CRON_LINE = '  cron: "0 3 * * ? *"            # EventBridge Scheduler: min hour day-of-month month day-of-week year\n'
SALES_DEPENDS = '      delimiter: ","\n    depends_on: [exchange_rates]\n'
TRANSACTIONS_DEPENDS = "any transaction still open\n    depends_on: [exchange_rates]\n"

MALFORMED: dict[str, tuple[str, list[str]]] = {
    "missing key": (
        edit(CRON_LINE, ""),
        ["pipeline.yaml:7: schedule.cron: missing required key 'cron'"],
    ),
    "wrong type": (
        edit("raw_retention_days: 90", "raw_retention_days: ninety"),
        [
            "pipeline.yaml:10: raw_retention_days: Input should be a valid integer, unable to parse string as an "
            "integer; got 'ninety'"
        ],
    ),
    "unknown source kind": (
        edit("kind: csv", "kind: ftp"),
        ["pipeline.yaml:114: datasets.sales.source: unknown source kind 'ftp'; expected one of: csv, rest, postgres"],
    ),
    "missing source kind": (
        edit("      kind: csv\n", ""),
        ["pipeline.yaml:114: datasets.sales.source: missing required key 'kind' (one of: csv, rest, postgres)"],
    ),
    "bad cron (5 fields)": (
        edit('cron: "0 3 * * ? *"', 'cron: "0 3 * * *"'),
        [
            "pipeline.yaml:8: schedule.cron: expected 6 cron fields (minutes hours day-of-month month day-of-week "
            "year); got 5 in '0 3 * * *'"
        ],
    ),
    "bad cron (hour out of range)": (
        edit('cron: "0 3 * * ? *"', 'cron: "0 25 * * ? *"'),
        ["pipeline.yaml:8: schedule.cron: hours value 25 is out of range 0-23 in '0 25 * * ? *'"],
    ),
    "bad time zone": (
        edit("timezone: Europe/Berlin", "timezone: Mars/Olympus"),
        ["pipeline.yaml:9: schedule.timezone: unknown IANA time zone 'Mars/Olympus' (e.g. UTC, Europe/Berlin)"],
    ),
    "duplicate dataset": (
        SAMPLE + "\n  sales:\n    source: {kind: csv, location: landing/more-sales/}\n",
        ["pipeline.yaml:138: datasets.sales: duplicate key 'sales' (first defined on line 112)"],
    ),
    "key column not in contract": (
        edit("key: [product_id]", "key: [sku]"),
        [
            "pipeline.yaml:77: datasets.products.contract.key[0]: column 'sku' is not in the contract columns "
            "(product_id, product_name, category, price, stock_available, snapshot_date)"
        ],
    ),
    "dependency cycle": (
        edit(
            SALES_DEPENDS,
            '      delimiter: ","\n    depends_on: [exchange_rates, transactions]\n',
            edit(TRANSACTIONS_DEPENDS, "any transaction still open\n    depends_on: [exchange_rates, sales]\n"),
        ),
        ["pipeline.yaml:26: datasets: dependency cycle: sales -> transactions -> sales"],
    ),
    "unknown dependency": (
        edit(SALES_DEPENDS, '      delimiter: ","\n    depends_on: [exchange_rates, stores]\n'),
        [
            "pipeline.yaml:120: datasets.sales.depends_on: unknown dataset 'stores'; expected one of: exchange_rates, "
            "customers, products, transactions, sales"
        ],
    ),
    "currency conversion without its rates dependency": (
        edit(SALES_DEPENDS, '      delimiter: ","\n'),
        [
            "pipeline.yaml:112: datasets.sales.depends_on: must include 'exchange_rates', which its currency "
            "conversion reads"
        ],
    ),
    "unknown rule": (
        edit("rules: [non_negative]}\n        - {name: stock", "rules: [nonnegative]}\n        - {name: stock"),
        [
            "pipeline.yaml:83: datasets.products.contract.columns[3].rules[0]: unknown rule 'nonnegative'; expected "
            "one of: not_null, non_negative, positive, in_set, regex, date_range"
        ],
    ),
    "regex rule that does not compile": (
        edit('rules: [{regex: "^S[0-9]+$"}]', 'rules: [{regex: "^S[0-9+$"}]'),
        [
            "pipeline.yaml:128: datasets.sales.contract.columns[0].rules[0]: regex pattern does not compile: "
            "unterminated character set at position 2"
        ],
    ),
    "normalize on a non-string column": (
        edit("{name: age, source: Age, type: integer", "{name: age, source: Age, type: integer, normalize: upper"),
        [
            "pipeline.yaml:63: datasets.customers.contract.columns[2].normalize: normalize applies to string columns "
            "only; 'age' has type integer"
        ],
    ),
    "quantity column that is not an integer": (
        edit("quantity_column: quantity,", "quantity_column: currency,"),
        [
            "pipeline.yaml:125: datasets.sales.contract.currency.quantity_column: quantity column 'currency' must "
            "have type integer or bigint"
        ],
    ),
    "a column named like a converted amount": (
        edit(
            "- {name: customer_id, source: Customer_ID, type: bigint}", "- {name: line_price_reporting, type: bigint}"
        ),
        [
            "pipeline.yaml:125: datasets.sales.contract.currency: column 'line_price_reporting' clashes with a "
            "column that currency conversion adds"
        ],
    ),
    "rates more precise than conversion computes with": (
        edit('{name: rate, type: "decimal(18,8)"', '{name: rate, type: "decimal(30,20)"'),
        [
            "pipeline.yaml:40: datasets.exchange_rates.contract.columns: rate must be decimal(p,s) with s <= 10 and "
            "p - s <= 10 (conversion computes with it exactly); got decimal(30,20)"
        ],
    ),
    "unknown column type": (
        edit("{name: age, source: Age, type: integer", "{name: age, source: Age, type: int"),
        [
            "pipeline.yaml:63: datasets.customers.contract.columns[2].type: expected one of string, integer, bigint, "
            "double, boolean, date, timestamp or decimal(p,s) with 1 <= p <= 38 and s <= p; got 'int'"
        ],
    ),
    "unknown top-level key": (
        edit("raw_retention_days: 90", "raw_retention_days: 90\nretention: 3"),
        ["pipeline.yaml:11: retention: unknown key 'retention'"],
    ),
    "unknown key inside a source": (
        edit("      table: products\n", "      table: products\n      schema: public\n"),
        ["pipeline.yaml:75: datasets.products.source.schema: unknown key 'schema'"],
    ),
    "postgres table and query": (
        edit("      table: products\n", "      table: products\n      query: select 1\n"),
        ["pipeline.yaml:71: datasets.products.source: give exactly one of 'table' or 'query'"],
    ),
    "incremental load without cursor column": (
        edit("      cursor_column: updated_at\n", ""),
        ["pipeline.yaml:89: datasets.transactions.source: load 'incremental' needs 'cursor_column'"],
    ),
    "auth without secret": (
        edit("auth: {type: bearer, secret: retail/customer-api}", "auth: {type: bearer}"),
        [
            "pipeline.yaml:52: datasets.customers.source.auth: auth type 'bearer' needs a secret (a Secrets Manager "
            "secret name)"
        ],
    ),
    "partition column that is not a date": (
        edit("partition_column: snapshot_date", "partition_column: product_name"),
        [
            "pipeline.yaml:78: datasets.products.contract.partition_column: 'product_name' must have type date, "
            "not string"
        ],
    ),
    "duplicate column": (
        edit("- {name: category, type: string}", "- {name: price, type: string}"),
        ["pipeline.yaml:83: datasets.products.contract.columns[3].name: duplicate column 'price'"],
    ),
    "bad csv location": (
        edit("location: landing/sales/", "location: sales/"),
        [
            "pipeline.yaml:116: datasets.sales.source.location: expected 'landing/<prefix>/', 's3://bucket/prefix/', "
            "an https:// URL, or a local directory ('./dir/', local runs only); got 'sales/'"
        ],
    ),
    "worker type not offered": (
        edit("worker_type: G.1X", "worker_type: G.3X"),
        ["pipeline.yaml:13: glue.worker_type: Input should be 'G.1X', 'G.2X', 'G.4X', 'G.8X' or 'G.025X'; got 'G.3X'"],
    ),
    "too few workers": (
        edit("number_of_workers: 2", "number_of_workers: 1"),
        ["pipeline.yaml:14: glue.number_of_workers: Input should be greater than or equal to 2; got 1"],
    ),
    "lowercase reporting currency": (
        edit("reporting_currency: USD", "reporting_currency: usd"),
        ["pipeline.yaml:6: reporting_currency: expected a value matching ^[A-Z]{3}$; got 'usd'"],
    ),
    "segments out of order": (
        edit("vip: 5000", "vip: 100"),
        ["pipeline.yaml:16: segments: expected vip > high > medium >= 0"],
    ),
    "environment variable without default": (
        edit("${CUSTOMER_API_URL:-https://crm.internal.example.com/api}", "${CUSTOMER_API_URL}"),
        [
            "pipeline.yaml:50: datasets.customers.source.base_url: environment variable CUSTOMER_API_URL is not set "
            "and has no default (write ${CUSTOMER_API_URL:-default})"
        ],
    ),
    "invalid YAML": (
        edit("project: retail", "project: [retail"),
        ["pipeline.yaml:6: invalid YAML: expected ',' or ']', but got ':'"],
    ),
    "not a mapping": ("- retail\n- sales\n", ["pipeline.yaml:1: expected a mapping at the top level"]),
}


@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
def test_malformed_file_gives_the_exact_message(case: str) -> None:
    text, expected = MALFORMED[case]
    assert messages(text) == expected


def test_one_message_per_problem() -> None:
    text = edit(
        "timezone: Europe/Berlin", "timezone: Mars/Olympus", edit("raw_retention_days: 90", "raw_retention_days: 0")
    )
    assert messages(text) == [
        "pipeline.yaml:9: schedule.timezone: unknown IANA time zone 'Mars/Olympus' (e.g. UTC, Europe/Berlin)",
        "pipeline.yaml:10: raw_retention_days: Input should be greater than 0; got 0",
    ]


def test_every_duplicate_key_is_reported_with_its_path() -> None:
    # Regression: PyYAML-level duplicate detection used to stop at the first one and named no YAML path.
    text = edit("  timezone: Europe/Berlin\n", "  timezone: Europe/Berlin\n  timezone: UTC\n")
    text = edit("      table: products\n", "      table: products\n      table: items\n", text)
    assert messages(text) == [
        "pipeline.yaml:10: schedule.timezone: duplicate key 'timezone' (first defined on line 9)",
        "pipeline.yaml:76: datasets.products.source.table: duplicate key 'table' (first defined on line 75)",
    ]


def test_every_missing_environment_variable_is_reported_with_its_path() -> None:
    # Regression: the first unset ${VAR} used to end loading with a message that named neither path nor line.
    text = edit("${CUSTOMER_API_URL:-https://crm.internal.example.com/api}", "${CUSTOMER_API_URL}")
    text = edit("${EXCHANGE_RATES_URL:-https://api.frankfurter.dev/v1}", "${RATES_HOST}/v1", text)
    assert messages(text) == [
        "pipeline.yaml:31: datasets.exchange_rates.source.base_url: environment variable RATES_HOST is not set and "
        "has no default (write ${RATES_HOST:-default})",
        "pipeline.yaml:50: datasets.customers.source.base_url: environment variable CUSTOMER_API_URL is not set "
        "and has no default (write ${CUSTOMER_API_URL:-default})",
    ]


def test_literal_error_shows_the_given_value() -> None:
    # Regression: a value outside a fixed set (worker type, encoding, ...) was reported without the value given.
    text = edit("encoding: utf-8", "encoding: utf-32")
    assert messages(text) == [
        "pipeline.yaml:118: datasets.sales.source.encoding: Input should be 'utf-8', 'utf-8-sig', 'latin-1', "
        "'cp1252' or 'utf-16'; got 'utf-32'"
    ]


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(missing, env=NO_ENV)
    assert info.value.messages == [f"{missing}: file not found"]


def test_messages_name_the_file_given(tmp_path: Path) -> None:
    path = tmp_path / "custom.yaml"
    path.write_text(edit("timezone: Europe/Berlin", "timezone: Nowhere"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env=NO_ENV)
    assert info.value.messages == [
        f"{path}:9: schedule.timezone: unknown IANA time zone 'Nowhere' (e.g. UTC, Europe/Berlin)"
    ]
    assert str(info.value).startswith(f"1 problem in {path}:\n  ")


def test_schema_drift_defaults_to_freeze() -> None:
    """An unreviewed new column (an e-mail address, say) never reaches curated without a config change."""
    config = parse_config(SAMPLE, env=NO_ENV)
    assert {name: ds.contract.schema_drift for name, ds in config.datasets.items()} == dict.fromkeys(
        config.datasets, "freeze"
    )


SALES_PRICE = '        - {name: price, source: Price, type: "decimal(12,2)", nullable: false, rules: [non_negative]}\n'


def test_a_csv_number_format_reaches_every_numeric_column_unless_one_names_its_own() -> None:
    text = edit('      delimiter: ","\n', '      delimiter: ";"\n      number_format: {decimal: ",", grouping: "."}\n')
    text = edit(
        SALES_PRICE,
        SALES_PRICE.replace("rules:", 'number_format: {decimal: ".", grouping: ","}, rules:'),
        text,
    )
    columns = {c.name: c.number_format for c in parse_config(text, env=NO_ENV).datasets["sales"].contract.columns}
    assert (columns["quantity"].decimal, columns["quantity"].grouping) == (",", ".")
    assert (columns["price"].decimal, columns["price"].grouping) == (".", ",")
    assert columns["transaction_id"] is None and columns["transaction_date"] is None


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            '      delimiter: ","\n',
            '      delimiter: ","\n      number_format: {decimal: ",", grouping: ","}\n',
            "datasets.sales.source.number_format: decimal and grouping separators must differ",
        ),
        (
            "        - {name: currency, source: Currency, type: string,",
            '        - {name: currency, source: Currency, type: string, number_format: {decimal: ","},',
            "datasets.sales.contract.columns[5].number_format: number_format applies to numeric columns, not string",
        ),
        (
            '        - {name: price, type: "decimal(12,2)", nullable: false, rules: [non_negative]}\n'
            "        - {name: stock_available",
            '        - {name: price, type: "decimal(12,2)", nullable: false, number_format: {decimal: ","}}\n'
            "        - {name: stock_available",
            "datasets.products.contract.columns[3].number_format: Postgres numbers are typed",
        ),
    ],
)
def test_number_format_mistakes_are_named(old: str, new: str, expected: str) -> None:
    (message,) = messages(edit(old, new))
    assert expected in message
