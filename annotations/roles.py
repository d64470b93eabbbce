"""Who a user is in Demarche, and the one refusal rule that follows from it.

The role predicates below decide what a person may do; the decorators turn them
into the pages' doors, and the navigation asks the same predicates
(``annotations.context_processors.roles``), so a link is shown exactly when its
page opens. The rule, everywhere:

- anonymous → the login page (HTML) or 401/403 as DRF answers (API);
- logged in without the role a page needs → 403, whatever the object asked for,
  so the answer reveals nothing about it;
- with the role, but asking for somebody else's object → 404, decided by the
  user-scoped QuerySets in models.py (``visible_to``, ``editable_by``…).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_required
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import PermissionDenied
from django.db import connections, models
from django.db.models import OuterRef
from django.http import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    AnyUser = User | AnonymousUser

View = Callable[..., HttpResponse]
Predicate = Callable[["AnyUser"], bool]


class Role(models.TextChoices):
    """The Django groups Demarche knows, created by a data migration."""

    ANALYST = "analyst", "Analyst"
    REVIEWER = "reviewer", "Reviewer"
    RESEARCHER = "researcher", "Researcher"


# What each role is for, as the admin shows it beside the group (DESIGN.md's table).
ROLE_DESCRIPTIONS: dict[str, str] = {
    Role.ANALYST: "Opens the next article in their queue, highlights quotes, attributes them to speakers, "
    "labels their stances toward targets and submits the article.",
    Role.REVIEWER: "Everything an analyst can; compares the annotators of an article, adjudicates, produces "
    "the curated version, manages assignments and the label taxonomy.",
    Role.RESEARCHER: "Reads the curated dataset: filters, searches, exports and pins releases, through the "
    "REST API with a token and the read-only dataset pages.",
}


def roles_of(user: AnyUser) -> frozenset[str]:
    """The user's Demarche roles, cached on the user object for the request."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_demarche_roles", None)
    if cached is None:
        cached = remember_roles(user, user.groups.values_list("name", flat=True))
    return cached


def remember_roles(user: AnyUser, names: Iterable[str]) -> frozenset[str]:
    """Cache ``names`` (the names of all the user's groups) as what ``roles_of`` answers for ``user``."""
    roles = frozenset(names)
    setattr(user, "_demarche_roles", roles)  # noqa: B010 (a per-request cache the User type needn't declare)
    return roles


def roles_read_beside(using: str) -> bool:
    """Whether a query on ``using`` can read a user's roles beside them (``roles_subquery``):
    without building the subquery, which costs more than the rest of a token's check."""
    return connections[using].vendor == "postgresql"


def roles_subquery(user_id: str, using: str) -> ArraySubquery | None:
    """The names of the groups of the user whose id is the column ``user_id``, as an array a
    query reads beside that user (for ``remember_roles``), saving ``roles_of`` its own query.
    PostgreSQL only (None elsewhere): SQLite has no arrays."""
    if not roles_read_beside(using):
        return None
    from django.contrib.auth.models import Group

    return ArraySubquery(Group.objects.filter(user=OuterRef(user_id)).values("name"))


def is_reviewer(user: AnyUser) -> bool:
    return user.is_active and (user.is_superuser or Role.REVIEWER in roles_of(user))


def is_analyst(user: AnyUser) -> bool:
    return Role.ANALYST in roles_of(user) or is_reviewer(user)


def is_researcher(user: AnyUser) -> bool:
    return Role.RESEARCHER in roles_of(user)


def reads_curated(user: AnyUser) -> bool:
    """Who reads the curated dataset, and so its statistics: analysts, reviewers and researchers
    (``QuoteQuerySet.visible_to`` gives each of them the curated layer)."""
    return is_analyst(user) or is_researcher(user)


def role_required(*predicates: Predicate, refusal: str) -> Callable[[View], View]:
    """A page for users of which any of ``predicates`` holds.

    Anonymous visitors go to the login page; anyone else without the role gets
    403 with ``refusal`` as the reason. It wraps the method check too, so the
    wrong role hears 403 for every method, never 405.
    """

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not any(predicate(request.user) for predicate in predicates):
                raise PermissionDenied(refusal)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


analyst_required = role_required(is_analyst, refusal="Only analysts and reviewers can do this.")
reviewer_required = role_required(is_reviewer, refusal="Only reviewers can do this.")
researcher_required = role_required(is_researcher, refusal="Only researchers can do this.")
