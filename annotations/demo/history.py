"""An invented curated history for the demo's statistics pages (``seed_demo --history``).

Two years of invented monthly reports (January 2022 – December 2023), each with
three curated statements by invented officials of six countries about the
worked example's targets, so that the target pages and Compare have periods,
countries and speakers to show. Deterministic: the same rows on every run.
Every article and speaker is marked as invented.
"""

from __future__ import annotations

import datetime
from typing import Any

# (name, country) — invented people.
SPEAKERS = [
    ("Dana Mizrahi", "IL"),
    ("Tom Becker", "US"),
    ("Parisa Karimi", "IR"),
    ("Élise Martin", "FR"),
    ("Oleg Sokolov", "RU"),
    ("Anna Weber", "DE"),
]
CITIES = ["Jerusalem", "Washington", "Tehran", "Paris", "Moscow", "Berlin"]

# What is said about a target with a label: the quote's text.
STATEMENTS = {
    ("jcpoa-return", "support"): "A return to the 2015 nuclear deal remains the best path we have",
    ("jcpoa-return", "oppose"): "Reviving the old deal would only reward Tehran for its stalling",
    ("jcpoa-return", "neutral"): "Talks on the nuclear deal will continue in Vienna next week",
    ("jcpoa-return", "unclear"): "We will see what the other side brings to the table",
    ("iran-nuclear-weapons", "oppose"): "Iran must never be allowed to acquire a nuclear weapon",
    ("iran-nuclear-weapons", "unclear"): "Our programme is a matter for our own people to decide",
    ("support-for-ukraine", "support"): "We will keep helping Ukraine defend itself for as long as it takes",
    ("support-for-ukraine", "oppose"): "Sending more weapons to Kyiv only prolongs the war",
    ("support-for-ukraine", "neutral"): "We are following the events in Ukraine closely",
}


def label_for(country: str, target: str, month: int) -> str:
    """Who says what, and how it moves: the US cools on the deal in 2023, Israel opposes it
    throughout, Iran hedges, Europe supports; Russia opposes aid to Ukraine."""
    if target == "jcpoa-return":
        if country == "US":
            return "support" if month < 12 else ("neutral" if month < 18 else "oppose")
        if country == "IL":
            return "oppose"
        if country == "IR":
            return "unclear" if month % 3 else "support"
        if country == "RU":
            return "support" if month % 2 else "neutral"
        return "support"
    if target == "iran-nuclear-weapons":
        return "unclear" if country == "IR" else "oppose"
    if country in {"RU", "IR"}:
        return "oppose"
    return "neutral" if country == "IL" else "support"


def reports() -> list[dict[str, Any]]:
    """The invented reports: title, outlet, date, text, and each statement's speaker, target, label and span."""
    out = []
    for month in range(24):
        day = datetime.date(2022 + month // 12, month % 12 + 1, 10 + month % 15)
        statements: list[dict[str, Any]] = []
        paragraphs = [f"{CITIES[month % 6].upper()} — Invented report for the Demarche demo, {day:%B %Y}."]
        for offset, target in ((0, "jcpoa-return"), (2, "iran-nuclear-weapons"), (4, "support-for-ukraine")):
            name, country = SPEAKERS[(month + offset) % len(SPEAKERS)]
            label = label_for(country, target, month)
            said = STATEMENTS[(target, label)]
            paragraphs.append(f"“{said},” {name} said.")
            statements.append({"speaker": name, "country": country, "target": target, "label": label, "text": said})
        text = "\n\n".join(paragraphs)
        for statement in statements:
            statement["start"] = text.index(statement["text"])
            statement["end"] = statement["start"] + len(statement["text"])
        out.append(
            {
                "title": f"Invented: statements on Iran and Ukraine, {day:%B %Y}",
                "outlet": "Demarche demo (invented)",
                "published_on": day,
                "text": text,
                "statements": statements,
            }
        )
    return out
