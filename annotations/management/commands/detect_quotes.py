"""Run the quote detector over articles in a JSONL file and write its candidates
as JSONL on stdout. Reads the database only with --registry, never writes to it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from annotations.detection import detect
from annotations.detection.articles import BadLine, read


class Command(BaseCommand):
    help = (
        "Detect quotes in IN.jsonl (one article a line: id, text, language, published) and write "
        '{"id", "quotes": [...]} lines to stdout; offsets in code points, end exclusive.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", metavar="IN.jsonl", type=Path)
        parser.add_argument(
            "--registry", action="store_true", help='Link speakers to the speaker registry (adds "speaker_id").'
        )
        parser.add_argument("--no-progress", action="store_true", help="Don't draw a progress bar.")

    def handle(self, *args: Any, path: Path, registry: bool, no_progress: bool, **options: Any) -> None:
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        if registry:
            from annotations.detection.linking import link
        bad = 0
        lines = tqdm(read(path), unit="article", file=sys.stderr, disable=no_progress or not sys.stderr.isatty())
        for article in lines:
            if isinstance(article, BadLine):
                self.stderr.write(f"{path}: {article}")
                bad += 1
                continue
            candidates = detect(article.text, article.language, article.published)
            quotes = [candidate.as_json() for candidate in candidates]
            if registry:
                for quote, speaker_id in zip(quotes, link(candidates, article.published), strict=True):
                    quote["speaker_id"] = speaker_id
            self.stdout.write(json.dumps({"id": article.id, "quotes": quotes}, ensure_ascii=False))
        if bad:
            raise CommandError(f"{bad} line(s) of {path} could not be read; the others were written.")
