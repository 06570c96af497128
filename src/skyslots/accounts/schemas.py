from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from skyslots.models import Role
from skyslots.validation import clean_text


class UserCreate(BaseModel):
    email: EmailStr
    name: str = Field(min_length=1, max_length=100)
    role: Role = Role.MEMBER
    password: str | None = Field(default=None, min_length=8, max_length=256)
    vatsim_id: int | None = Field(default=None, ge=100_000, le=99_999_999)

    @field_validator("name")
    @classmethod
    def _trim(cls, value: str) -> str:
        return clean_text(value)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str
    role: Role
    created_at: datetime


class AccessToken(BaseModel):
    access_token: str
    token_type: str = "bearer"
