"""The admins' feature flags page: each flag with its default, environment and toggle; turn it
on or off, or reset it to the environment/default (docs/features.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from skyslots.accounts.deps import DatabaseDep
from skyslots.errors import ValidationFailed
from skyslots.features.api import FlagName
from skyslots.features.deps import features_of
from skyslots.features.service import feature_reset, feature_states, feature_toggle
from skyslots.web.deps import AdminPage, CheckedForm
from skyslots.web.forms import form_values
from skyslots.web.templating import PageRoute, render, web_session

router = APIRouter(prefix="/organizer", route_class=PageRoute, include_in_schema=False)
ACTIONS = ("on", "off", "reset")


@router.get("/features")
async def features_page(request: Request, db: DatabaseDep, user: AdminPage) -> Response:
    """Every feature flag: whether it is on, and why (a toggle, the environment, the default)."""
    states = await db.read(feature_states, baseline=features_of(request).baseline)
    return render(request, "organizer/features.html", {"states": states})


@router.post("/features/{name}")
async def feature_form(
    request: Request, name: FlagName, db: DatabaseDep, user: AdminPage, form: CheckedForm
) -> Response:
    """Turn a flag on or off (`action=on|off`), or drop the toggle (`action=reset`)."""
    action = form_values(form, ["action"])["action"]
    if action not in ACTIONS:
        raise ValidationFailed("action", "choose on, off or reset")
    if action == "reset":
        await db.transaction(feature_reset, name=name, user=user)
        message = f"{name} is back to its environment setting or default."
    else:
        await db.transaction(feature_toggle, name=name, enabled=action == "on", user=user)
        message = f"{name} is now {action} on every server within a few seconds."
    features_of(request).invalidate()
    web_session(request).flash("success", message)
    return RedirectResponse("/organizer/features", status_code=303)
