"""The timed jobs. Each returns a Row: its figure, the floor measured beside it in the
same run, their ratio, and whether the target holds.

Latency jobs send requests one at a time and report the median, min, max and
p95 of all of them; throughput jobs alternate short runs of the job and of its
floor and report the median requests/s of the runs with their min and max.
"""

# ruff: noqa: S311  (random spans and orders for the workload, not secrets)
from __future__ import annotations

import datetime
import json
import math
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import corpus
from .client import Client, Outcome, Reply, api_token, login_session, run_load, summary
from .generate import copy_rows
from .server import ROOT, Server, db_worker

HX = {"HX-Request": "true"}
# The answer to a saved quote: the panel's success message ("Saved <whose> quote «…»").
SAVED = re.compile(rb'<p class="message success"[^>]*>Saved ')


@dataclass
class Row:
    job: str
    figure: str
    floor: str
    ratio: str
    target: str
    passed: bool
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Sizes:
    annotate_requests: int
    create_requests: int
    api_runs: int
    api_seconds: float
    api_clients: int
    export_runs: int
    export_budget: float  # seconds one export may take before it is stopped and its rate so far reported
    import_runs: int
    import_articles: int
    detector_runs: int
    detector_articles: int
    detect_import_articles: int
    detect_import_budget: float  # seconds the worker may take before the job stops it and reports what it did


QUICK = Sizes(
    annotate_requests=15,
    create_requests=20,
    api_runs=3,
    api_seconds=2,
    api_clients=6,
    export_runs=2,
    export_budget=15,
    import_runs=2,
    import_articles=1_000,
    detector_runs=3,
    detector_articles=300,
    detect_import_articles=200,
    detect_import_budget=120,
)
FULL = Sizes(
    annotate_requests=60,
    create_requests=200,
    api_runs=5,
    api_seconds=8,
    api_clients=6,
    export_runs=3,
    export_budget=600,
    import_runs=3,
    import_articles=10_000,
    detector_runs=5,
    detector_articles=3_000,
    detect_import_articles=10_000,
    detect_import_budget=1_800,
)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def spread_ms(stats: dict[str, float]) -> str:
    return f"median {ms(stats['median'])}, min {ms(stats['min'])}, max {ms(stats['max'])}, n={stats['n']}"


def _require(reply: Reply, status: int, what: str) -> Reply:
    if reply.status != status:
        raise RuntimeError(f"{what}: expected HTTP {status}, got {reply.status} {reply.error}\n{reply.text()[:2000]}")
    return reply


def _users() -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    return {user.username: user for user in User.objects.filter(username__startswith="bench-")}


def _sequential(client: Client, method: str, path: str, count: int, make_form: Any = None) -> list[Reply]:
    replies = []
    for _ in range(count):
        form = make_form() if make_form else None
        replies.append(client.request(method, path, form=form, headers=HX if method == "POST" else None))
    return replies


# --- 1. The annotate page -----------------------------------------------------------------


def _annotate_request(server: Server) -> tuple[Client, str, Any, Any]:
    """The annotate page's request: bench-analyst-1's session on the long bench article
    (client, path, article, analyst)."""
    from annotations.models import Article

    analyst = _users()["bench-analyst-1"]
    article = Article.objects.get(metadata__bench="annotate")
    client = Client(server.host, server.port, login_session(analyst))
    return client, f"/articles/{article.pk}/annotate/", article, analyst


def annotate_page(server: Server, sizes: Sizes) -> Row:
    from annotations.models import Article, Quote

    client, path, article, analyst = _annotate_request(server)
    quotes = Quote.objects.filter(article=article, annotator=analyst).count()
    small = (
        Article.objects.filter(assignments__annotator=analyst, status="open", quotes__isnull=False)
        .exclude(pk=article.pk)
        .distinct()
        .first()
    )
    _require(client.get(path), 200, "annotate page")
    counted = _require(client.get(path, headers={"X-Bench-Count-Queries": "1"}), 200, "annotate page")
    small_counted = _require(
        client.get(f"/articles/{small.pk}/annotate/", headers={"X-Bench-Count-Queries": "1"}), 200, "annotate page"
    )
    queries, small_queries = int(counted.headers["X-Bench-Queries"]), int(small_counted.headers["X-Bench-Queries"])
    small_quotes = Quote.objects.filter(article=small, annotator=analyst).count()
    for _ in range(3):
        client.get(path)
        client.get("/bench/bare/")
    page, bare = [], []
    for _ in range(sizes.annotate_requests):  # interleaved, so drift hits both alike
        page.append(_require(client.get(path), 200, "annotate page").seconds)
        bare.append(_require(client.get("/bench/bare/"), 200, "bare view").seconds)
    stats, floor = summary(page), summary(bare)
    passed = stats["p95"] <= 0.150 and queries == small_queries
    return Row(
        job=f"annotate page, {len(article.text):,}-char article, {quotes} quotes",
        figure=f"p95 {ms(stats['p95'])} ({spread_ms(stats)}); {queries} queries "
        f"({small_queries} for {small_quotes} quotes); {len(counted.body) / 1024:,.0f} KiB",
        floor=f"bare view p95 {ms(floor['p95'])} ({spread_ms(floor)})",
        ratio=f"{stats['p95'] / floor['p95']:.0f}×",
        target="p95 ≤ 150 ms, queries bounded",
        passed=passed,
        data={
            "latency": stats,
            "floor_latency": floor,
            "queries": queries,
            "queries_small_article": small_queries,
            "small_article_quotes": small_quotes,
            "article_chars": len(article.text),
            "quotes": quotes,
            "bytes": len(counted.body),
        },
    )


# --- 1b. The busiest speaker's page ------------------------------------------------------------


def speaker_page(server: Server, sizes: Sizes) -> Row:
    """A researcher opens the page of the speaker with the most curated quotes: the
    figures over all of them, and the timeline's first page with excerpts and stances."""
    from django.db.models import Count

    from annotations.models import Quote

    researcher = _users()["bench-researcher"]
    by_speaker = (
        Quote.objects.curated_dataset()
        .exclude(speaker=None)
        .values("speaker_id")
        .annotate(n=Count("pk"))
        .order_by("-n", "speaker_id")
    )
    busiest, quiet = by_speaker.first(), by_speaker.last()
    if busiest is None or quiet is None:
        raise RuntimeError("speaker page: the generated data has no attributed curated quote")
    client = Client(server.host, server.port, login_session(researcher))
    path = f"/speakers/{busiest['speaker_id']}/"
    _require(client.get(path), 200, "speaker page")
    counted = _require(client.get(path, headers={"X-Bench-Count-Queries": "1"}), 200, "speaker page")
    quiet_counted = _require(
        client.get(f"/speakers/{quiet['speaker_id']}/", headers={"X-Bench-Count-Queries": "1"}), 200, "speaker page"
    )
    queries, quiet_queries = int(counted.headers["X-Bench-Queries"]), int(quiet_counted.headers["X-Bench-Queries"])
    for _ in range(3):
        client.get(path)
        client.get("/bench/bare/")
    page, bare = [], []
    for _ in range(sizes.annotate_requests):  # interleaved, so drift hits both alike
        page.append(_require(client.get(path), 200, "speaker page").seconds)
        bare.append(_require(client.get("/bench/bare/"), 200, "bare view").seconds)
    stats, floor = summary(page), summary(bare)
    passed = stats["p95"] <= 0.300 and queries == quiet_queries
    return Row(
        job=f"busiest speaker's page, {busiest['n']:,} curated quotes",
        figure=f"p95 {ms(stats['p95'])} ({spread_ms(stats)}); {queries} queries "
        f"({quiet_queries} for a speaker with {quiet['n']}); {len(counted.body) / 1024:,.0f} KiB",
        floor=f"bare view p95 {ms(floor['p95'])} ({spread_ms(floor)})",
        ratio=f"{stats['p95'] / floor['p95']:.0f}×",
        target="p95 ≤ 300 ms, queries bounded",
        passed=passed,
        data={
            "latency": stats,
            "floor_latency": floor,
            "queries": queries,
            "queries_quiet_speaker": quiet_queries,
            "quotes": busiest["n"],
            "bytes": len(counted.body),
        },
    )


# --- 2. Creating a quote through the htmx endpoint ------------------------------------------


def _span(rng: random.Random, text: str) -> tuple[int, int]:
    """A span of 30–160 characters inside one paragraph, not starting or ending with a space."""
    for _ in range(100):
        start = rng.randrange(0, max(1, len(text) - 40))
        while start < len(text) and text[start].isspace():
            start += 1
        end = min(len(text), start + rng.randint(30, 160))
        if "\n" in text[start:end]:
            end = text.index("\n", start)
        while end > start and text[end - 1].isspace():
            end -= 1
        if end - start >= 10:
            return start, end
    raise RuntimeError("no span found")


def create_quote(server: Server, sizes: Sizes, seed: int) -> Row:
    from annotations.models import Article, Quote, Speaker, StanceLabel, Target

    rng = random.Random(f"{seed}-create")
    users = _users()
    analyst = users.get("bench-analyst-2") or users["bench-analyst-1"]
    articles = list(
        Article.objects.annotatable_by(analyst)
        .filter(assignments__annotator=analyst)
        .exclude(metadata__contains={"bench": "annotate"})
    )[:50]
    if not articles:
        raise RuntimeError("the bench analyst has no open articles")
    speakers = list(Speaker.objects.order_by("id").values_list("id", "name")[:50])
    targets = list(Target.objects.filter(parent__isnull=False).values_list("id", flat=True))
    labels = list(StanceLabel.objects.values_list("id", flat=True))
    total_quotes = Quote.objects.count()
    client = Client(server.host, server.port, login_session(analyst))
    counter = [0]

    def form() -> tuple[str, dict[str, Any]]:
        article = articles[counter[0] % len(articles)]
        counter[0] += 1
        start, end = _span(rng, article.text)
        speaker_id, speaker_name = rng.choice(speakers)
        data = {
            "start": start,
            "end": end,
            "text": article.text[start:end],
            "kind": rng.choice(["direct", "indirect", "mixed"]),
            "speaker": speaker_id,
            "speaker_query": speaker_name,
            "cue": "said",
            "stances-TOTAL_FORMS": "1",
            "stances-INITIAL_FORMS": "0",
            "stances-MIN_NUM_FORMS": "0",
            "stances-MAX_NUM_FORMS": "30",
            "stances-0-target": rng.choice(targets),
            "stances-0-label": rng.choice(labels),
            "stances-0-intensity": rng.choice(["", "1", "2", "3"]),
        }
        return f"/articles/{article.pk}/quotes/new/", data

    def post() -> Reply:
        path, data = form()
        reply = client.post(path, data, headers=HX)
        if reply.status != 200 or not SAVED.search(reply.body):
            raise RuntimeError(f"create: HTTP {reply.status} {reply.error}\n{reply.text()[:2000]}")
        return reply

    bare_form = {"note": "x" * 200}
    for _ in range(3):
        post()
        _require(client.post("/bench/bare/", bare_form, headers=HX), 200, "bare POST")
    created, bare = [], []
    for _ in range(sizes.create_requests):
        created.append(post().seconds)
        bare.append(_require(client.post("/bench/bare/", bare_form, headers=HX), 200, "bare POST").seconds)
    stats, floor = summary(created), summary(bare)
    return Row(
        job=f"create a quote (htmx), {total_quotes:,} quotes in the database",
        figure=f"p95 {ms(stats['p95'])} ({spread_ms(stats)})",
        floor=f"bare POST p95 {ms(floor['p95'])} ({spread_ms(floor)})",
        ratio=f"{stats['p95'] / floor['p95']:.0f}×",
        target="p95 ≤ 50 ms",
        passed=stats["p95"] <= 0.050,
        data={"latency": stats, "floor_latency": floor, "quotes_in_database": total_quotes},
    )


# --- 3. The API list ----------------------------------------------------------------------


def _throughput(client: Client, paths: list[str], clients: int, seconds: float) -> tuple[float, list[Outcome]]:
    def worker(offset: int) -> Any:
        index = [offset]

        def call() -> Outcome:
            path = paths[index[0] % len(paths)]
            index[0] += 1
            reply = client.get(path)
            return Outcome("get", reply.status, reply.seconds, 0.0, reply.error)

        return call

    started = time.perf_counter()
    outcomes = run_load([worker(n) for n in range(clients)], seconds=seconds)
    elapsed = time.perf_counter() - started
    bad = [outcome for outcome in outcomes if outcome.status != 200]
    if bad:
        raise RuntimeError(f"{len(bad)} of {len(outcomes)} requests failed, e.g. {bad[0]}")
    return len(outcomes) / elapsed, outcomes


def api_list(server: Server, sizes: Sizes) -> Row:
    from django.db.models import Count

    from annotations.models import Quote, Target

    users = _users()
    api = Client(server.host, server.port, api_token(users["bench-researcher"]))
    bare = Client(server.host, server.port)
    speakers = list(
        Quote.objects.curated()
        .values("speaker_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("speaker_id", flat=True)[:5]
    )
    topics = list(Target.objects.filter(parent__isnull=True).order_by("id").values_list("slug", flat=True))
    combos = [(speaker, topics[index % len(topics)]) for index, speaker in enumerate(speakers)]
    api_paths = [f"/api/v1/quotes/?speaker={speaker}&target={slug}&page_size=100" for speaker, slug in combos]
    bare_paths = [f"/bench/bare/quotes/?speaker={speaker}&target={slug}" for speaker, slug in combos]
    page_sizes = []
    for api_path, bare_path in zip(api_paths, bare_paths, strict=True):
        from_api = json.loads(_require(api.get(api_path), 200, "API list").body)["results"]
        from_bare = json.loads(_require(bare.get(bare_path), 200, "bare quotes").body)["results"]
        if from_api != from_bare:
            raise RuntimeError(f"the bare view and the API disagree on {api_path}: the floor must serve the same data")
        page_sizes.append(len(from_api))
    counted = _require(api.get(api_paths[0], headers={"X-Bench-Count-Queries": "1"}), 200, "API list")
    queries = int(counted.headers["X-Bench-Queries"])
    api_rates, bare_rates, hello_rates, latencies, floor_latencies = [], [], [], [], []
    _throughput(api, api_paths, sizes.api_clients, 1)
    _throughput(bare, bare_paths, sizes.api_clients, 1)
    for _ in range(sizes.api_runs):
        rate, outcomes = _throughput(api, api_paths, sizes.api_clients, sizes.api_seconds)
        api_rates.append(rate)
        latencies += [outcome.seconds for outcome in outcomes]
        rate, outcomes = _throughput(bare, bare_paths, sizes.api_clients, sizes.api_seconds)
        bare_rates.append(rate)
        floor_latencies += [outcome.seconds for outcome in outcomes]
        hello_rates.append(_throughput(bare, ["/bench/bare/"], sizes.api_clients, sizes.api_seconds / 2)[0])
    rates, floor, hello = summary(api_rates), summary(bare_rates), summary(hello_rates)
    ratio = rates["median"] / floor["median"]
    lat, floor_lat = summary(latencies), summary(floor_latencies)
    return Row(
        job=f"API list, curated, {page_sizes[0]} a page, speaker + target filter",
        figure=f"{rates['median']:,.0f} req/s (min {rates['min']:,.0f}, max {rates['max']:,.0f}, "
        f"{sizes.api_runs} runs × {sizes.api_seconds:g} s, {sizes.api_clients} clients; p95 {ms(lat['p95'])}); "
        f"{queries} queries",
        floor=f"bare view, same page: {floor['median']:,.0f} req/s (min {floor['min']:,.0f}, max {floor['max']:,.0f}; "
        f"p95 {ms(floor_lat['p95'])}); Django 'ok': {hello['median']:,.0f} req/s",
        ratio=f"{ratio:.0%}",
        target="≥ 50 % of floor",
        passed=ratio >= 0.5,
        data={
            "requests_per_second": rates,
            "floor_requests_per_second": floor,
            "bare_ok_requests_per_second": hello,
            "latency": lat,
            "floor_latency": floor_lat,
            "queries": queries,
            "page_sizes": page_sizes,
            "paths": api_paths,
        },
    )


# --- 4. The JSONL export ------------------------------------------------------------------

FLOOR_EXPORT_SQL = """
COPY (
    SELECT q.id, q.start, q."end", q.text, q.kind, q.cue,
           q.mention_start, q.mention_end, q.mention_text, q.cue_start, q.cue_end, q.cue_text,
           q.speaker_id, s.name, s.country, s.wikidata_qid, r.title, r.organisation,
           q.addressee_id, ad.name, ad.country,
           (SELECT array_agg(ARRAY[t.slug, t.name, l.slug, st.intensity::text, st.confidence::text, st.note]
                             ORDER BY st.id)
              FROM annotations_stance st
              JOIN annotations_target t ON t.id = st.target_id
              JOIN annotations_stancelabel l ON l.id = st.label_id
             WHERE st.quote_id = q.id),
           q.attribution_group, q.parent_id,
           a.id, a.title, a.outlet, a.published_on, a.url,
           q.is_curated, u.username,
           (SELECT array_agg(cf.to_quote_id ORDER BY cf.to_quote_id)
              FROM annotations_quote_curated_from cf WHERE cf.from_quote_id = q.id),
           q.version, q.created_at, q.updated_at
      FROM annotations_quote q
      JOIN annotations_article a ON a.id = q.article_id
      LEFT JOIN annotations_speaker s ON s.id = q.speaker_id
      LEFT JOIN annotations_speakerrole r ON r.id = q.speaker_role_id
      LEFT JOIN annotations_speaker ad ON ad.id = q.addressee_id
      LEFT JOIN auth_user u ON u.id = q.annotator_id
     WHERE q.is_curated AND a.status = 'curated'
     ORDER BY q.id
) TO STDOUT
"""


def floor_export() -> tuple[float, int, int]:
    """PostgreSQL's own COPY of the rows the export writes: (seconds, rows, bytes)."""
    from django.db import connection

    rows = size = 0
    started = time.perf_counter()
    with connection.cursor() as cursor, cursor.copy(FLOOR_EXPORT_SQL) as copy:
        for data in copy:
            rows += bytes(data).count(b"\n")
            size += len(data)
    return time.perf_counter() - started, rows, size


def _start_child(job: str, path: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 (our own module, fixed arguments)
        [sys.executable, "-m", "bench.child", job, str(path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _watch(process: subprocess.Popen, budget: float = math.inf) -> tuple[bytes, bytes, int] | None:
    """Wait up to ``budget`` seconds for a child: its (stdout, stderr, peak RSS in bytes),
    or None if it is still running.

    The peak is the child's own high-water mark (VmHWM), read every 50 ms while
    it runs: its last moments go unseen, but the jobs reach their peak long
    before they exit. The ru_maxrss that wait4 reports is not the child's
    alone: Linux counts the resident set of this process, which the child was
    started from, before the child exec'd Python; with the import job's
    articles held here, that was most of the figure.
    """
    deadline = time.monotonic() + budget
    peak = 0
    while True:
        peak = max(peak, _peak_rss(process.pid))  # a high-water mark: the last sample is the peak so far
        try:
            stdout, stderr = process.communicate(timeout=0.05)
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline:
                return None
            continue
        return stdout, stderr, peak


def _report(process: subprocess.Popen, job: str, stdout: bytes, stderr: bytes) -> dict[str, Any]:
    """The JSON report ``bench.child`` prints last."""
    if process.returncode != 0:
        raise RuntimeError(f"bench.child {job} failed ({process.returncode}):\n{stderr.decode()[-3000:]}")
    return json.loads(stdout.decode().strip().splitlines()[-1])


def _child(job: str, path: Path, env: dict[str, str]) -> tuple[dict[str, Any], int]:
    """Run ``bench.child`` to the end: its JSON report and its peak RSS in bytes."""
    process = _start_child(job, path, env)
    stdout, stderr, peak = _watch(process)
    return _report(process, job, stdout, stderr), peak


def _count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as file:
        while block := file.read(1 << 22):
            lines += block.count(b"\n")
    return lines


def _peak_rss(pid: int) -> int:
    """VmHWM of a running process: its peak resident set so far, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _export_once(folder: Path, env: dict[str, str], budget: float) -> tuple[int, float, int, bool]:
    """One export: (quotes written, seconds, peak RSS, finished). Stopped after ``budget`` seconds;
    the quotes counted in its unfinished file then give the rate so far."""
    output = folder / "quotes.jsonl"
    started = time.perf_counter()
    process = _start_child("export", output, env)
    finished = _watch(process, budget)
    if finished is None:
        seconds = time.perf_counter() - started
        peak = _peak_rss(process.pid)
        process.kill()
        process.communicate()
        partial = list(folder.glob(".quotes.jsonl.*"))
        lines = sum(_count_lines(path) for path in partial)
        for path in partial:
            path.unlink()
        return lines, seconds, peak, False
    stdout, stderr, peak = finished
    report = _report(process, "export", stdout, stderr)
    lines = _count_lines(output)
    output.unlink()
    return lines, report["seconds"], peak, True


def export_jsonl(sizes: Sizes, env: dict[str, str]) -> Row:
    from annotations.filters import apply_layer
    from annotations.models import Quote

    expected = apply_layer(Quote.objects.all(), "curated").count()
    rates, floor_rates, rss = [], [], []
    finished = True
    with tempfile.TemporaryDirectory(prefix="demarche-export-") as name:
        for _ in range(sizes.export_runs):
            seconds, rows, _size = floor_export()
            if rows != expected:
                raise RuntimeError(f"the floor's COPY wrote {rows} rows, not {expected}")
            floor_rates.append(rows / seconds)
            lines, seconds, peak, finished = _export_once(Path(name), env, sizes.export_budget)
            if finished and lines != expected:
                raise RuntimeError(f"the export wrote {lines} lines, not {expected}")
            rates.append(lines / seconds)
            rss.append(peak)
            if not finished:
                break  # one stopped run says enough; don't spend the budget again
    rate, floor = summary(rates), summary(floor_rates)
    ratio = rate["median"] / floor["median"]
    peak = max(rss)
    duration = (
        f"{expected / rate['median']:.1f} s"
        if finished
        else f"stopped after {sizes.export_budget:.0f} s, {lines:,} written; whole export ≈ "
        f"{expected / rate['median'] / 60:,.0f} min"
    )
    return Row(
        job=f"JSONL export of {expected:,} curated quotes",
        figure=f"{rate['median']:,.0f} quotes/s (min {rate['min']:,.0f}, max {rate['max']:,.0f}, {len(rates)} runs; "
        f"{duration}); peak RSS {peak / 2**20:.0f} MB",
        floor=f"COPY (SELECT …) TO STDOUT {floor['median']:,.0f} rows/s "
        f"(min {floor['min']:,.0f}, max {floor['max']:,.0f}; {expected / floor['median']:.1f} s)",
        ratio=f"{ratio:.0%}",
        target="≥ 33 % of floor, RSS ≤ 200 MB",
        passed=finished and ratio >= 0.33 and peak <= 200 * 2**20,
        data={
            "quotes": expected,
            "quotes_per_second": rate,
            "floor_rows_per_second": floor,
            "peak_rss_bytes": rss,
            "finished": finished,
        },
    )


# --- 5. Importing articles ----------------------------------------------------------------

IMPORT_URL = "https://import.example.org/"


def import_lines(seed: int, run: int | str, count: int, *, url: str = IMPORT_URL) -> list[dict[str, Any]]:
    """``count`` new articles as an import file would carry them (never stored before),
    their URLs under ``url``, by which the job finds and deletes them afterwards."""
    from annotations.models import Target

    rng = random.Random(f"{seed}-import-{run}")
    speakers = corpus.make_speakers(random.Random(f"{seed}-import-speakers"), 200)
    targets = {slug: index for index, slug in enumerate(Target.objects.values_list("slug", flat=True))}
    maker = corpus.ArticleMaker(rng, speakers, targets or {"iran-nuclear-weapons": 1})
    lines = []
    for number in range(count):
        spec = maker.article(rng.randint(3, 20), corpus.random_day(rng))
        lines.append(
            {
                "title": spec.title,
                "outlet": spec.outlet,
                "url": f"{url}{seed}/{run}/{number}",
                "published_on": spec.published_on.isoformat(),
                "language": "en",
                "text": spec.text,
                "metadata": {"source": "bench-import", "run": run},
            }
        )
    return lines


def floor_import(lines: list[dict[str, Any]]) -> float:
    """PostgreSQL's COPY of the same articles into the same table, rolled back: seconds."""
    import hashlib

    from django.db import connection, transaction
    from django.utils import timezone

    now = timezone.now().isoformat()
    columns = (
        "title", "outlet", "url", "published_on", "language", "text", "text_sha256", "metadata", "status", "pool",
        "annotators_needed", "created_at",
    )  # fmt: skip
    started = time.perf_counter()
    rows = (
        (
            line["title"],
            line["outlet"],
            line["url"],
            line["published_on"],
            line["language"],
            line["text"],
            hashlib.sha256(line["text"].encode()).hexdigest(),
            json.dumps(line["metadata"]),
            "open",
            True,
            1,
            now,
        )
        for line in lines
    )

    class Rollback(Exception):
        pass

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            copy_rows(cursor, "annotations_article", columns, rows)
            seconds = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    return seconds


def forget_import(url: str) -> None:
    """Delete the articles a job imported (their URLs under ``url``) and the tasks their
    arrival queued: a task whose detection run is gone would fail in the next worker
    to claim it (a later job's, or, with --reuse, a later run's)."""
    from django_tasks_db.models import DBTaskResult

    from annotations.models import Article, DetectionRun

    task_ids = [
        task_id
        for task_id in DetectionRun.objects.filter(article__url__startswith=url).values_list("task_id", flat=True)
        if task_id
    ]
    for start in range(0, len(task_ids), 5_000):
        DBTaskResult.objects.filter(id__in=task_ids[start : start + 5_000]).delete()
    Article.objects.filter(url__startswith=url).delete()


def import_articles(sizes: Sizes, env: dict[str, str], seed: int) -> Row:
    rates, floor_rates, rss = [], [], []
    with tempfile.TemporaryDirectory(prefix="demarche-import-") as folder:
        for run in range(sizes.import_runs):
            lines = import_lines(seed, run, sizes.import_articles)
            path = Path(folder) / f"articles-{run}.jsonl"
            path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
            floor_rates.append(len(lines) / floor_import(lines))
            try:
                report, peak = _child("import", path, env)
            finally:
                forget_import(IMPORT_URL)
            if report["created"] != len(lines):
                raise RuntimeError(f"the import created {report['created']} of {len(lines)}: {report['problems']}")
            rates.append(len(lines) / report["seconds"])
            rss.append(peak)
    rate, floor = summary(rates), summary(floor_rates)
    return Row(
        job=f"import of {sizes.import_articles:,} articles (JSONL)",
        figure=f"{rate['median']:,.0f} articles/s (min {rate['min']:,.0f}, max {rate['max']:,.0f}, {len(rates)} runs); "
        f"peak RSS {max(rss) / 2**20:.0f} MB",
        floor=f"COPY of the same rows {floor['median']:,.0f} articles/s "
        f"(min {floor['min']:,.0f}, max {floor['max']:,.0f})",
        ratio=f"{rate['median'] / floor['median']:.0%}",
        target="≥ 2,000 articles/s",
        passed=rate["median"] >= 2000,
        data={"articles_per_second": rate, "floor_articles_per_second": floor, "peak_rss_bytes": rss},
    )


# --- 6. Detecting quotes ------------------------------------------------------------------

DETECTOR_CHARS = 3_000


def detector_texts(seed: int, count: int) -> list[str]:
    """``count`` generated news-like articles of exactly 3,000 characters, with quotes."""
    rng = random.Random(f"{seed}-detector")
    speakers = corpus.make_speakers(random.Random(f"{seed}-detector-speakers"), 200)
    maker = corpus.ArticleMaker(rng, speakers, {"iran-nuclear-weapons": 1})
    texts: list[str] = []
    while len(texts) < count:
        try:
            texts.append(maker.article(rng.randint(3, 8), corpus.random_day(rng), exact_chars=DETECTOR_CHARS).text)
        except ValueError:
            continue  # that many quotes didn't fit in 3,000 characters: draw again
    return texts


def detect_articles(sizes: Sizes, seed: int) -> Row:
    """The rule-based detector in this process, no server and no database; its floor
    is the quotation-mark scan alone over the same texts (part of what it does)."""
    from annotations.detection import VERSION, detect
    from annotations.detection.marks import quotations

    texts = detector_texts(seed, sizes.detector_articles)
    detect(texts[0], "en")  # the lexicon is read once per process: not part of the figure
    rates, floor_rates, found = [], [], 0
    for _ in range(sizes.detector_runs):
        started = time.perf_counter()
        found = sum(len(detect(text, "en")) for text in texts)
        rates.append(len(texts) / (time.perf_counter() - started))
        started = time.perf_counter()
        for text in texts:
            quotations(text)
        floor_rates.append(len(texts) / (time.perf_counter() - started))
    rate, floor = summary(rates), summary(floor_rates)
    return Row(
        job=f"detect quotes ({VERSION}) in {len(texts):,} articles of {DETECTOR_CHARS:,} characters",
        figure=f"{rate['median']:,.0f} articles/s (min {rate['min']:,.0f}, max {rate['max']:,.0f}, "
        f"{len(rates)} runs); {found / len(texts):.1f} candidates an article",
        floor=f"quotation-mark scan alone {floor['median']:,.0f} articles/s",
        ratio=f"{rate['median'] / floor['median']:.0%}",
        target="≥ 200 articles/s",
        passed=rate["median"] >= 200,
        data={"articles_per_second": rate, "floor_articles_per_second": floor},
    )


# --- 6b. Detection of an import by the tasks worker, the annotate page alongside -------------

DETECT_IMPORT_URL = "https://detect-import.example.org/"


@dataclass
class DetectionTally:
    """What the worker did with the detection runs an import queued, from their rows."""

    runs: int
    done: int
    failed: int
    unfinished: int
    suggestions: int
    first_start: datetime.datetime | None  # the first task's start
    last_end: datetime.datetime | None  # the last task's end
    empty_after: float | None  # the import's start to the last run's end; None while one is unfinished

    @property
    def busy_seconds(self) -> float:
        if self.first_start is None or self.last_end is None:
            return 0.0
        return (self.last_end - self.first_start).total_seconds()

    @property
    def rate(self) -> float:
        return self.done / self.busy_seconds if self.busy_seconds > 0 else math.nan


def tally_runs(
    runs: list[tuple[str, int | None]],
    tasks: list[tuple[datetime.datetime | None, datetime.datetime | None]],
    import_started: datetime.datetime,
) -> DetectionTally:
    """``runs``: each DetectionRun's (status, suggestion_count); ``tasks``: each of their
    task results' (started_at, finished_at)."""
    statuses = [status for status, _count in runs]
    unfinished = sum(status in {"queued", "running"} for status in statuses)
    starts = [started for started, _finished in tasks if started is not None]
    ends = [finished for _started, finished in tasks if finished is not None]
    return DetectionTally(
        runs=len(runs),
        done=statuses.count("done"),
        failed=statuses.count("failed"),
        unfinished=unfinished,
        suggestions=sum(count or 0 for status, count in runs if status == "done"),
        first_start=min(starts, default=None),
        last_end=max(ends, default=None),
        empty_after=(max(ends) - import_started).total_seconds() if ends and runs and not unfinished else None,
    )


def split_samples(
    samples: list[tuple[float, float]], first_start: datetime.datetime | None, last_end: datetime.datetime | None
) -> tuple[list[float], list[float]]:
    """The latencies of the ``samples`` (each a request's start as a Unix time, and its
    seconds) sent while the worker detected, between its first task's start and its last
    one's end; and of those sent before (the import running, the worker still idle)."""
    if first_start is None:
        return [], [seconds for _sent, seconds in samples]
    first = first_start.timestamp()
    last = last_end.timestamp() if last_end is not None else math.inf
    during = [seconds for sent, seconds in samples if first <= sent <= last]
    before = [seconds for sent, seconds in samples if sent < first]
    return during, before


def _page_latencies(client: Client, path: str, count: int) -> list[float]:
    for _ in range(10):  # every gunicorn worker warm, whichever takes the connection
        client.get(path)
    return [_require(client.get(path), 200, "annotate page").seconds for _ in range(count)]


def detect_import(server: Server, sizes: Sizes, env: dict[str, str], seed: int) -> Row:
    """An import through ``manage.py import_articles``, which queues a detection per article
    (DETECT_ON_ARRIVAL, on in the bench's settings as in production), detected by one
    ``manage.py db_worker`` (started first, as in production, where it runs all the time)
    while one analyst keeps reloading the annotate page (the annotate job's request). The
    page's figure is over the requests sent while the worker detected; its floor is the
    same page with the worker idle, just before the import."""
    from django.conf import settings
    from django.db.models import Count, Max, Min, Q
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from annotations.models import DetectionRun, Suggestion

    if not settings.DETECT_ON_ARRIVAL:
        raise RuntimeError("DETECT_ON_ARRIVAL is off: the import would queue no detection")
    count = sizes.detect_import_articles
    client, path, article, _analyst = _annotate_request(server)
    queued_before = DBTaskResult.objects.ready().count()
    last_run = DetectionRun.objects.aggregate(last=Max("pk"))["last"] or 0
    ours = DetectionRun.objects.filter(pk__gt=last_run, article__url__startswith=DETECT_IMPORT_URL)
    unfinished = Q(status__in=[DetectionRun.Status.QUEUED, DetectionRun.Status.RUNNING])
    samples: list[tuple[float, float]] = []  # (sent at, as a Unix time; seconds)
    import_seconds, stopped = math.nan, False
    with tempfile.TemporaryDirectory(prefix="demarche-detect-import-") as folder:
        file, output = Path(folder) / "articles.jsonl", Path(folder) / "import.log"
        lines = import_lines(seed, "detect", count, url=DETECT_IMPORT_URL)
        file.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
        try:
            with db_worker(env) as worker:
                idle = _page_latencies(client, path, sizes.annotate_requests)
                import_started, started = timezone.now(), time.monotonic()
                with output.open("wb") as log:
                    importer = subprocess.Popen(  # noqa: S603 (our own manage.py, fixed arguments)
                        [sys.executable, "manage.py", "import_articles", str(file), "--no-progress"],
                        cwd=ROOT,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                try:
                    polled = 0.0
                    while True:
                        sent = time.time()
                        samples.append((sent, _require(client.get(path), 200, "annotate page").seconds))
                        now = time.monotonic()
                        if math.isnan(import_seconds) and importer.poll() is not None:
                            import_seconds = now - started
                            if importer.returncode != 0:
                                raise RuntimeError(f"import_articles failed:\n{output.read_text()[-3000:]}")
                        if worker.process.poll() is not None:
                            raise RuntimeError(f"the worker exited ({worker.process.returncode}):\n{worker.log_tail()}")
                        if now - polled >= 0.5:  # the queue, twice a second
                            polled = now
                            state = ours.aggregate(runs=Count("pk"), unfinished=Count("pk", filter=unfinished))
                            if not math.isnan(import_seconds) and state["runs"] >= count and not state["unfinished"]:
                                break
                        if now - started > sizes.detect_import_budget:
                            stopped = True
                            break
                finally:
                    if importer.poll() is None:
                        importer.kill()
                        importer.wait()
            # The worker has stopped: the rows are final.
            runs = list(ours.values_list("status", "suggestion_count"))
            task_ids = [task_id for task_id in ours.values_list("task_id", flat=True) if task_id]
            results = DBTaskResult.objects.filter(id__in=task_ids)
            tasks = list(results.values_list("started_at", "finished_at"))
            tally = tally_runs(runs, tasks, import_started)
            enqueued = results.aggregate(first=Min("enqueued_at"), last=Max("enqueued_at"))
            suggestions = Suggestion.objects.filter(article__url__startswith=DETECT_IMPORT_URL).count()
        finally:
            forget_import(DETECT_IMPORT_URL)
    during, before = split_samples(samples, tally.first_start, tally.last_end)
    stats, floor, importing = summary(during), summary(idle), summary(before)
    passed = (
        not stopped
        and stats["n"] > 0
        and stats["p95"] <= 0.150
        and tally.runs == count
        and tally.done == count
        and tally.failed == 0
    )
    queue = (
        f"queue empty {tally.empty_after:.1f} s after the import began"
        if tally.empty_after is not None
        else f"stopped after {sizes.detect_import_budget:.0f} s with {tally.unfinished:,} runs unfinished"
    )
    return Row(
        job=f"detection of a {count:,}-article import by one db_worker, annotate page ({len(article.text):,} chars) "
        "reloaded meanwhile",
        figure=f"{tally.rate:,.1f} articles/s detected ({tally.done:,} of {count:,} done, {tally.failed} failed; "
        f"import {import_seconds:.1f} s, {queue}); {suggestions:,} suggestions; annotate page while detecting "
        f"p95 {ms(stats['p95'])} (p50 {ms(stats['p50'])}, n={stats['n']}; while importing, before detection: "
        f"p95 {ms(importing['p95'])}, n={importing['n']})"
        + (f"; {queued_before:,} tasks were queued before" if queued_before else ""),
        floor=f"annotate page, worker idle: p95 {ms(floor['p95'])} (p50 {ms(floor['p50'])}, n={floor['n']})",
        ratio=f"{stats['p95'] / floor['p95']:.1f}×",
        target="p95 ≤ 150 ms while detecting; every run done, 0 failed",
        passed=passed,
        data={
            "articles": count,
            "articles_per_second": tally.rate,
            "busy_seconds": tally.busy_seconds,
            "queue_empty_after_seconds": tally.empty_after,
            # When the import's process queued the tasks (once its transaction committed), from its start.
            "enqueued_from_seconds": (enqueued["first"] - import_started).total_seconds()
            if enqueued["first"]
            else None,
            "enqueued_until_seconds": (enqueued["last"] - import_started).total_seconds() if enqueued["last"] else None,
            "detection_from_seconds": (
                (tally.first_start - import_started).total_seconds() if tally.first_start else None
            ),
            "import_seconds": import_seconds,
            "runs": tally.runs,
            "done": tally.done,
            "failed": tally.failed,
            "unfinished": tally.unfinished,
            "suggestions": suggestions,
            "suggestions_counted_by_runs": tally.suggestions,
            "tasks_queued_before": queued_before,
            "stopped": stopped,
            "latency": stats,
            "latency_importing": importing,
            "floor_latency": floor,
        },
    )


# --- 7. Stance statistics: over time for a topic, and the compare matrix -------------------


def _latency_against_floor(
    client: Client, floor_client: Client, path: str, floor_path: str, count: int
) -> tuple[dict[str, float], dict[str, float]]:
    for _ in range(3):
        client.get(path)
        floor_client.get(floor_path)
    timed, floor = [], []
    for _ in range(count):  # interleaved, so drift hits both alike
        timed.append(_require(client.get(path), 200, path).seconds)
        floor.append(_require(floor_client.get(floor_path), 200, floor_path).seconds)
    return summary(timed), summary(floor)


def stats_over_time(server: Server, sizes: Sizes) -> Row:
    """GET /api/v1/stats/stance/ for the topic with the most stances, with its children, by country, per month."""
    from django.db.models import Count

    from annotations.models import Stance, Target

    users = _users()
    api = Client(server.host, server.port, api_token(users["bench-researcher"]))
    bare = Client(server.host, server.port)
    counts = dict(
        Stance.objects.filter(quote__is_curated=True)
        .values("target__parent_id")
        .annotate(n=Count("id"))
        .values_list("target__parent_id", "n")
    )
    topic = max(Target.objects.filter(parent__isnull=True), key=lambda target: counts.get(target.pk, 0))
    path = f"/api/v1/stats/stance/?target={topic.slug}&group_by=country&interval=month"
    floor_path = f"/bench/bare/stats/?target={topic.slug}"
    results = json.loads(_require(api.get(path), 200, "stats API").body)["results"]
    floor_rows = json.loads(_require(bare.get(floor_path), 200, "bare stats").body)["results"]
    stances = sum(row["count"] for row in results)
    if stances != sum(row[3] for row in floor_rows) or len(results) != len(floor_rows):
        raise RuntimeError("the floor and the API count different stances: the floor must do the same work")
    months = len({row["period"] for row in results})
    queries = int(
        _require(api.get(path, headers={"X-Bench-Count-Queries": "1"}), 200, "stats API").headers["X-Bench-Queries"]
    )
    page = Client(server.host, server.port, login_session(users["bench-researcher"]))
    page_queries = int(
        _require(
            page.get(f"/targets/{topic.slug}/?by=country", headers={"X-Bench-Count-Queries": "1"}), 200, "target page"
        ).headers["X-Bench-Queries"]
    )
    stats, floor = _latency_against_floor(api, bare, path, floor_path, sizes.annotate_requests)
    return Row(
        job=f"stance over time: {topic.slug} with its children, by country, per month ({months} months, "
        f"{stances:,} stances, {len(results)} rows)",
        figure=f"p95 {ms(stats['p95'])} ({spread_ms(stats)}); {queries} queries (the target page: {page_queries})",
        floor=f"the GROUP BY in SQL, bare view p95 {ms(floor['p95'])} ({spread_ms(floor)})",
        ratio=f"{stats['p95'] / floor['p95']:.1f}×",
        target="p95 ≤ 200 ms",
        passed=stats["p95"] <= 0.200,
        data={"latency": stats, "floor_latency": floor, "queries": queries, "page_queries": page_queries,
              "stances": stances, "rows": len(results), "path": path},
    )  # fmt: skip


def stats_compare(server: Server, sizes: Sizes) -> Row:
    """The compare page: countries × targets over every curated stance."""
    users = _users()
    page = Client(server.host, server.port, login_session(users["bench-researcher"]))
    bare = Client(server.host, server.port)
    path, floor_path = "/compare/?published_after=2019-01-01&published_before=2024-12-31", "/bench/bare/stats/?matrix=1"
    body = _require(page.get(path), 200, "compare page").body
    floor_rows = json.loads(_require(bare.get(floor_path), 200, "bare stats").body)["results"]
    shown = sum(int(total) for total in re.findall(rb'data-total="(\d+)"', body))
    rows = len(re.findall(rb"<tr><th scope=\"row\">", body))
    columns = len(re.findall(rb'<th scope="col"><a href="/targets/', body))
    floor_total = sum(row[4] for row in floor_rows)
    if b"The CSV has them all" not in body and shown != floor_total:  # every row and column shown
        raise RuntimeError(f"the page shows {shown} stances, the floor counts {floor_total}")
    queries = int(
        _require(page.get(path, headers={"X-Bench-Count-Queries": "1"}), 200, "compare").headers["X-Bench-Queries"]
    )
    stats, floor = _latency_against_floor(page, bare, path, floor_path, sizes.annotate_requests)
    return Row(
        job=f"compare matrix: {rows} countries × {columns} targets ({floor_total:,} stances)",
        figure=f"p95 {ms(stats['p95'])} ({spread_ms(stats)}); {queries} queries",
        floor=f"the GROUP BY in SQL, bare view p95 {ms(floor['p95'])} ({spread_ms(floor)})",
        ratio=f"{stats['p95'] / floor['p95']:.1f}×",
        target="p95 ≤ 500 ms",
        passed=stats["p95"] <= 0.500,
        data={"latency": stats, "floor_latency": floor, "queries": queries, "rows": rows, "columns": columns,
              "stances": floor_total},
    )  # fmt: skip
