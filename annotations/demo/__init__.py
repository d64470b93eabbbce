"""The demo: the worked example's files beside this module, and the demo accounts.

``seed_demo`` creates the accounts (only with DEBUG on) and ``annotations.auth``
refuses their published passwords with DEBUG off, so both read them from here.
"""

from __future__ import annotations

from ..roles import Role

# Demo accounts: (username, role, password). Documented in the README; only
# ever created with DEBUG on.
DEMO_USERS: list[tuple[str, Role | None, str]] = [
    ("analyst", Role.ANALYST, "demo-analyst-pass"),
    ("analyst2", Role.ANALYST, "demo-analyst2-pass"),
    ("reviewer", Role.REVIEWER, "demo-reviewer-pass"),
    ("researcher", Role.RESEARCHER, "demo-researcher-pass"),
    ("admin", None, "demo-admin-pass"),
]
