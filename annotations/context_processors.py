"""What every page's template may ask about the user: their roles, from the same
predicates as the views' decorators, so the navigation offers exactly the pages
that open (annotations.roles)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest

from .roles import is_analyst, is_researcher, is_reviewer, reads_curated


def roles(request: HttpRequest) -> dict[str, Callable[[], bool]]:
    # Callables, which the template calls when it reads them: a fragment that
    # shows no navigation costs no query for the user's groups.
    user = getattr(request, "user", None)
    if user is None:  # a request that never passed the authentication middleware
        user = AnonymousUser()
    return {
        "is_analyst": partial(is_analyst, user),
        "is_reviewer": partial(is_reviewer, user),
        "is_researcher": partial(is_researcher, user),
        "reads_curated": partial(reads_curated, user),
    }
