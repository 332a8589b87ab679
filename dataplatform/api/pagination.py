"""The opaque `next` token of `GET /marts/{name}`: base64url of `{"m": mart, "o": offset}`.

The token only says where the next page starts; it is not signed, because a forged one can only ask for another
page of a mart the caller may read anyway. It is decoded strictly: wrong alphabet, length, JSON, fields, another
mart's token or an offset out of range are a 400, never a query.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dataplatform.api.errors import InvalidToken

MAX_OFFSET = 10_000_000
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{1,200}$"


class PageToken(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    m: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=128)]
    o: Annotated[int, Field(ge=0, le=MAX_OFFSET)]


def encode(mart: str, offset: int) -> str:
    text = json.dumps({"m": mart, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


def decode(token: str, mart: str) -> int:
    """The offset a token points at, for this mart; InvalidToken otherwise."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        parsed = PageToken.model_validate(json.loads(raw))
    except (binascii.Error, ValueError, UnicodeDecodeError, ValidationError):
        raise InvalidToken("`next` is not a token this API issued") from None
    if parsed.m != mart:
        raise InvalidToken(f"`next` belongs to another mart, not {mart}")
    return parsed.o
