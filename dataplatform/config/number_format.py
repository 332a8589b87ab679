"""How numbers are written in a text source (CSV, REST): decimal and grouping separators."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator
from pydantic_core import PydanticCustomError

from dataplatform.config.strict_model import StrictModel


class NumberFormat(StrictModel):
    """How numbers are written in a text source: `1.234,90` is {decimal: ",", grouping: "."}."""

    decimal: Literal[".", ","] = "."
    grouping: Literal["", ",", ".", " ", "'", "\u00a0", "\u202f"] = ""
    """Thousands separator, or "" for none. Groups must be of three digits (`1.234.567`); a value that uses it
    otherwise (`12.34,5`) is not a number and goes to quarantine."""

    @model_validator(mode="after")
    def _distinct(self) -> NumberFormat:
        if self.decimal == self.grouping:
            raise PydanticCustomError("number_format", "decimal and grouping separators must differ")
        return self
