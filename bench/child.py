"""Jobs run in a process of their own, so that the peak memory measured is theirs alone.

    python -m bench.child export FILE     # export_dataset --format jsonl --output FILE
    python -m bench.child import FILE     # annotations.importers.import_articles on a JSONL file

Prints one JSON object: the seconds the job itself took (Django's start-up
excluded) and what it did. The parent reads the peak RSS from the kernel.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    job, path = argv[0], Path(argv[1])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    if job == "export":
        from django.core.management import call_command

        started = time.perf_counter()
        call_command("export_dataset", format="jsonl", output=str(path), no_progress=True, stderr=io.StringIO())
        print(json.dumps({"seconds": time.perf_counter() - started}))
        return 0
    if job == "import":
        from annotations.importers import import_articles

        content = path.read_bytes()
        started = time.perf_counter()
        report = import_articles(content, "jsonl")
        seconds = time.perf_counter() - started
        problems = [str(note) for note in report.errors[:5]]
        print(json.dumps({"seconds": seconds, "created": report.created, "problems": problems}))
        return 0 if report.ok else 1
    print(f"unknown job {job!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
