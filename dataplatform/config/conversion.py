"""Validation of currency conversion in pipeline.yaml: the contract's `currency` block and the rates dataset.

The checks follow what dataplatform/transform/currency.py computes exactly (docs/contracts.md, "Currency").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic_core import PydanticCustomError

from dataplatform.transform.names import MAX_AMOUNT_SCALE, RATE_SCALE, RATES_COLUMNS, converted_columns

if TYPE_CHECKING:
    from dataplatform.config.models import Contract, CurrencyConversion


def check_conversion(contract: Contract, conv: CurrencyConversion, require: Callable[[str, str | None], None]) -> None:
    """A contract's `currency` block: its columns exist and have types conversion can compute with exactly."""
    from dataplatform.config.models import DECIMAL_TYPE  # the one pattern of a contract's decimal types

    for i, amount in enumerate(conv.amount_columns):
        require(f"currency.amount_columns[{i}]", amount)
        match = DECIMAL_TYPE.match(contract.column(amount).type)
        if not match or int(match.group(2)) > MAX_AMOUNT_SCALE:
            raise PydanticCustomError(
                "contract",
                "amount column '{column}' must have a decimal(p,s) type with s <= {max}, not {type}",
                {
                    "at": f"currency.amount_columns[{i}]",
                    "column": amount,
                    "type": contract.column(amount).type,
                    "max": MAX_AMOUNT_SCALE,
                },
            )
    require("currency.currency_column", conv.currency_column)
    require("currency.date_column", conv.date_column)
    require("currency.quantity_column", conv.quantity_column)
    if conv.quantity_column and contract.column(conv.quantity_column).type not in ("integer", "bigint"):
        raise PydanticCustomError(
            "contract",
            "quantity column '{column}' must have type integer or bigint",
            {"at": "currency.quantity_column", "column": conv.quantity_column},
        )
    names = {c.name for c in contract.columns}
    for name, _ in converted_columns(contract):
        if name in names:
            raise PydanticCustomError(
                "contract",
                "column '{column}' clashes with a column that currency conversion adds",
                {"at": "currency", "column": name},
            )


def check_rates_contract(contract: Contract, rates: str) -> None:
    """Conversion reads (base_currency, currency_code, rate_date, rate) and computes with the rate exactly."""
    from dataplatform.config.models import DECIMAL_TYPE

    columns = {c.name: c.type for c in contract.columns}
    missing = [c for c in RATES_COLUMNS if c not in columns]
    if missing:
        raise PydanticCustomError(
            "contract",
            "a rates dataset needs the columns {needed}; missing {missing}",
            {
                "at": f"datasets.{rates}.contract.columns",
                "needed": ", ".join(RATES_COLUMNS),
                "missing": ", ".join(missing),
            },
        )
    match = DECIMAL_TYPE.match(columns["rate"])
    if not match or int(match.group(2)) > RATE_SCALE or int(match.group(1)) - int(match.group(2)) > RATE_SCALE:
        raise PydanticCustomError(
            "contract",
            "rate must be decimal(p,s) with s <= {max} and p - s <= {max} (conversion computes with it exactly); "
            "got {type}",
            {"at": f"datasets.{rates}.contract.columns", "max": RATE_SCALE, "type": columns["rate"]},
        )
