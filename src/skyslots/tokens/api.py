from __future__ import annotations

from fastapi import APIRouter, Response

from skyslots.accounts.deps import DatabaseDep, OrganizerUser
from skyslots.tokens.schemas import TokenCreate, TokenCreated, TokenOut
from skyslots.tokens.service import api_token_create, api_token_revoke, api_tokens_of
from skyslots.validation import RowId

router = APIRouter(prefix="/api/me/tokens", tags=["tokens"])


@router.post("", status_code=201)
async def create_token(data: TokenCreate, db: DatabaseDep, user: OrganizerUser) -> TokenCreated:
    """A personal API token for scripts (`read` or `write`); `token` is shown this once."""
    return await db.transaction(api_token_create, user=user, data=data)


@router.get("")
async def list_tokens(db: DatabaseDep, user: OrganizerUser) -> list[TokenOut]:
    """My API tokens that are not revoked, with their last use."""
    return [TokenOut.model_validate(t) for t in await db.read(api_tokens_of, user=user)]


@router.delete("/{token_id}", status_code=204)
async def revoke_token(token_id: RowId, db: DatabaseDep, user: OrganizerUser) -> Response:
    """Revoke one of my API tokens: it answers 401 from now on."""
    await db.transaction(api_token_revoke, token_id=token_id, user=user)
    return Response(status_code=204)
