"""Golden raw inputs for the five reference datasets, dirty rows included, in the shapes ingestion writes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

RATES = [
    {"base_currency": "USD", "currency_code": "EUR", "rate_date": "2024-02-28", "rate": 0.9},
    {"base_currency": "USD", "currency_code": "EUR", "rate_date": "2024-02-29", "rate": 0.92},
    {"base_currency": "USD", "currency_code": "GBP", "rate_date": "2024-02-29", "rate": "0.79"},
    {"base_currency": "usd", "currency_code": "jpy", "rate_date": "2024-03-01", "rate": 150.5},  # mixed-case codes
    {"base_currency": "USD", "currency_code": "CHF", "rate_date": "2024-02-30", "rate": 0.88},  # no such day
    {"base_currency": "USD", "currency_code": "SEK", "rate_date": "2024-03-01", "rate": -1},  # not positive
    {"base_currency": "USD", "currency_code": "EUR", "rate_date": "2024-02-29", "rate": 0.92},  # duplicate key
    {"base_currency": "USD", "currency_code": "EURO", "rate_date": "2024-03-01", "rate": 1.1},  # regex
    {"base_currency": " USD ", "currency_code": "EUR", "rate_date": "2024-03-03", "rate": None},  # rate missing
]

SALES_HEADER = ["Transaction_ID", "Customer_ID", "Product_ID", "Quantity", "Price", "Currency", "Transaction_Date",
                "Store"]  # fmt: skip
SALES_PARTS = [
    [
        ["S1", "101", "10", "2", "10.00", "USD", "2024-03-01", "North"],
        ["S2", "102", "11", "1", "5.50", " eur ", "01/03/2024", " South "],  # whitespace, lower-case code, dd/MM
        ["S3", "", "12", "3", "7.25", "GBP", "03-02-2024", "North"],  # MM-dd-yyyy, optional customer missing
        ["S4", "103", "13", "-1", "4.00", "USD", "2024-03-01", ""],  # negative quantity
        ["S5", "104", "14", "1", "abc", "XYZ", "2024/03/01", "East"],  # bad price and a date in no listed format
        ["S6", "105", "15", "1", "3.00", "XYZ", "2024-03-01", "East"],  # unknown currency
        ["s7", "106", "16", "1", "1.00", "USD", "2024-03-01", "West"],  # id fails its regex (not a code)
        ["S8", "107", "17", "2", "20.00", "EUR", "2024-02-27", "West"],  # before the first EUR rate
        ["S9", "108", "18", "1", "2.00", "JPY", "2024-03-05", "North"],  # nearest earlier rate (03-01)
        ["S10", "109", "19", "1", "", "USD", "2024-03-01", "North"],  # required price missing
        ["S11", "110", "20", "0", "1.00", "USD", "31-12-2024", "North"],  # zero quantity, impossible MM-dd
    ],
    [
        ["S1", "101", "10", "5", "11.00", "USD", "2024-03-01", "North"],  # duplicate key, later file wins
        ["S12", "111", "21", "1", "9.99", "usd", "2024-03-02", "South, Annex"],  # quoted delimiter
        ["S2", "102", "11", "1", "5.50", "EUR", "2024-03-03", "South"],  # duplicate key moving to another day
    ],
]


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


TRANSACTION_ROWS: list[dict[str, Any]] = [
    {"transaction_id": 1, "customer_id": 101, "product_id": 10, "quantity": 2, "total_amount": Decimal("20.00"),
     "currency": "USD", "transaction_date": date(2024, 3, 1), "updated_at": _ts("2024-03-01T10:00:00+00:00")},
    {"transaction_id": 2, "customer_id": 102, "product_id": 11, "quantity": 1, "total_amount": Decimal("9.20"),
     "currency": "EUR", "transaction_date": date(2024, 3, 1), "updated_at": _ts("2024-03-01T10:00:00+00:00")},
    {"transaction_id": 2, "customer_id": 102, "product_id": 11, "quantity": 3, "total_amount": Decimal("27.60"),
     "currency": "EUR", "transaction_date": date(2024, 3, 2), "updated_at": _ts("2024-03-02T09:00:00+00:00")},
    {"transaction_id": 3, "customer_id": 103, "product_id": 12, "quantity": -2, "total_amount": Decimal("5.00"),
     "currency": "USD", "transaction_date": date(2024, 3, 1), "updated_at": _ts("2024-03-01T10:00:00+00:00")},
    {"transaction_id": 4, "customer_id": 104, "product_id": 13, "quantity": 1, "total_amount": Decimal("8.00"),
     "currency": "eur", "transaction_date": date(2024, 3, 1), "updated_at": _ts("2024-03-01T10:00:00+00:00")},
    {"transaction_id": 5, "customer_id": 105, "product_id": 14, "quantity": 1, "total_amount": Decimal("3.00"),
     "currency": "XXX", "transaction_date": date(2024, 3, 1), "updated_at": _ts("2024-03-01T10:00:00+00:00")},
    {"transaction_id": 6, "customer_id": 106, "product_id": 15, "quantity": 1, "total_amount": Decimal("-1.00"),
     "currency": " usd ", "transaction_date": date(2024, 3, 1), "updated_at": _ts("2024-03-01T10:00:00+00:00")},
    {"transaction_id": 7, "customer_id": 107, "product_id": 16, "quantity": 4, "total_amount": Decimal("4.00"),
     "currency": "GBP", "transaction_date": date(2024, 3, 2), "updated_at": _ts("2024-03-02T08:00:00+00:00")},
    {"transaction_id": 7, "customer_id": 107, "product_id": 16, "quantity": 9, "total_amount": Decimal("9.00"),
     "currency": "GBP", "transaction_date": date(2024, 3, 1), "updated_at": _ts("2024-03-01T08:00:00+00:00")},
    {"transaction_id": 8, "customer_id": None, "product_id": 17, "quantity": 1, "total_amount": Decimal("1.00"),
     "currency": "USD", "transaction_date": date(2024, 3, 1), "updated_at": _ts("2024-03-01T10:00:00+00:00")},
]  # fmt: skip

TRANSACTION_SCHEMA = pa.schema(
    [
        ("transaction_id", pa.int64()),
        ("customer_id", pa.int64()),
        ("product_id", pa.int64()),
        ("quantity", pa.int32()),
        ("total_amount", pa.decimal128(12, 2)),
        ("currency", pa.string()),
        ("transaction_date", pa.date32()),
        ("updated_at", pa.timestamp("us", tz="UTC")),
    ]
)

CUSTOMERS = [
    {"Customer_ID": 1, "Customer_Name": " Alice ", "Age": 34, "Gender": "female", "Location": "Berlin",
     "Date_Joined": "2023-05-01", "updated_at": "2024-03-01T10:00:00Z"},
    {"Customer_ID": 2, "Customer_Name": "Bob", "Age": "41", "Gender": "MALE", "Location": "Paris",
     "Date_Joined": "15/06/2023", "updated_at": "2024-03-01T10:00:00+00:00"},
    {"Customer_ID": 3, "Customer_Name": "Carol", "Age": -5, "Gender": "Other", "Location": "Rome",
     "Date_Joined": "2023-07-01", "updated_at": "2024-03-01T10:00:00Z"},
    {"Customer_ID": 4, "Customer_Name": "Dan", "Age": 30, "Gender": "unknown", "Location": "Oslo",
     "Date_Joined": "2023-13-01", "updated_at": "2024-03-01T10:00:00Z"},
    {"Customer_ID": 5, "Customer_Name": "  ", "Age": 22, "Gender": "male", "Location": "Lisbon",
     "Date_Joined": "2023-08-01", "updated_at": "2024-03-01T10:00:00Z"},
    {"Customer_ID": 1, "Customer_Name": "Alice B", "Age": 35, "Gender": "FEMALE", "Location": "Munich",
     "Date_Joined": "2023-05-01", "updated_at": "2024-03-02T10:00:00Z"},
    {"Customer_ID": 6, "Customer_Name": "Eve", "Age": None, "Gender": None, "Location": None,
     "Date_Joined": "2023-09-09", "updated_at": "2024-03-01T12:30:00+02:00"},
    {"Customer_ID": 7, "Customer_Name": "Frank", "Age": 50, "Gender": "MALE", "Location": "Madrid",
     "Date_Joined": "2023-10-10", "updated_at": "not a time"},
]  # fmt: skip

PRODUCT_ROWS: list[dict[str, Any]] = [
    {"product_id": 1, "product_name": "Widget", "category": "Tools", "price": "12.50", "stock_available": 100},
    {"product_id": 2, "product_name": "Gadget", "category": " Toys ", "price": "0.00", "stock_available": 0},
    {"product_id": 3, "product_name": "Broken", "category": "Tools", "price": "-1.00", "stock_available": 5},
    {"product_id": 4, "product_name": None, "category": "Tools", "price": "1.00", "stock_available": 1},
    {"product_id": 5, "product_name": "Thing", "category": None, "price": "7.995", "stock_available": -3},
    {"product_id": 6, "product_name": "Rounded", "category": "Misc", "price": "7.995", "stock_available": 3},
]
PRODUCT_SCHEMA = pa.schema(
    [
        ("product_id", pa.int64()),
        ("product_name", pa.string()),
        ("category", pa.string()),
        ("price", pa.string()),  # ADBC hands numeric over as text; the contract casts it
        ("stock_available", pa.int32()),
    ]
)


def table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema)
