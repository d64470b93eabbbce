"""The annotation guidelines: every member reads them, reviewers write the next version.

A save never changes a version: it makes the next one (``Guidelines.publish``), and
the older ones stay readable at ``/guidelines/v<N>/`` because quotes name the
version they were made under.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_http_methods

from ..forms import GuidelinesForm
from ..models import Guidelines, StanceLabel
from ..requests import AuthedRequest
from ..roles import is_analyst, is_researcher, reviewer_required, role_required

member_required = role_required(is_analyst, is_researcher, refusal="The guidelines are for Demarche's members.")


def _page(request: AuthedRequest, shown: Guidelines | None) -> HttpResponse:
    versions = Guidelines.objects.select_related("author").only("number", "note", "created_at", "author__username")
    return TemplateResponse(
        request,
        "annotations/guidelines.html",
        {
            "shown": shown,
            "versions": versions,
            "current_number": versions[0].number if versions else None,
            "labels": StanceLabel.objects.all(),
        },
    )


@member_required
@require_GET
def guidelines(request: AuthedRequest) -> HttpResponse:
    return _page(request, Guidelines.objects.select_related("author").current())


@member_required
@require_GET
def guidelines_version(request: AuthedRequest, number: int) -> HttpResponse:
    return _page(request, get_object_or_404(Guidelines.objects.select_related("author"), number=number))


@reviewer_required
@require_http_methods(["GET", "POST"])
def guidelines_edit(request: AuthedRequest) -> HttpResponse:
    current = Guidelines.objects.current()
    form = GuidelinesForm(request.POST or None, initial={"body": current.body if current else ""})
    if request.method == "POST" and form.is_valid():
        saved = Guidelines.publish(body=form.cleaned_data["body"], note=form.cleaned_data["note"], by=request.user)
        messages.success(request, f"Saved as version {saved.number}; new quotes are made under it.")
        return redirect("annotations:guidelines")
    return TemplateResponse(request, "annotations/guidelines_edit.html", {"form": form, "current": current})
