"""Deterministic sample data for the local demo and tests: the reference retail dataset at a chosen scale.

Same seed and scale -> byte-identical CSVs and identical database rows, so two demos (and the tests' independent
computations) see the same inputs. A few deliberately bad and duplicated sales rows exercise quarantine and dedup.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

DEFAULT_SEED = 20240101
DATA_DAYS = (date(2024, 1, 2), date(2024, 3, 28))
"""Transaction dates of the sample data (ECB publishes no rate on Jan 1; conversion uses the date or earlier)."""
DEFAULT_WINDOW = (date(2023, 12, 27), date(2024, 3, 31))
"""The demo's run window: covers every sample transaction date and the rates before the first one."""
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "CHF")
CATEGORIES = ("Electronics", "Clothing", "Home", "Sports", "Books", "Toys")
LOCATIONS = ("Berlin", "London", "New York", "Paris", "Tokyo", "Zurich", "Madrid", "Toronto")
FIRST = ("Ada", "Ben", "Chloe", "Dmitri", "Eva", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Liam")
LAST = ("Meyer", "Okafor", "Rossi", "Smith", "Tanaka", "Novak", "Garcia", "Kowalski", "Dubois", "Berg")
GENDERS = ("MALE", "FEMALE", "OTHER")
# A fixed "seeded at" instant: updated_at of seeded rows, so incremental extracts are reproducible.
SEEDED_AT = datetime(2024, 4, 1, 12, 0, tzinfo=UTC)


@dataclass
class SampleData:
    products: list[dict[str, Any]]
    customers: list[dict[str, Any]]
    transactions: list[dict[str, Any]]
    sales_files: dict[str, bytes] = field(default_factory=dict)
    """CSV file name -> bytes (for landing/sales/)."""


def _day(rng: random.Random, window: tuple[date, date]) -> date:
    return window[0] + timedelta(days=rng.randrange((window[1] - window[0]).days + 1))


def generate(scale: float = 1.0, seed: int = DEFAULT_SEED, window: tuple[date, date] = DATA_DAYS) -> SampleData:
    rng = random.Random(seed)
    n_products = max(5, int(40 * scale))
    n_customers = max(10, int(150 * scale))
    n_transactions = max(20, int(1500 * scale))
    n_sales = max(10, int(400 * scale))

    products = [
        {
            "product_id": i,
            "product_name": f"{rng.choice(CATEGORIES)} item {i:04d}",
            "category": rng.choice(CATEGORIES),
            # Prices in the sample currencies; scaled so lifetime values span all of pipeline.yaml's segments.
            "price": Decimal(rng.randrange(199, 14999)) / 100,
            "stock_available": rng.randrange(0, 500),
        }
        for i in range(1, n_products + 1)
    ]
    customers = [
        {
            "Customer_ID": i,
            "Customer_Name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "Age": rng.randrange(18, 80),
            "Gender": rng.choice(GENDERS),
            "Location": rng.choice(LOCATIONS),
            # Two date formats, as the contract allows (yyyy-MM-dd and dd/MM/yyyy).
            "Date_Joined": (d := date(2020, 1, 1) + timedelta(days=rng.randrange(1400))).isoformat()
            if i % 5
            else d.strftime("%d/%m/%Y"),
            "updated_at": (SEEDED_AT - timedelta(minutes=n_customers - i)).isoformat().replace("+00:00", "Z"),
        }
        for i in range(1, n_customers + 1)
    ]
    # Buying activity is skewed (Zipf-like, in a shuffled order), as in real retail: a few customers buy a lot.
    customer_ids = list(range(1, n_customers + 1))
    rng.shuffle(customer_ids)
    activity = [1 / rank**0.9 for rank in range(1, n_customers + 1)]
    transactions = []
    for i in range(1, n_transactions + 1):
        product = rng.choice(products)
        quantity = rng.randrange(1, 6)
        transactions.append(
            {
                "transaction_id": i,
                "customer_id": rng.choices(customer_ids, weights=activity)[0],
                "product_id": product["product_id"],
                "quantity": quantity,
                "total_amount": product["price"] * quantity,
                "currency": rng.choice(CURRENCIES),
                "transaction_date": _day(rng, window),
                "updated_at": SEEDED_AT - timedelta(seconds=n_transactions - i),
            }
        )
    return SampleData(products, customers, transactions, sales_files=_sales_files(rng, n_sales, products, window))


def _sales_files(
    rng: random.Random, n_sales: int, products: list[dict[str, Any]], window: tuple[date, date]
) -> dict[str, bytes]:
    rows: list[list[str]] = []
    for i in range(1, n_sales + 1):
        product = rng.choice(products)
        day = _day(rng, window)
        fmt = ("%Y-%m-%d", "%d/%m/%Y", "%m-%d-%Y")[i % 3]  # the three formats the contract accepts
        rows.append(
            [
                f"S{i:06d}",
                str(rng.randrange(1, 100)),
                str(product["product_id"]),
                str(rng.randrange(1, 4)),
                f"{product['price']:.2f}",
                rng.choice(CURRENCIES),
                day.strftime(fmt),
            ]
        )
    # Rejected rows (quarantine): negative quantity, bad date, bad currency code.
    rows[3][3] = "-2"
    rows[7][6] = "2024-13-45"
    rows[11][5] = "euro"
    # Exact duplicates of earlier rows (dedup on the key drops them).
    rows.extend([list(rows[1]), list(rows[2])])
    header = ["Transaction_ID", "Customer_ID", "Product_ID", "Quantity", "Price", "Currency", "Transaction_Date"]
    half = len(rows) // 2
    return {"sales_part1.csv": _csv(header, rows[:half]), "sales_part2.csv": _csv(header, rows[half:])}


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def extra_sales_file(index: int, first_id: int, rows: int = 20, seed: int = DEFAULT_SEED) -> tuple[str, bytes]:
    """A later CSV drop with new transaction ids (for incremental runs)."""
    rng = random.Random(seed + index)
    body = [
        [
            f"S{first_id + i:06d}",
            str(rng.randrange(1, 100)),
            str(rng.randrange(1, 6)),
            "1",
            "10.00",
            "USD",
            _day(rng, DATA_DAYS).isoformat(),
        ]
        for i in range(rows)
    ]
    header = ["Transaction_ID", "Customer_ID", "Product_ID", "Quantity", "Price", "Currency", "Transaction_Date"]
    return f"sales_drop{index}.csv", _csv(header, body)


SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
    product_id bigint PRIMARY KEY,
    product_name text NOT NULL,
    category text,
    price numeric(12,2) NOT NULL,
    stock_available integer
);
CREATE TABLE IF NOT EXISTS transactions (
    transaction_id bigint PRIMARY KEY,
    customer_id bigint NOT NULL,
    product_id bigint NOT NULL,
    quantity integer NOT NULL,
    total_amount numeric(12,2) NOT NULL,
    currency char(3) NOT NULL,
    transaction_date date NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS transactions_updated_at ON transactions (updated_at);
"""


def seed_postgres(uri: str, data: SampleData) -> bool:
    """Create and fill the tables once; returns False when they already hold data (a persisted demo database)."""
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(SCHEMA)
        if conn.execute("SELECT count(*) FROM products").fetchone()[0]:  # type: ignore[index]
            return False
        with conn.cursor() as cur:
            with cur.copy(
                "COPY products (product_id, product_name, category, price, stock_available) FROM STDIN"
            ) as cp:
                for p in data.products:
                    cp.write_row([p["product_id"], p["product_name"], p["category"], p["price"], p["stock_available"]])
            cols = (
                "transaction_id",
                "customer_id",
                "product_id",
                "quantity",
                "total_amount",
                "currency",
                "transaction_date",
                "updated_at",
            )
            with cur.copy(f"COPY transactions ({', '.join(cols)}) FROM STDIN") as cp:
                for t in data.transactions:
                    cp.write_row([t[c] for c in cols])
    return True


def add_transactions(uri: str, count: int, updated_at: datetime | None = None) -> list[int]:
    """Insert `count` new transactions after the highest id (incremental runs); returns their ids.

    By default they were updated 61 s ago, just past the default lag (60 s): the next extract reads them, and no
    extract before this call can have passed them already."""
    stamp = updated_at or datetime.now(UTC) - timedelta(seconds=61)
    with psycopg.connect(uri, autocommit=True) as conn:
        top = conn.execute("SELECT coalesce(max(transaction_id), 0) FROM transactions").fetchone()[0]  # type: ignore[index]
        ids = list(range(top + 1, top + count + 1))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO transactions VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        i,
                        1 + i % 10,
                        1 + i % 5,
                        1,
                        Decimal("12.50"),
                        "EUR",
                        DATA_DAYS[0] + timedelta(days=i % 30),
                        stamp,
                    )
                    for i in ids
                ],
            )
    return ids
