"""The request type of Demarche's views, for mypy.

Every page sits behind ``login_required``, so ``request.user`` is a real
``User`` (never ``AnonymousUser``), and ``HtmxMiddleware`` sets
``request.htmx``. Plain ``HttpRequest`` knows neither, so views annotate their
request as ``AuthedRequest``; at run time it is the same ``HttpRequest``.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class AuthedRequest(HttpRequest):
    user: User
    htmx: HtmxDetails
