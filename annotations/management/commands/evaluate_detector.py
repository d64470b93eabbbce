"""Score the quote detector against a gold JSONL file (the input's fields plus
"quotes"): precision, recall and F1 under exact and overlap match, for direct
quotes and for all, and how often the source and cue agree, by language."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotations.detection import VERSION, detect
from annotations.detection.articles import BadLine, read
from annotations.detection.evaluation import Quote, Report, Scores, evaluate


class Command(BaseCommand):
    help = "Score the detector against GOLD.jsonl (see annotations/detection/evaluation.py for the rules)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", metavar="GOLD.jsonl", type=Path)
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print the figures as one JSON object.")
        parser.add_argument(
            "--floor-direct", type=float, metavar="F1", help="Fail below this overlap F1 on direct quotes."
        )
        parser.add_argument("--floor-all", type=float, metavar="F1", help="Fail below this overlap F1 on all quotes.")
        parser.add_argument(
            "--floor-source", type=float, metavar="SHARE", help="Fail when fewer matched quotes have the gold source."
        )

    def handle(
        self,
        *args: Any,
        path: Path,
        as_json: bool,
        floor_direct: float | None,
        floor_all: float | None,
        floor_source: float | None,
        **options: Any,
    ) -> None:
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        scored: list[tuple[str, list[Quote], list[Quote]]] = []
        bad = 0
        for article in read(path, gold=True):
            if isinstance(article, BadLine):
                self.stderr.write(f"{path}: {article}")
                bad += 1
                continue
            predicted = [
                Quote(c.start, c.end, c.kind, c.cue, c.source)
                for c in detect(article.text, article.language, article.published)
            ]
            scored.append((article.language.split("-")[0].lower(), article.quotes, predicted))
        if bad:
            raise CommandError(f"{bad} line(s) of {path} could not be read; nothing was scored.")
        reports = evaluate(scored)
        if as_json:
            self.stdout.write(json.dumps({"detector": VERSION, "gold": str(path), "reports": {
                language: report.as_json() for language, report in reports.items()
            }}, ensure_ascii=False))  # fmt: skip
        else:
            self.stdout.write(f"Detector {VERSION} against {path}")
            for language, report in reports.items():
                self.stdout.write(_table(language, report))
        overall = reports["all"]
        missed = [
            f"{what} {figure:.3f} < {floor}"
            for what, figure, floor in (
                ("direct quotes' overlap F1", overall.direct_overlap.f1, floor_direct),
                ("all quotes' overlap F1", overall.all_overlap.f1, floor_all),
                ("share of matched quotes with the gold source", overall.source_share, floor_source),
            )
            if floor is not None and figure < floor
        ]
        if missed:
            raise CommandError(f"{path}: under the floor: {'; '.join(missed)}.")


def _line(name: str, scores: Scores) -> str:
    return (
        f"  {name:<16} P {scores.precision:6.1%}  R {scores.recall:6.1%}  F1 {scores.f1:6.1%}"
        f"  ({scores.matched} matched, {scores.gold} gold, {scores.predicted} predicted)"
    )


def _table(language: str, report: Report) -> str:
    return "\n".join(
        [
            f"\n{language} ({report.articles} article(s))",
            _line("direct, exact", report.direct_exact),
            _line("direct, overlap", report.direct_overlap),
            _line("all, exact", report.all_exact),
            _line("all, overlap", report.all_overlap),
            f"  matched quotes whose source overlaps the gold source: {report.source_share:.1%} "
            f"of {report.source_checked}; whose cue overlaps the gold cue: {report.cue_share:.1%} "
            f"of {report.cue_checked}",
        ]
    )
