"""Who may call which API endpoint.

These classes only decide by role and verb. Which rows a user reaches is
decided by ``visible_to`` / ``editable_by`` in models.py, which every view
starts from, so the API and the HTML pages can't disagree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.permissions import SAFE_METHODS, BasePermission

from .models import is_analyst, is_researcher, is_reviewer, roles_of

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

    from .models import AnyUser


def is_member(user: AnyUser | None) -> bool:
    """Has a Demarche role (or is a superuser, who acts as a reviewer)."""
    return bool(user and user.is_authenticated and user.is_active and (user.is_superuser or roles_of(user)))


class IsDemarcheMember(BasePermission):
    """Any Demarche role may read; a logged-in account without one may not.

    The default for every API view: an account in no group has nothing to read,
    and a clear 403 says so rather than empty lists that look like no data.
    """

    message = "Your account has no Demarche role (analyst, reviewer or researcher); ask an administrator."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_member(request.user)


class ReadOrAnnotate(IsDemarcheMember):
    """Members read; analysts and reviewers write (the browser's rule); researchers only read."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        if request.method in SAFE_METHODS:
            return True
        if not is_analyst(request.user):
            self.message = "Researchers have read-only access; writing needs the analyst or reviewer role."
            return False
        return True


class ReleaseAccess(IsDemarcheMember):
    """Reviewers and researchers read releases; only reviewers make them.

    Mirrors the group permissions (analysts have no ``view_release``).
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        user = request.user
        if request.method in SAFE_METHODS:
            if is_reviewer(user) or is_researcher(user):
                return True
            self.message = "Releases are for reviewers and researchers."
            return False
        if is_reviewer(user):
            return True
        self.message = "Only reviewers can make a release."
        return False


class AssignmentAccess(IsDemarcheMember):
    """Reviewers manage assignments; an analyst reads and submits their own;
    researchers have none (the review page's rule: ``reviewer_required``).

    Which assignment an analyst reaches is ``Assignment.objects.visible_to``:
    another analyst's is a 404, as on the pages.
    """

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        user = request.user
        if is_reviewer(user):
            return True
        if not is_analyst(user):
            self.message = "Assignments are for analysts and reviewers; researchers read the curated dataset."
            return False
        if request.method in SAFE_METHODS or getattr(view, "action", None) in getattr(view, "annotator_actions", ()):
            return True
        self.message = "Only reviewers assign articles and send work back."
        return False
