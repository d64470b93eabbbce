"""The API tokens page: create a named token with an expiry, see it once, revoke it.

Tokens are django-rest-knox tokens: only a SHA-512 digest is stored, so the
raw token can be shown exactly once, in the response to the POST that made it
(never cached). Knox's model has no name field; ``ApiTokenName`` holds the
name, and outlives a token knox deletes on expiry so the page can show it as
expired until its owner deletes it. The admin log records who made and who
revoked which token.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.models import ADDITION, DELETION, LogEntry
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from knox.models import get_token_model

from ..models import ApiTokenName
from ..requests import AuthedRequest

AuthToken = get_token_model()


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text='What the token is for, such as "laptop notebook" or "lab server".'
    )
    days = forms.IntegerField(
        label="Expires after (days)",
        min_value=1,
        max_value=365,
        initial=90,
        help_text="1 to 365 days. Make a new token when it expires.",
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        limit = settings.API_TOKENS_PER_USER
        if live_tokens(self.user).count() >= limit:
            raise forms.ValidationError(f"You have {limit} tokens already: revoke one you no longer use first.")
        return data


def live_tokens(user: User) -> QuerySet[Any]:
    return AuthToken.objects.filter(user=user).filter(Q(expiry__isnull=True) | Q(expiry__gt=timezone.now()))


def _log(user: User, record: ApiTokenName, flag: int) -> None:
    LogEntry.objects.create(
        user=user,
        content_type=ContentType.objects.get_for_model(AuthToken),
        object_id=record.digest,
        object_repr=record.name[:200],
        action_flag=flag,
        change_message=f"API token {'created' if flag == ADDITION else 'revoked'} on the tokens page.",
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: AuthedRequest) -> HttpResponse:
    form = TokenForm(request.POST or None, user=request.user)
    new_token = new_name = None
    if request.method == "POST" and form.is_valid():
        record, new_token = ApiTokenName.issue(
            request.user, form.cleaned_data["name"], datetime.timedelta(days=form.cleaned_data["days"])
        )
        new_name = record.name
        _log(request.user, record, ADDITION)
        # Shown in this response only; a reload must not show (or re-create) it.
        form = TokenForm(user=request.user)
    now = timezone.now()
    rows = [
        {
            "name": record.name,
            "prefix": record.prefix,
            "created": record.created_at,
            "expiry": record.current_expiry,
            "expired": record.is_expired(now),
            "revoke_url": reverse("annotations:token-revoke", args=[record.digest]),
        }
        for record in ApiTokenName.objects.filter(user=request.user).select_related("token")
    ]
    context = {
        "form": form,
        "tokens": rows,
        "new_token": new_token,
        "new_name": new_name,
        "api_url": request.build_absolute_uri("/api/v1/"),
        "docs_url": reverse("api:docs"),
    }
    return TemplateResponse(request, "annotations/token_list.html", context, status=422 if form.errors else 200)


@login_required
@require_POST
def token_revoke(request: AuthedRequest, digest: str) -> HttpResponse:
    # Scoped to the user's own tokens: someone else's digest is a 404. An
    # expired token's row is deleted the same way (knox may have deleted the
    # token itself already).
    record = get_object_or_404(ApiTokenName, user=request.user, digest=digest)
    expired = record.is_expired()
    _log(request.user, record, DELETION)
    record.remove()
    if expired:
        messages.success(request, f"Expired token “{record.name}” deleted.")
    else:
        messages.success(request, f"Token “{record.name}” revoked: it no longer works.")
    return redirect("annotations:token-list")
