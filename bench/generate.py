"""The workload generator: fill a PostgreSQL database with a realistic Demarche corpus, fast.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/demarche_bench \\
        python -m bench.generate --size 1000000 --seed 1

``size`` is the number of curated quotes (the dataset researchers read). Around
them the generator writes what a working installation holds: speakers with
aliases and roles, a target hierarchy, the four default stance labels,
curated articles with one reviewed assignment each, the annotators' raw
quotes a tenth of the curated quotes were made from (linked by
``curated_from``), analysts with open assignments and raw quotes in progress,
an open pool, and one long article (50,000 characters, 500 quotes) for the
annotate page.

Rows go in through PostgreSQL's COPY (psycopg 3's ``cursor.copy()``), a batch
of articles per transaction. Nothing is disabled: the offset trigger checks
every quote against its article, and the CHECK and foreign-key constraints
hold, so the data is data the application could have written. The bench
database is expected to be freshly migrated and empty; ids are assigned here
and the sequences moved past them at the end.
"""

# ruff: noqa: S311  (seeded pseudo-random data for a reproducible workload, not secrets)
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import multiprocessing
import os
import random
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import corpus

BATCH_ARTICLES = 1000
COPY_BLOCK = 1 << 20
BIG_ARTICLE_CHARS = 50_000
BIG_ARTICLE_QUOTES = 500
EPOCH = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
LABELS = [
    # slug, name, colour, key, semeval, order
    ("support", "Support", "#2e7d32", "s", "FAVOR", 1),
    ("oppose", "Oppose", "#c62828", "o", "AGAINST", 2),
    ("neutral", "Neutral", "#546e7a", "n", "NONE", 3),
    ("unclear", "Unclear", "#8e6c00", "u", "NONE", 4),
]


Log = Callable[[str], None]


def copy_field(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        # Chained replace, not str.translate: translate looks every character up
        # in a dict and is ten times slower on non-ASCII text.
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return str(value)


def copy_rows(cursor: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY ``rows`` into ``table``, in blocks of about a megabyte; returns the row count."""
    quoted = ", ".join(f'"{column}"' for column in columns)
    count = 0
    with cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
        block: list[str] = []
        size = 0
        for row in rows:
            line = "\t".join([copy_field(value) for value in row]) + "\n"
            block.append(line)
            size += len(line)
            count += 1
            if size >= COPY_BLOCK:
                copy.write("".join(block))
                block, size = [], 0
        if block:
            copy.write("".join(block))
    return count


def timestamp(seconds: int) -> str:
    return (EPOCH + datetime.timedelta(seconds=seconds)).isoformat()


@dataclass
class Tables:
    """Rows of one batch, per table, in the column order of ``COLUMNS``."""

    article: list[tuple] = field(default_factory=list)
    assignment: list[tuple] = field(default_factory=list)
    quote: list[tuple] = field(default_factory=list)
    stance: list[tuple] = field(default_factory=list)
    curated_from: list[tuple] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.article)


COLUMNS = {
    "article": (
        "id", "title", "outlet", "url", "published_on", "language", "text", "text_sha256", "metadata",
        "status", "pool", "annotators_needed", "created_by_id", "created_at",
    ),
    "assignment": (
        "article_id", "annotator_id", "status", "comment", "assigned_by_id", "created_at", "updated_at",
        "submitted_at",
    ),
    "quote": (
        "id", "article_id", "start", "end", "text", "kind", "speaker_id", "speaker_role_id", "cue",
        "mention_start", "mention_end", "mention_text", "cue_start", "cue_end", "cue_text", "addressee_id",
        "attribution_group", "parent_id", "annotator_id", "is_curated", "version", "created_at", "updated_at",
    ),
    "stance": ("quote_id", "target_id", "label_id", "intensity", "confidence", "note"),
    "curated_from": ("from_quote_id", "to_quote_id"),
}  # fmt: skip
TABLES = {
    "article": "annotations_article",
    "assignment": "annotations_assignment",
    "quote": "annotations_quote",
    "stance": "annotations_stance",
    "curated_from": "annotations_quote_curated_from",
}
# Every tenth curated article keeps the annotator's raw quotes it was curated from.
RAW_SOURCES_EVERY = 10


@dataclass(frozen=True)
class Context:
    """What every worker needs to write articles: reference ids and the speakers."""

    seed: int
    speaker_count: int
    targets: dict[str, int]
    labels: dict[str, int]
    reviewer_id: int
    archivist_ids: tuple[int, ...]


@dataclass(frozen=True)
class Batch:
    """A run of curated articles with their ids fixed in advance, so workers need no coordination."""

    number: int
    first_article: int
    first_quote: int
    first_index: int
    counts: tuple[int, ...]


_worker: Writer | None = None


class Writer:
    """Turns article specs into rows; one per process."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.speaker_specs = corpus.make_speakers(random.Random(context.seed), context.speaker_count)
        self.counts = dict.fromkeys(COLUMNS, 0)

    def maker(self, rng: random.Random) -> corpus.ArticleMaker:
        return corpus.ArticleMaker(rng, self.speaker_specs, self.context.targets)

    def add_article(
        self, tables: Tables, article_id: int, spec: corpus.ArticleSpec, *, status: str, pool: bool, metadata=None
    ) -> None:
        outlet_slug = spec.outlet.lower().replace(" ", "-")
        tables.article.append(
            (
                article_id,
                spec.title,
                spec.outlet,
                f"https://news.example.org/{outlet_slug}/{article_id}",
                spec.published_on.isoformat(),
                "en",
                spec.text,
                hashlib.sha256(spec.text.encode()).hexdigest(),
                json.dumps(metadata or {"source": "bench"}),
                status,
                pool,
                1,
                None,
                timestamp(article_id),
            )
        )

    def add_assignment(self, tables: Tables, article_id: int, annotator_id: int, status: str) -> None:
        when = timestamp(article_id + 60)
        submitted = when if status in {"submitted", "reviewed"} else None
        tables.assignment.append(
            (article_id, annotator_id, status, "", self.context.reviewer_id, when, when, submitted)
        )

    def add_quotes(
        self,
        tables: Tables,
        rng: random.Random,
        article_id: int,
        first_quote: int,
        spec: corpus.ArticleSpec,
        *,
        curated: bool,
        annotator_id: int,
    ) -> list[int]:
        ids = []
        when = timestamp(article_id + 120)
        labels = self.context.labels
        for offset, quote in enumerate(spec.quotes):
            quote_id = first_quote + offset
            ids.append(quote_id)
            mention, cue = quote.mention, quote.cue_span
            tables.quote.append(
                (
                    quote_id,
                    article_id,
                    quote.start,
                    quote.end,
                    quote.text,
                    quote.kind,
                    quote.speaker.id,
                    quote.role_id,
                    quote.cue,
                    mention[0],
                    mention[1],
                    mention[2],
                    cue[0],
                    cue[1],
                    cue[2],
                    quote.addressee_id,
                    f"a{article_id}-{quote.group}" if quote.group else "",
                    None,
                    annotator_id,
                    curated,
                    1,
                    when,
                    when,
                )
            )
            for target_id, label, intensity in quote.stances:
                confidence = round(rng.uniform(0.5, 1.0), 2) if rng.random() < 0.3 else None
                tables.stance.append((quote_id, target_id, labels[label], intensity, confidence, ""))
        return ids

    def flush(self, cursor: Any, tables: Tables) -> None:
        from django.db import transaction

        with transaction.atomic():
            for name, table in TABLES.items():
                rows = getattr(tables, name)
                if rows:
                    self.counts[name] += copy_rows(cursor, table, COLUMNS[name], rows)

    def curated_batch(self, batch: Batch) -> dict[str, int]:
        """Write one batch of curated articles; a tenth keep their annotator's raw quotes."""
        from django.db import connection

        rng = random.Random(f"{self.context.seed}-curated-{batch.number}")
        maker = self.maker(rng)
        tables = Tables()
        quote_id = batch.first_quote
        archivists = self.context.archivist_ids
        for offset, count in enumerate(batch.counts):
            index = batch.first_index + offset
            article_id = batch.first_article + offset
            spec = maker.article(count, corpus.random_day(rng))
            self.add_article(tables, article_id, spec, status="curated", pool=False)
            annotator_id = archivists[index % len(archivists)]
            self.add_assignment(tables, article_id, annotator_id, "reviewed")
            curated_ids = self.add_quotes(
                tables, rng, article_id, quote_id, spec, curated=True, annotator_id=self.context.reviewer_id
            )
            quote_id += count
            if index % RAW_SOURCES_EVERY == 0:
                raw_ids = self.add_quotes(
                    tables, rng, article_id, quote_id, spec, curated=False, annotator_id=annotator_id
                )
                quote_id += count
                tables.curated_from.extend(zip(curated_ids, raw_ids, strict=True))
        before = dict(self.counts)
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")  # this session only: a bulk load
            self.flush(cursor, tables)
        return {name: self.counts[name] - before[name] for name in self.counts}


def _start_worker(context: Context) -> None:
    global _worker
    from django.db import connections

    connections.close_all()  # never share the parent's connection
    _worker = Writer(context)


def _run_batch(batch: Batch) -> dict[str, int]:
    if _worker is None:
        raise RuntimeError("the worker was not started")
    return _worker.curated_batch(batch)


class Generator:
    def __init__(self, size: int, *, seed: int, analysts: int, open_per_analyst: int, workers: int, log: Log) -> None:
        self.size = size
        self.seed = seed
        self.rng = random.Random(seed)
        self.analysts = analysts
        self.open_per_analyst = open_per_analyst
        self.workers = workers
        self.log = log
        self.counts = dict.fromkeys(COLUMNS, 0)

    # --- Reference data, through the ORM (a few hundred rows) ---------------------

    def reference_data(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        from annotations.models import StanceLabel, Target

        User = get_user_model()

        def user(username: str, role: str) -> Any:
            account, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.org"})
            account.set_unusable_password()
            account.save()
            account.groups.add(Group.objects.get(name=role))
            return account

        self.reviewer = user("bench-reviewer", "reviewer")
        self.researcher = user("bench-researcher", "researcher")
        self.analyst_users = [user(f"bench-analyst-{n}", "analyst") for n in range(1, self.analysts + 1)]
        self.archivists = [user(f"bench-archivist-{n}", "analyst") for n in range(1, 4)]

        labels = {}
        for slug, name, colour, key, semeval, order in LABELS:
            label, _ = StanceLabel.objects.get_or_create(
                slug=slug,
                defaults={"name": name, "colour": colour, "shortcut_key": key, "semeval": semeval, "order": order},
            )
            labels[slug] = label.pk
        targets = {}
        for (topic_slug, topic_name), children in corpus.TOPICS:
            topic, _ = Target.objects.get_or_create(slug=topic_slug, defaults={"name": topic_name})
            targets[topic_slug] = topic.pk
            for slug, name, _phrases in children:
                target, _ = Target.objects.get_or_create(slug=slug, defaults={"name": name, "parent": topic})
                targets[slug] = target.pk
        self.context = Context(
            seed=self.seed,
            speaker_count=max(50, min(3000, self.size // 300)),
            targets=targets,
            labels=labels,
            reviewer_id=self.reviewer.pk,
            archivist_ids=tuple(user.pk for user in self.archivists),
        )
        self.writer = Writer(self.context)

    def speakers(self, cursor: Any) -> None:
        created = timestamp(0)
        rows, aliases, roles = [], [], []
        for spec in self.writer.speaker_specs:
            qid = f"Q{7_000_000 + spec.id}" if spec.id % 3 == 0 else ""
            rows.append((spec.id, spec.name, spec.kind, spec.country, qid, created))
            for name in dict.fromkeys(spec.aliases):
                aliases.append((spec.id, name))
            for role_id, title, organisation, start, end in spec.roles:
                roles.append((role_id, spec.id, title, organisation, spec.country, start, end))
        copy_rows(cursor, "annotations_speaker", ("id", "name", "kind", "country", "wikidata_qid", "created_at"), rows)
        copy_rows(cursor, "annotations_speakeralias", ("speaker_id", "name"), aliases)
        copy_rows(
            cursor,
            "annotations_speakerrole",
            ("id", "speaker_id", "title", "organisation", "country", "start_date", "end_date"),
            roles,
        )

    # --- Articles and quotes, through COPY ---------------------------------------------

    def plan(self) -> list[Batch]:
        """Quote counts per curated article, cut into batches with their first ids."""
        counts = []
        remaining = self.size
        while remaining > 0:
            counts.append(min(remaining, self.rng.randint(5, 35)))
            remaining -= counts[-1]
        batches = []
        article_id = quote_id = 1
        for number, first in enumerate(range(0, len(counts), BATCH_ARTICLES)):
            chunk = tuple(counts[first : first + BATCH_ARTICLES])
            batches.append(Batch(number, article_id, quote_id, first, chunk))
            article_id += len(chunk)
            quote_id += sum(
                count * (2 if (first + offset) % RAW_SOURCES_EVERY == 0 else 1) for offset, count in enumerate(chunk)
            )
        self.next_article, self.next_quote = article_id, quote_id
        return batches

    def curated(self, batches: list[Batch]) -> None:
        from django.db import connections

        started = time.monotonic()
        done = 0
        if self.workers == 1:
            results = map(self.writer.curated_batch, batches)
            for batch, counts in zip(batches, results, strict=True):
                done += self.tally(batch, counts, done, started)
            self.writer.counts = dict.fromkeys(COLUMNS, 0)
            return
        connections.close_all()  # the workers are forked: they must open their own
        context = multiprocessing.get_context("fork")
        with context.Pool(self.workers, initializer=_start_worker, initargs=(self.context,)) as pool:
            for batch, counts in zip(batches, pool.imap(_run_batch, batches), strict=True):
                done += self.tally(batch, counts, done, started)

    def tally(self, batch: Batch, counts: dict[str, int], done: int, started: float) -> int:
        for name, count in counts.items():
            self.counts[name] += count
        done += sum(batch.counts)
        rate = done / (time.monotonic() - started)
        self.log(f"  {done:,} of {self.size:,} curated quotes ({rate:,.0f} curated quotes/s)")
        return sum(batch.counts)

    def work_in_progress(self, cursor: Any) -> None:
        """Each analyst's open assignments (some started), an open pool, and the long article."""
        writer = self.writer
        rng = random.Random(f"{self.seed}-open")
        maker = writer.maker(rng)
        tables = Tables()

        def article_id() -> int:
            self.next_article += 1
            return self.next_article - 1

        def quotes(article: int, spec: corpus.ArticleSpec, annotator_id: int) -> None:
            writer.add_quotes(tables, rng, article, self.next_quote, spec, curated=False, annotator_id=annotator_id)
            self.next_quote += len(spec.quotes)

        for analyst in self.analyst_users:
            for _ in range(self.open_per_analyst):
                count = rng.choice([0, 0, 4, 8, 12])
                spec = maker.article(count, corpus.random_day(rng))
                article = article_id()
                writer.add_article(tables, article, spec, status="open", pool=False)
                writer.add_assignment(tables, article, analyst.pk, "in_progress" if count else "assigned")
                quotes(article, spec, analyst.pk)
        for _ in range(50):
            writer.add_article(tables, article_id(), maker.article(0, corpus.random_day(rng)), status="open", pool=True)
        for _attempt in range(50):
            try:
                spec = maker.article(
                    BIG_ARTICLE_QUOTES, corpus.random_day(rng), filler=0.0, exact_chars=BIG_ARTICLE_CHARS
                )
                break
            except ValueError:
                continue
        else:
            raise RuntimeError("could not fit the long article's quotes in its length")
        owner = self.analyst_users[0]
        article = article_id()
        writer.add_article(tables, article, spec, status="open", pool=False, metadata={"bench": "annotate"})
        writer.add_assignment(tables, article, owner.pk, "in_progress")
        quotes(article, spec, owner.pk)
        writer.flush(cursor, tables)
        for name, count in writer.counts.items():
            self.counts[name] += count

    def finish(self, cursor: Any) -> None:
        cursor.execute("RESET synchronous_commit")
        for table in [*TABLES.values(), "annotations_speaker", "annotations_speakeralias", "annotations_speakerrole"]:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))"  # noqa: S608
            )

    def run(self) -> dict[str, Any]:
        from django.db import connection

        started = time.monotonic()
        if connection.vendor != "postgresql":
            raise SystemExit("The workload generator writes with PostgreSQL's COPY: point DATABASE_URL at PostgreSQL.")
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM annotations_quote")
            if cursor.fetchone()[0]:
                raise SystemExit("The database already has quotes: generate into a freshly migrated database.")
        self.reference_data()
        with connection.cursor() as cursor:
            self.speakers(cursor)
        self.curated(self.plan())
        with connection.cursor() as cursor:
            self.work_in_progress(cursor)
            self.finish(cursor)
        # Rows went in with COPY, around the models: the tallies are counted once, here.
        from annotations.tallies import rebuild

        self.log(f"  the tallies: {rebuild()}")
        loaded = time.monotonic() - started
        self.log("  vacuum and analyze")
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
        return {
            "size": self.size,
            "seed": self.seed,
            "articles": self.counts["article"],
            "quotes": self.counts["quote"],
            "stances": self.counts["stance"],
            "speakers": self.context.speaker_count,
            "load_seconds": round(loaded, 1),
            "total_seconds": round(time.monotonic() - started, 1),
        }


def generate(
    size: int,
    *,
    seed: int = 1,
    analysts: int = 3,
    open_per_analyst: int = 40,
    workers: int | None = None,
    log: Log = print,
) -> dict[str, Any]:
    """Fill the default database (Django must be set up) and return what was written.

    Curated articles are written by ``workers`` processes (one per core by
    default): the offset trigger, which reads the article for every quote, is
    most of the cost, and PostgreSQL runs one backend per connection.
    """
    workers = workers or os.cpu_count() or 1
    generator = Generator(
        size, seed=seed, analysts=analysts, open_per_analyst=open_per_analyst, workers=workers, log=log
    )
    return generator.run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="curated quotes (up to 1,000,000 and beyond)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--analysts", type=int, default=3)
    parser.add_argument("--open-per-analyst", type=int, default=40)
    parser.add_argument("--workers", type=int, default=None, help="processes writing (default: one per core)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    summary = generate(
        args.size,
        seed=args.seed,
        analysts=args.analysts,
        open_per_analyst=args.open_per_analyst,
        workers=args.workers,
    )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
