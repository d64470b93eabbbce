"""Load the demo: the seed article, its worked example, the default taxonomy and
one user per role, and the curated version of the article.

The seed article is double-coded: the analyst's quotes are the worked example,
the second analyst's differ from them in a few places (``SECOND_READING``), so
the comparison and agreement pages show real figures. A few invented articles
(``invented-articles.json``, marked as invented in title, outlet and metadata)
wait in the analyst's queue, so "Next article" leads somewhere.

Idempotent: running it twice leaves the same rows, history included (a row is
only saved when something in it changed, so no empty history records pile up).
Offsets in the worked example are checked against the text, never trusted.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from annotations.demo import DEMO_USERS, history
from annotations.models import (
    Article,
    Assignment,
    Guidelines,
    Quote,
    Speaker,
    SpeakerAlias,
    SpeakerRole,
    Stance,
    StanceLabel,
    Target,
)
from annotations.offsets import check_span, normalise_text
from annotations.tallies import tallied

# The default label set: colours readable on white, shortcut keys in label order.
LABEL_STYLE = {
    "support": ("#2e7d32", "s", StanceLabel.SemEval.FAVOR),
    "oppose": ("#c62828", "o", StanceLabel.SemEval.AGAINST),
    "neutral": ("#546e7a", "n", StanceLabel.SemEval.NONE),
    "unclear": ("#8e6c00", "u", StanceLabel.SemEval.NONE),
}
# Examples the guidelines page lists under each label (invented sentences, one a line).
LABEL_EXAMPLES = {
    "support": '"We welcome the agreement and will work to implement it," the minister said.\n'
    "The spokeswoman said Berlin backed the ceasefire proposal.",
    "oppose": '"This deal is a historic mistake," the prime minister told reporters.\n'
    "The ministry said the sanctions were illegal and would be challenged.",
    "neutral": '"We have taken note of the announcement," a spokesman said.\n'
    "The envoy said talks would resume next week in Vienna.",
    "unclear": '"We will see what the other side brings to the table," the minister said.',
}


# How the second demo analyst reads the seed article differently from the worked
# example, by quote number (1-based). None: the quote is missed. "span": the part
# of the worked example's span they marked instead (a narrower reading).
# The same reading as tests/test_review_walkthrough.py's, whose agreement figures
# are worked out by hand there (exact F1 0.80, overlap 0.93, speaker 0.86, α 0.87).
SECOND_READING: dict[int, dict[str, Any] | None] = {
    # Price's partial quote: only the words in quotation marks.
    3: {"span": "foot-dragging and empty promises"},
    # Price's first "added" quote, attributed to Lloyd Austin.
    4: {"speaker": "Lloyd Austin", "no_role": True},
    # Unclear rather than neutral on returning to the deal.
    5: {"relabel": {"jcpoa-return": "unclear"}},
    # Price's "a decision for Israel to make" is missed.
    7: None,
}

INVENTED_ARTICLES = Path(__file__).resolve().parents[2] / "demo" / "invented-articles.json"


def second_reading(rows: list[dict]) -> list[dict]:
    """The worked example's quotes as the second analyst marks them."""
    reading = []
    for number, row in enumerate(rows, start=1):
        if number in SECOND_READING and SECOND_READING[number] is None:
            continue
        change = SECOND_READING.get(number) or {}
        row = dict(row)
        if "span" in change:
            start = row["start"] + row["text"].index(change["span"])
            row.update(start=start, end=start + len(change["span"]), text=change["span"])
        if "speaker" in change:
            row.update(speaker=change["speaker"], no_role=change.get("no_role", False))
        relabel = change.get("relabel", {})
        row["stances"] = [{**s, "label": relabel.get(s["target"], s["label"])} for s in row.get("stances", [])]
        reading.append(row)
    return reading


def _date(value: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(value) if value else None


def _save_if_changed(instance: Any, **values: Any) -> Any:
    """Set ``values`` on ``instance`` and save it (validated) only if it is new or
    something changed: every save of a model with history adds a history row."""
    changed = instance.pk is None or any(getattr(instance, name) != value for name, value in values.items())
    for name, value in values.items():
        setattr(instance, name, value)
    if changed:
        instance.full_clean()
        instance.save()
    return instance


class Command(BaseCommand):
    help = "Load the demo article, its annotated quotes, the default taxonomy and demo users (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--data-dir",
            type=Path,
            default=settings.DEMO_DATA_DIR,
            help="Folder holding worked-example.json and the article it names.",
        )
        parser.add_argument("--no-users", action="store_true", help="Load the data only; create no demo accounts.")
        parser.add_argument(
            "--one-annotator",
            action="store_true",
            help="Load only the first analyst's reading of the seed article, not the second analyst's.",
        )
        parser.add_argument(
            "--history",
            action="store_true",
            help="Add two years of invented curated statements (2022–2023) for the statistics pages.",
        )
        parser.add_argument(
            "--no-curation",
            action="store_true",
            help="Leave the demo article open for review: no curated version, the analyst's work in progress.",
        )

    def handle(
        self,
        *args: Any,
        data_dir: Path,
        no_users: bool,
        no_curation: bool = False,
        one_annotator: bool = False,
        history: bool = False,
        **options: Any,
    ) -> None:
        example_path = data_dir / "worked-example.json"
        try:
            example = json.loads(example_path.read_text(encoding="utf-8"))
            text = normalise_text((data_dir / example["article"]["file"]).read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError) as error:
            raise CommandError(f"Can't read the demo data in {data_dir}: {error}") from error

        create_users = not no_users
        if create_users and not settings.DEBUG:
            self.stderr.write(
                "DEBUG is off: demo accounts with published passwords are not created. "
                "Create real accounts with `manage.py createsuperuser` and Django admin."
            )
            create_users = False

        with transaction.atomic():
            users = self.load_users() if create_users else {}
            self.load_guidelines(data_dir, users.get("reviewer"))
            labels = self.load_labels(example["stance_labels"])
            targets = self.load_targets(example["targets"])
            speakers = self.load_speakers(example["speakers"])
            article = self.load_article(example["article"], text)
            # Without demo accounts the quotes are loaded unowned, for reviewers to see.
            annotator = users.get("analyst")
            self.load_quotes(article, example["quotes"], speakers, targets, labels, annotator)
            assignments = []
            if annotator is not None:
                assignments.append(self.assign(article, annotator, Assignment.Status.IN_PROGRESS))
            second = None if one_annotator else users.get("analyst2")
            if second is not None:
                self.load_quotes(article, second_reading(example["quotes"]), speakers, targets, labels, second)
                assignments.append(self.assign(article, second, Assignment.Status.IN_PROGRESS))
            if not no_curation:
                self.load_curated(article, annotator, users.get("reviewer"), assignments)
            invented = self.load_invented(annotator)
            reports = self.load_history(labels, targets, users.get("reviewer")) if history else []

        quotes = Quote.objects.raw_layer().filter(article=article).count()
        curated = Quote.objects.curated().filter(article=article).count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo loaded: {1 + len(invented)} articles ({len(invented)} invented), {len(speakers)} speakers, "
                f"{len(targets)} targets, {len(labels)} stance labels, {quotes} quotes on the seed article "
                f"({curated} curated), {len(users)} demo users"
                + (f"; {len(reports)} invented curated reports for the statistics." if history else ".")
            )
        )

    def load_users(self) -> dict[str, Any]:
        User = get_user_model()
        users = {}
        for username, role, password in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            if created or not user.check_password(password):
                user.set_password(password)
            user.email = f"{username}@demarche.invalid"
            user.is_staff = user.is_superuser = role is None
            user.save()
            if role is not None:
                # The data migration makes the groups (with their permissions); a
                # flushed database (live-server tests) may have lost them.
                user.groups.set([Group.objects.get_or_create(name=role)[0]])
            users[username] = user
        return users

    def assign(self, article: Article, annotator: Any, status: str) -> Assignment:
        assignment, _ = Assignment.objects.get_or_create(
            article=article, annotator=annotator, defaults={"status": status}
        )
        return assignment

    def load_invented(self, analyst: Any | None) -> list[Article]:
        """The invented articles, waiting in the analyst's queue (left in the pool
        when there are no demo accounts)."""
        try:
            rows = json.loads(INVENTED_ARTICLES.read_text(encoding="utf-8"))["articles"]
        except (OSError, ValueError, KeyError) as error:
            raise CommandError(f"Can't read the invented demo articles: {error}") from error
        articles = []
        for row in rows:
            text = normalise_text(row["text"])
            article = Article.objects.filter(text_sha256=Article.hash_text(text)).first() or Article(text=text)
            article = _save_if_changed(
                article,
                title=row["title"],
                outlet=row["outlet"],
                published_on=_date(row["published_on"]),
                language=row.get("language", "en"),
                pool=analyst is None,
                metadata={
                    "invented": True,
                    "source": "invented-articles.json",
                    "note": "Invented for the Demarche demo: not a real article; "
                    "people, places and quotes are fictional.",
                },
            )
            if analyst is not None:
                self.assign(article, analyst, Assignment.Status.ASSIGNED)
            articles.append(article)
        return articles

    def load_history(
        self, labels: dict[str, StanceLabel], targets: dict[str, Target], reviewer: Any | None
    ) -> list[Article]:
        """The invented curated history (``annotations.demo.history``): curated articles with curated
        quotes and stances, as a reviewer's curation leaves them, so the statistics have periods."""
        articles = []
        for report in history.reports():
            text = normalise_text(report["text"])
            article = Article.objects.filter(text_sha256=Article.hash_text(text)).first() or Article(text=text)
            article = _save_if_changed(
                article,
                title=report["title"],
                outlet=report["outlet"],
                published_on=report["published_on"],
                pool=False,
                status=Article.Status.CURATED,
                metadata={"invented": True, "source": "seed_demo --history", "note": history.__doc__.split("\n")[0]},
            )
            with tallied([article.pk]):  # the statistics' tally counts what the statements add
                self.load_statements(article, report["statements"], labels, targets, reviewer)
            articles.append(article)
        return articles

    def load_statements(
        self, article: Article, statements: list[dict[str, Any]], labels: dict, targets: dict, reviewer: Any
    ) -> None:
        for statement in statements:
            speaker = _save_if_changed(
                Speaker.objects.filter(name=statement["speaker"]).first() or Speaker(name=statement["speaker"]),
                country=statement["country"],
            )
            quote = Quote.objects.curated().filter(
                article=article, start=statement["start"], end=statement["end"]
            ).first() or Quote(article=article, start=statement["start"], end=statement["end"], is_curated=True)
            quote = _save_if_changed(
                quote,
                text=statement["text"],
                speaker=speaker,
                kind=Quote.Kind.DIRECT,
                cue="said",
                annotator=reviewer,
            )
            target = targets[statement["target"]]
            self.load_stances(quote, {target.pk: (labels[statement["label"]].pk, None)})

    def load_guidelines(self, data_dir: Path, reviewer: Any | None) -> None:
        """A first version of the guidelines, once: a second run, or guidelines a
        reviewer already wrote, are left as they are (a version is never rewritten)."""
        if Guidelines.objects.exists():
            return
        path = data_dir / "guidelines.md"
        if not path.exists():  # a data directory of one's own may bring only the articles
            path = Path(__file__).resolve().parents[2] / "demo" / "guidelines.md"
        try:
            body = path.read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(f"Can't read the demo guidelines in {data_dir}: {error}") from error
        Guidelines.publish(body=body, note="First version: quotes, speakers and stances.", by=reviewer)

    def load_labels(self, rows: list[dict]) -> dict[str, StanceLabel]:
        labels = {}
        for order, row in enumerate(rows, start=1):
            colour, key, semeval = LABEL_STYLE.get(row["slug"], ("#888888", "", StanceLabel.SemEval.NONE))
            labels[row["slug"]], _ = StanceLabel.objects.update_or_create(
                slug=row["slug"],
                defaults={
                    "name": row["name"],
                    "definition": row["definition"],
                    "examples": LABEL_EXAMPLES.get(row["slug"], ""),
                    "colour": colour,
                    "shortcut_key": key,
                    "order": order,
                    "semeval": semeval,
                },
            )
        return labels

    def load_targets(self, rows: list[dict]) -> dict[str, Target]:
        targets: dict[str, Target] = {}
        # Parents are listed before their children in the worked example; insist on it.
        for row in rows:
            parent_slug = row.get("parent")
            if parent_slug and parent_slug not in targets:
                raise CommandError(f"Target {row['slug']!r} names parent {parent_slug!r} before it is defined.")
            targets[row["slug"]], _ = Target.objects.update_or_create(
                slug=row["slug"],
                defaults={
                    "name": row["name"],
                    "description": row.get("description", ""),
                    "parent": targets.get(parent_slug) if parent_slug else None,
                },
            )
        return targets

    def load_speakers(self, rows: list[dict]) -> dict[str, Speaker]:
        speakers = {}
        for row in rows:
            speaker = _save_if_changed(
                Speaker.objects.filter(name=row["name"]).first() or Speaker(name=row["name"]),
                kind=row.get("kind", Speaker.Kind.PERSON),
                country=row.get("country", ""),
                wikidata_qid=row.get("wikidata_qid", ""),
            )
            for alias in row.get("aliases", []):
                SpeakerAlias.objects.get_or_create(speaker=speaker, name=alias)
            for role in row.get("roles", []):
                key = {
                    "speaker": speaker,
                    "title": role["title"],
                    "organisation": role.get("organisation", ""),
                    "start_date": _date(role.get("start")),
                }
                _save_if_changed(
                    SpeakerRole.objects.filter(**key).first() or SpeakerRole(**key),
                    country=role.get("country", ""),
                    end_date=_date(role.get("end")),
                )
            speakers[row["name"]] = speaker
        return speakers

    def load_article(self, row: dict, text: str) -> Article:
        if "length" in row and len(text) != row["length"]:
            raise CommandError(
                f"The demo article is {len(text)} code points long; the worked example expects {row['length']}."
            )
        article = Article.objects.filter(text_sha256=Article.hash_text(text)).first()
        if article is None:
            article = Article(text=text)
        notes = {key: value for key, value in row.items() if key.endswith("_note")}
        # Articles have history now: saved only when something changed.
        return _save_if_changed(
            article,
            title=row["title"],
            outlet=row.get("outlet") or "",
            url=row.get("url") or "",
            published_on=_date(row.get("published_on")),
            language=row.get("language", "en"),
            metadata={**article.metadata, **notes, "source": "worked-example.json"},
        )

    def load_quotes(
        self,
        article: Article,
        rows: list[dict],
        speakers: dict[str, Speaker],
        targets: dict[str, Target],
        labels: dict[str, StanceLabel],
        annotator: Any | None,
    ) -> None:
        self.check_offsets(article, rows)
        for row in rows:
            speaker = speakers[row["speaker"]] if row.get("speaker") else None
            mention = row.get("source_mention") or {}
            cue = row.get("cue_span") or {}
            quote = _save_if_changed(
                Quote.objects.filter(
                    article=article, annotator=annotator, is_curated=False, start=row["start"], end=row["end"]
                ).first()
                or Quote(
                    article=article,
                    annotator=annotator,
                    start=row["start"],
                    end=row["end"],
                    guidelines_version=Guidelines.objects.current_number(),
                ),
                text=row["text"],
                kind=row["kind"],
                speaker=speaker,
                speaker_role=speaker.role_on(article.published_on) if speaker and not row.get("no_role") else None,
                cue=row.get("cue", ""),
                mention_start=mention.get("start"),
                mention_end=mention.get("end"),
                mention_text=mention.get("text", ""),
                cue_start=cue.get("start"),
                cue_end=cue.get("end"),
                cue_text=cue.get("text", ""),
                addressee=speakers[row["addressee"]] if row.get("addressee") else None,
                attribution_group=row.get("attribution_group", ""),
            )
            self.load_stances(
                quote,
                {
                    targets[stance["target"]].pk: (labels[stance["label"]].pk, stance.get("intensity"))
                    for stance in row.get("stances", [])
                },
            )

    def load_stances(self, quote: Quote, wanted: dict[int, tuple[int, int | None]]) -> None:
        """Make the quote's stances exactly ``wanted`` (target id → label id, intensity)."""
        existing = {stance.target_id: stance for stance in quote.stances.all()}
        for target_id, (label_id, intensity) in wanted.items():
            _save_if_changed(
                existing.get(target_id) or Stance(quote=quote, target_id=target_id),
                label_id=label_id,
                intensity=intensity,
            )
        for target_id, stance in existing.items():
            if target_id not in wanted:
                stance.delete()

    def load_curated(
        self, article: Article, annotator: Any | None, reviewer: Any | None, assignments: list[Assignment]
    ) -> None:
        """The curated version: a curated copy of each of the analyst's quotes, made
        by the reviewer (unowned without demo accounts); both analysts' assignments
        reviewed and the article curated."""
        raw = list(Quote.objects.raw_layer().filter(article=article, annotator=annotator).prefetch_related("stances"))
        copies = dict(
            Quote.curated_from.through.objects.filter(to_quote__in=raw, from_quote__is_curated=True).values_list(
                "to_quote_id", "from_quote_id"
            )
        )
        for quote in raw:
            if quote.pk not in copies:
                quote.copy_as_curated(curator=reviewer, sources=[quote])
                continue
            copy = Quote.objects.get(pk=copies[quote.pk])
            values = {name: getattr(quote, name) for name in Quote.CURATED_COPY_FIELDS}
            _save_if_changed(copy, **values, annotator=reviewer)
            self.load_stances(copy, {s.target_id: (s.label_id, s.intensity) for s in quote.stances.all()})
        if assignments:
            for assignment in assignments:
                if assignment.status in Assignment.OPEN:
                    assignment.move_to(Assignment.Status.SUBMITTED)
            if article.status == Article.Status.OPEN:
                article.mark_curated()
        elif article.status == Article.Status.OPEN:
            # No demo accounts, so no assignment to review: the curated layer stands alone.
            with tallied([article.pk]):
                Article.objects.filter(pk=article.pk).update(status=Article.Status.CURATED)
            article.status = Article.Status.CURATED

    def check_offsets(self, article: Article, rows: list[dict]) -> None:
        for number, row in enumerate(rows, start=1):
            try:
                check_span(article.text, row["start"], row["end"], row["text"], name=f"quote {number}")
                for key, name in (("source_mention", "source mention"), ("cue_span", "cue")):
                    if key in row:
                        span = row[key]
                        check_span(
                            article.text, span["start"], span["end"], span["text"], name=f"quote {number} {name}"
                        )
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from error
