"""The request dependency for the process's storage (made in the app's lifespan)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from skyslots.storage.base import Storage


async def get_storage(request: Request) -> Storage:
    return request.app.state.storage


StorageDep = Annotated[Storage, Depends(get_storage)]
