"""Targets analysts propose and reviewers decide on.

An analyst who misses a target proposes it from the annotate page's target box
(a dialog: name and parent); it is usable at once, marked "proposed". Reviewers
list the proposals, and accept each (renamed or moved if need be) or merge it
into the accepted target that says the same. Curation refuses an article whose
curated stances still point to a proposal.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..forms import TargetAcceptForm, TargetParentField, TargetProposalForm, parent_choices, target_paths
from ..models import Target
from ..requests import AuthedRequest
from ..roles import analyst_required, reviewer_required
from .workspace import _redirect_back

PROPOSALS = "annotations/target_proposals.html"


@analyst_required
@require_http_methods(["GET", "POST"])
def target_propose(request: AuthedRequest) -> HttpResponse:
    """The proposal form: in the annotate page's dialog (htmx), or a page of its own."""
    form = TargetProposalForm(request.POST or None, initial={"name": request.GET.get("name", "")[:200]})
    back = request.POST.get("next") or request.GET.get("next") or ""
    if request.method == "POST" and form.is_valid():
        try:
            target = Target.propose(
                name=form.cleaned_data["name"],
                parent=form.cleaned_data["parent"],
                description=form.cleaned_data["description"],
                by=request.user,
            )
        except (ValidationError, IntegrityError) as refusal:  # the same slug taken meanwhile, say
            form.add_error(None, _refusal_text(refusal, "Someone proposed the same target meanwhile: search for it."))
            template = "annotations/target_propose.html" + ("#proposal-form" if request.htmx else "")
            return TemplateResponse(request, template, {"form": form, "next": back}, status=422)
        if request.htmx:
            path = target_paths()[target.pk]
            return TemplateResponse(
                request,
                "annotations/target_propose.html#proposed",
                {"target": target, "path": path, "form": TargetProposalForm()},
            )
        messages.success(request, f"Target “{target}” proposed: pick it in the target box. A reviewer decides on it.")
        return _redirect_back(request, back)
    status = 422 if form.errors else 200
    template = "annotations/target_propose.html" + ("#proposal-form" if request.htmx else "")
    return TemplateResponse(request, template, {"form": form, "next": back}, status=status)


def _refusal_text(refusal: Exception, fallback: str) -> str:
    return " ".join(refusal.messages) if isinstance(refusal, ValidationError) else fallback


def _proposals_page(request: AuthedRequest, *, status: int = 200, forms: dict | None = None) -> HttpResponse:
    proposals = list(
        Target.objects.proposed()
        .select_related("parent", "proposed_by")
        .annotate(stance_count=Count("stances"))
        .order_by("name", "id")
    )
    parents = parent_choices()
    paths = target_paths()
    forms = forms or {}
    rows = [
        {
            "target": target,
            "path": paths.get(target.pk, target.name),
            "accept_form": forms.get(("accept", target.pk))
            or TargetAcceptForm(
                initial={"name": target.name, "parent": target.parent_id}, prefix=f"t{target.pk}", parents=parents
            ),
            "merge_error": forms.get(("merge", target.pk)),
        }
        for target in proposals
    ]
    merge_choices = [(pk, path) for pk, path in parents if pk]
    return TemplateResponse(request, PROPOSALS, {"rows": rows, "merge_choices": merge_choices}, status=status)


@reviewer_required
@require_GET
def target_proposals(request: AuthedRequest) -> HttpResponse:
    return _proposals_page(request)


@reviewer_required
@require_POST
def target_proposal_accept(request: AuthedRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(Target.objects.proposed(), pk=pk)
    form = TargetAcceptForm(request.POST, prefix=f"t{target.pk}")
    if form.is_valid():
        try:
            target.accept(name=" ".join(form.cleaned_data["name"].split()), parent=form.cleaned_data["parent"])
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, error.messages)
        else:
            messages.success(request, f"Target “{target}” accepted into the taxonomy.")
            return redirect("annotations:target-proposals")
    return _proposals_page(request, status=422, forms={("accept", target.pk): form})


@reviewer_required
@require_POST
def target_proposal_merge(request: AuthedRequest, pk: int) -> HttpResponse:
    target = get_object_or_404(Target.objects.proposed(), pk=pk)
    field = TargetParentField(required=True)
    try:
        kept = field.clean(request.POST.get("into"))
        moved, dropped = target.merge_into(kept)
    except ValidationError as error:
        return _proposals_page(request, status=422, forms={("merge", target.pk): " ".join(error.messages)})
    message = f"“{target.name}” merged into “{kept}”: {moved} stance{'s' if moved != 1 else ''} moved"
    if dropped:
        message += f", {dropped} dropped where the quote already took a stance toward “{kept}”"
    messages.success(request, message + ".")
    return redirect("annotations:target-proposals")
