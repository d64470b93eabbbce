"""Floor views for the benchmarks, served only under ``bench.settings``.

``bare`` is Django at its barest: the full middleware stack and a fixed body.
``bare_quotes`` serves the same page as ``GET /api/v1/quotes/?speaker=…&target=…``
(curated layer, ordered by id, 100 a page) with no framework on top of Django:
the same rows read with ``values_list`` in three queries and the same JSON
built by hand. The runner checks that both answers hold the same results, so
the ratio between them is what the API's machinery (authentication,
permissions, throttling, filtering, keyset pagination, serializers) costs.

``bare_quotes`` keeps its own copy of the quote rendering on purpose: it is the
floor for ``annotations.serializers.quote_representations`` (the one Python
rendering the API uses) and must not import it, or the ratio would no longer
measure it. It imports from ``annotations`` only the models and the
offsets-convention string, and the runner's equality check keeps the copy true.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from annotations.models import Quote, Stance, Target
from annotations.serializers import OFFSETS_CONVENTION

PAGE = 100
QUOTE_COLUMNS = (
    "id", "start", "end", "text", "kind", "cue", "mention_start", "mention_end", "mention_text", "cue_start",
    "cue_end", "cue_text", "speaker_id", "speaker__name", "speaker__country", "speaker__wikidata_qid",
    "speaker_role__title", "speaker_role__organisation", "addressee_id", "addressee__name", "addressee__country",
    "attribution_group", "parent_id", "article_id", "article__title", "article__outlet", "article__published_on",
    "article__url", "is_curated", "annotator__username", "version", "guidelines_version", "created_at",
    "updated_at",
)  # fmt: skip


@require_http_methods(["GET", "POST"])
def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


def _timestamp(value: Any) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _span(start: int | None, end: int | None, text: str) -> dict[str, Any] | None:
    return None if start is None else {"start": start, "end": end, "text": text}


@require_http_methods(["GET"])
def bare_quotes(request: HttpRequest) -> HttpResponse:
    target = Target.objects.get(slug=request.GET["target"])
    quotes = Quote.objects.filter(
        is_curated=True,
        article__status="curated",
        speaker_id=int(request.GET["speaker"]),
        pk__in=Stance.objects.filter(target_id__in=target.descendant_ids()).values("quote_id"),
    )
    rows = list(quotes.order_by("id").values_list(*QUOTE_COLUMNS)[: PAGE + 1])
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    ids = [row[0] for row in rows]
    stances: dict[int, list[dict[str, Any]]] = {quote_id: [] for quote_id in ids}
    for quote_id, slug, name, label, intensity, confidence, note in (
        Stance.objects.filter(quote_id__in=ids)
        .order_by("quote_id", "id")
        .values_list("quote_id", "target__slug", "target__name", "label__slug", "intensity", "confidence", "note")
    ):
        stances[quote_id].append(
            {
                "target": {"slug": slug, "name": name},
                "label": label,
                "intensity": intensity,
                "confidence": confidence,
                "note": note,
            }
        )
    sources: dict[int, list[int]] = {quote_id: [] for quote_id in ids}
    for curated_id, source_id in Quote.curated_from.through.objects.filter(from_quote_id__in=ids).values_list(
        "from_quote_id", "to_quote_id"
    ):
        sources[curated_id].append(source_id)
    results = []
    for row in rows:
        (quote_id, start, end, text, kind, cue, m_start, m_end, m_text, c_start, c_end, c_text, speaker_id,
         speaker_name, speaker_country, speaker_qid, role_title, role_org, addressee_id, addressee_name,
         addressee_country, group, parent_id, article_id, title, outlet, published_on, url, is_curated,
         annotator, version, guidelines_version, created_at, updated_at) = row  # fmt: skip
        results.append(
            {
                "id": quote_id,
                "start": start,
                "end": end,
                "text": text,
                "kind": kind,
                "cue": cue,
                "mention": _span(m_start, m_end, m_text),
                "cue_span": _span(c_start, c_end, c_text),
                "speaker": None
                if speaker_id is None
                else {
                    "id": speaker_id,
                    "name": speaker_name,
                    "country": speaker_country,
                    "wikidata_qid": speaker_qid,
                    "role": None if role_title is None else {"title": role_title, "organisation": role_org},
                },
                "addressee": None
                if addressee_id is None
                else {"id": addressee_id, "name": addressee_name, "country": addressee_country},
                "stances": stances[quote_id],
                "attribution_group": group,
                "parent": parent_id,
                "article": {
                    "id": article_id,
                    "title": title,
                    "outlet": outlet,
                    "published_on": published_on.isoformat() if published_on else None,
                    "url": url,
                },
                "layer": "curated" if is_curated else "raw",
                "annotator": None if is_curated else annotator,
                "curated_from": sorted(sources[quote_id]) if is_curated else [],
                "version": version,
                "guidelines_version": guidelines_version,
                "created_at": _timestamp(created_at),
                "updated_at": _timestamp(updated_at),
                "offsets_convention": OFFSETS_CONVENTION,
            }
        )
    next_link = f"{request.path}?after={ids[-1]}" if more and ids else None
    page = {"next": next_link, "previous": None, "results": results}
    body = json.dumps(page, ensure_ascii=False, separators=(",", ":")).encode()
    return HttpResponse(body, content_type="application/json")


# The stance statistics' floor: the same GROUP BY the API runs, as one hand-written
# statement over the same joins, its rows as JSON with nothing on top. The runner
# checks that both count the same stances.
FLOOR_STATS_SQL = """
SELECT {period} AS period, l.slug, {group}, count(*)
  FROM annotations_stance st
  JOIN annotations_quote q ON q.id = st.quote_id
  JOIN annotations_article a ON a.id = q.article_id
  JOIN annotations_stancelabel l ON l.id = st.label_id
  LEFT JOIN annotations_speaker s ON s.id = q.speaker_id
 WHERE q.is_curated AND a.status = 'curated' AND a.published_on IS NOT NULL {where}
 GROUP BY 1, 2, 3{more}
"""


@require_http_methods(["GET"])
def bare_stats(request: HttpRequest) -> HttpResponse:
    """``?target=slug``: per month, label and country, the target and those below it.
    ``?matrix=1``: per label, country and target over everything (the compare page's counts)."""
    from django.db import connection

    if request.GET.get("matrix"):
        sql = FLOOR_STATS_SQL.format(period="NULL::date", group="s.country, st.target_id", where="", more=", 4")
        params: list[Any] = []
    else:
        target = Target.objects.get(slug=request.GET["target"])
        sql = FLOOR_STATS_SQL.format(
            period="date_trunc('month', a.published_on)::date",
            group="s.country",
            where="AND st.target_id = ANY(%s)",
            more="",
        )
        params = [sorted(target.descendant_ids())]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [[value.isoformat() if hasattr(value, "isoformat") else value for value in row] for row in cursor]
    return HttpResponse(json.dumps({"results": rows}), content_type="application/json")
