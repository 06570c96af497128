from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from skyslots.models import TokenScope
from skyslots.validation import CleanText


class TokenCreate(BaseModel):
    name: CleanText = Field(min_length=1, max_length=100, description="What the token is for.")
    scope: TokenScope = Field(description="`read`: GET and HEAD only; `write`: everything.")


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    scope: TokenScope
    created_at: datetime
    last_used_at: datetime | None = Field(
        default=None, description="Its last use, to the minute (updated at most once a minute)."
    )


class TokenCreated(BaseModel):
    """The new token: `token` is shown this once and never again."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    scope: TokenScope
    token: str
    created_at: datetime
