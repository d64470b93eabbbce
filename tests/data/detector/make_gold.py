"""Build a gold JSONL file from its marked-up source: ``python make_gold.py dev``.

The source (``dev.txt``, ``holdout.txt``) holds articles written for these sets,
one after a header line ``=== id | language | published``. In the text,
``[[1d:…]]`` is quote 1's content (d direct, i indirect, m mixed),
``<<1:…>>`` its source mention and ``{{1:…}}`` its cue; ``<<1,2:…>>`` serves
two quotes (the parts of a split quote). Markers nest. The script strips them
and counts offsets in code points of what is left, so the gold can't drift from
its text. ``seed`` adds the worked example (/work/shared/seed or $SEED) first.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent
OPEN = re.compile(r"(\[\[|<<|\{\{)([0-9,]+)([dim]?):")
CLOSE = {"[[": "]]", "<<": ">>", "{{": "}}"}
KINDS = {"d": "direct", "i": "indirect", "m": "mixed"}


def parse(marked: str) -> tuple[str, list[dict[str, object]]]:
    text: list[str] = []
    stack: list[tuple[str, str, str, int]] = []
    quotes: dict[str, dict[str, object]] = {}
    index = 0
    while index < len(marked):
        match = OPEN.match(marked, index)
        if match:
            stack.append((match.group(1), match.group(2), match.group(3), len(text)))
            index = match.end()
            continue
        if stack and marked.startswith(CLOSE[stack[-1][0]], index):
            opener, ids, kind, start = stack.pop()
            end = len(text)
            for number in ids.split(","):
                quote = quotes.setdefault(number, {"cue": None, "source": None, "speaker": None})
                if opener == "[[":
                    quote.update(start=start, end=end, kind=KINDS[kind])
                elif opener == "<<":
                    quote["source"] = [start, end]
                else:
                    quote["cue"] = [start, end]
            index += 2
            continue
        text.append(marked[index])
        index += 1
    if stack:
        raise ValueError(f"unclosed marker {stack[-1][:2]}")
    plain = "".join(text)
    ordered = sorted(quotes.values(), key=lambda quote: (quote["start"], quote["end"]))
    for quote in ordered:
        source = quote["source"]
        if isinstance(source, list):
            quote["speaker"] = plain[source[0] : source[1]]
    return plain, [
        {key: quote[key] for key in ("start", "end", "kind", "cue", "source", "speaker")} for quote in ordered
    ]


def articles(path: Path) -> list[dict[str, object]]:
    found = []
    for block in path.read_text(encoding="utf-8").split("=== ")[1:]:
        header, _, body = block.partition("\n")
        identifier, language, published = (part.strip() for part in header.split("|"))
        text, quotes = parse(body.strip("\n"))
        found.append({"id": identifier, "language": language, "published": published, "text": text, "quotes": quotes})
    return found


def seed() -> dict[str, object]:
    folder = Path(os.environ.get("SEED", "/work/shared/seed"))
    example = json.loads((folder / "worked-example.json").read_text(encoding="utf-8"))
    text = (folder / example["article"]["file"]).read_text(encoding="utf-8")
    quotes = [
        {
            "start": quote["start"],
            "end": quote["end"],
            "kind": quote["kind"],
            "cue": [quote["cue_span"]["start"], quote["cue_span"]["end"]],
            "source": [quote["source_mention"]["start"], quote["source_mention"]["end"]],
            "speaker": quote["source_mention"]["text"],
        }
        for quote in example["quotes"]
    ]
    return {
        "id": "seed-austin-gallant",
        "language": "en",
        "published": example["article"]["published_on"],
        "text": text,
        "quotes": quotes,
    }


def main(name: str) -> None:
    lines = [seed()] if name == "dev" else []
    lines += articles(HERE / f"{name}.txt")
    with (HERE / f"{name}.jsonl").open("w", encoding="utf-8") as out:
        for line in lines:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
