"""Importing articles from JSONL, CSV and text files: all or nothing per file."""

from __future__ import annotations

import datetime
import io
import json
import unicodedata

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models.functions import Substr
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotations.forms import MAX_ARTICLE_CHARS, ArticleForm
from annotations.importers import ImportArticleForm, LineNote, format_from_filename, import_articles
from annotations.models import Article
from annotations.offsets import normalise_text

from .factories import ArticleFactory

pytestmark = pytest.mark.django_db

GOOD = {
    "title": "Austin and Gallant hold first call",
    "outlet": "Times of Israel",
    "url": "https://example.org/austin-gallant",
    "published_on": "2023-01-05",
    "language": "en",
    "text": "“We will not allow Iran to acquire a nuclear weapon,” Gallant said.",
    "metadata": {"section": "world", "tags": ["iran", "us"]},
}


def article_line(**changes: object) -> dict[str, object]:
    """A valid JSONL record, changed as asked."""
    values = dict(GOOD)
    values.update(changes)
    return values


def jsonl(*records: dict[str, object] | str) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records).encode()


def numbered(count: int) -> list[dict[str, object]]:
    return [
        article_line(title=f"Article {n}", url=f"https://example.org/{n}", text=f"Story number {n}.")
        for n in range(1, count + 1)
    ]


def messages(report) -> list[str]:
    return [str(note) for note in report.errors]


# --- Formats ------------------------------------------------------------------


def test_a_jsonl_file_imports_every_article_with_its_metadata():
    report = import_articles(jsonl(*numbered(3)), "jsonl")

    assert report.ok
    assert report.created == 3
    assert report.skipped == []
    article = Article.objects.get(title="Article 2")
    assert article.outlet == "Times of Israel"
    assert article.url == "https://example.org/2"
    assert article.published_on == datetime.date(2023, 1, 5)
    assert article.language == "en"
    assert article.text == "Story number 2."
    assert article.text_sha256 == Article.hash_text("Story number 2.")
    assert article.metadata == {"section": "world", "tags": ["iran", "us"]}


def test_imported_text_is_normalised_to_nfc_with_lf_line_ends():
    decomposed = "Cafe\u0301 talks\r\nresumed\rtoday."
    report = import_articles(jsonl(article_line(text=decomposed)), "jsonl")

    assert report.ok
    article = Article.objects.get()
    assert article.text == "Caf\u00e9 talks\nresumed\ntoday."
    assert unicodedata.is_normalized("NFC", article.text)
    assert article.text_sha256 == Article.hash_text(article.text)


def test_blank_lines_in_a_jsonl_file_are_ignored_and_line_numbers_still_count_them():
    report = import_articles(jsonl(numbered(1)[0], "", "   ", article_line(title="")), "jsonl")

    assert messages(report) == ["line 4: title: Give the article a title."]


def test_a_csv_file_imports_every_row_with_json_metadata():
    content = (
        "title,outlet,url,published_on,language,text,metadata\r\n"
        'First,Reuters,https://example.org/1,2023-01-05,en,"One line\r\nand another",'
        '"{""desk"": ""Jerusalem""}"\r\n'
        "Second,AP,,,he,שלום,\r\n"
    ).encode()

    report = import_articles(content, "csv")

    assert report.ok
    assert report.created == 2
    first = Article.objects.get(title="First")
    assert first.text == "One line\nand another"
    assert first.metadata == {"desk": "Jerusalem"}
    assert first.text_sha256 == Article.hash_text("One line\nand another")
    second = Article.objects.get(title="Second")
    assert (second.url, second.published_on, second.language, second.metadata) == ("", None, "he", {})


def test_a_csv_file_needs_no_metadata_column():
    report = import_articles(b"title,text\nOnly,The text.\n", "csv")

    assert report.ok
    assert Article.objects.get().metadata == {}


def test_a_text_file_is_one_article_titled_by_its_first_non_empty_line():
    content = "\n\n  Austin and Gallant hold first call  \r\n\r\nUS Secretary of Defense Lloyd Austin …\r\n"

    report = import_articles(
        content.encode(),
        "txt",
        defaults={"outlet": "Times of Israel", "language": "en", "published_on": "2023-01-05"},
    )

    assert report.ok
    article = Article.objects.get()
    assert article.title == "Austin and Gallant hold first call"
    assert article.text == "Austin and Gallant hold first call  \n\nUS Secretary of Defense Lloyd Austin …"
    assert (article.outlet, article.language, article.published_on) == (
        "Times of Israel",
        "en",
        datetime.date(2023, 1, 5),
    )


def test_a_title_default_replaces_the_first_line_of_a_text_file():
    import_articles(b"first line\nbody", "txt", defaults={"title": "A better title"})

    assert Article.objects.get().title == "A better title"


def test_defaults_fill_only_what_a_line_leaves_empty():
    import_articles(
        jsonl(article_line(outlet="", language="he"), article_line(text="Other.", url="")),
        "jsonl",
        defaults={"outlet": "Haaretz", "language": "ar"},
    )

    languages = dict(Article.objects.values_list("outlet", "language"))
    assert languages == {"Haaretz": "he", "Times of Israel": "en"}


def test_a_missing_language_falls_back_to_the_model_default():
    record = article_line()
    del record["language"]

    import_articles(jsonl(record), "jsonl")

    assert Article.objects.get().language == "en"


def test_a_utf8_byte_order_mark_is_tolerated():
    report = import_articles(b"\xef\xbb\xbftitle,text\nWith BOM,Body.\n", "csv")

    assert report.ok
    assert Article.objects.get().title == "With BOM"


def test_text_open_files_and_bytes_are_all_accepted():
    import_articles(jsonl(numbered(1)[0]).decode(), "jsonl")
    import_articles(io.BytesIO(b"title,text\nFrom a file,Another body.\n"), "csv")

    assert Article.objects.count() == 2


def test_emoji_hebrew_and_combining_marks_round_trip_exactly():
    text = "נתניהו אמר: “לא נאפשר” 🇮🇱👍🏽 — 𝔸 and e\u0301 ok."
    import_articles(jsonl(article_line(text=text, title="שלום 🌍")), "jsonl")

    stored = Article.objects.get()
    assert stored.text == unicodedata.normalize("NFC", text)
    assert stored.title == "שלום 🌍"
    # The database counts code points as Python does, so offsets agree across both.
    start = unicodedata.normalize("NFC", text).index("👍🏽")
    piece = Article.objects.annotate(piece=Substr("text", start + 1, 2)).values_list("piece", flat=True).get()
    assert piece == "👍🏽"
    assert Article.objects.filter(text_sha256=Article.hash_text(stored.text)).exists()


# --- Refusals: nothing from the file is written -------------------------------

REFUSED_LINES = [
    pytest.param(
        '{"title": "x", "text": "y" "z"}',
        "line 2: not valid JSON (Expecting ',' delimiter at column 28)",
        id="invalid-json",
    ),
    pytest.param(article_line(title=None), "line 2: title: Give the article a title.", id="missing-title"),
    pytest.param(article_line(title="   "), "line 2: title: Give the article a title.", id="blank-title"),
    pytest.param(article_line(text=" \n "), "line 2: text: The article text is empty.", id="blank-text"),
    pytest.param(
        article_line(published_on="05/01/2023"),
        "line 2: published_on: write the date as YYYY-MM-DD, such as 2023-01-05, not '05/01/2023'",
        id="date-not-iso",
    ),
    pytest.param(
        article_line(published_on="2023-02-30"),
        "line 2: published_on: Enter a real date written YYYY-MM-DD, such as 2023-01-05.",
        id="impossible-date",
    ),
    pytest.param(article_line(url="not a url"), "line 2: url: Enter a valid URL.", id="bad-url"),
    pytest.param(
        article_line(language="English"),
        "line 2: language: Use a BCP 47 language tag, such as en, he or pt-BR.",
        id="bad-language",
    ),
    pytest.param(
        {**article_line(), "titel": "Typo"}, 'line 2: unknown field "titel" (did you mean "title"?)', id="unknown-field"
    ),
    pytest.param(
        article_line(metadata=["a", "b"]),
        'line 2: metadata: must be a JSON object such as {"section": "world"}, not an array',
        id="metadata-not-an-object",
    ),
    pytest.param(
        article_line(text="before\u0000after"), "line 2: text: Null characters are not allowed.", id="nul-in-text"
    ),
    pytest.param(
        article_line(metadata={"note": "a\u0000b"}),
        "line 2: metadata: contains a NUL character (\\u0000), which the database can't store",
        id="nul-in-metadata",
    ),
    pytest.param(article_line(title=1984), "line 2: title: must be a string, not a number", id="title-not-a-string"),
    pytest.param('["title", "text"]', "line 2: each line must be a JSON object ({...}), not an array", id="array-line"),
    pytest.param(
        '{"title": "x", "title": "y", "text": "z"}',
        'line 2: not valid JSON (the key "title" appears twice)',
        id="duplicate-key",
    ),
    pytest.param(
        '{"title": "x", "text": "z", "metadata": {"score": NaN}}',
        "line 2: not valid JSON (NaN is not a JSON value)",
        id="nan",
    ),
    pytest.param(
        '{"title": "x", "text": "half an emoji \\ud83d"}',
        "line 2: text: contains half of a UTF-16 surrogate pair (\\ud83d) at character 14; "
        "the text was cut in the middle of an emoji or another character beyond U+FFFF",
        id="lone-surrogate",
    ),
    pytest.param(
        article_line(text="x" * (MAX_ARTICLE_CHARS + 1)),
        f"line 2: text: The article is {MAX_ARTICLE_CHARS + 1:,} characters long; the limit is {MAX_ARTICLE_CHARS:,}.",
        id="too-long",
    ),
]


@pytest.mark.parametrize(("bad_line", "message"), REFUSED_LINES)
def test_a_good_line_followed_by_a_bad_one_writes_nothing_and_names_the_bad_line(bad_line, message):
    report = import_articles(jsonl(numbered(1)[0], bad_line), "jsonl")

    assert not report.ok
    assert messages(report) == [message]
    assert report.created == 0
    assert Article.objects.count() == 0


def test_every_bad_line_is_named_in_file_order():
    report = import_articles(
        jsonl(article_line(title=""), numbered(1)[0], "{", article_line(text="", url="ftp:/x")), "jsonl"
    )

    assert messages(report) == [
        "line 1: title: Give the article a title.",
        "line 3: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        "line 4: url: Enter a valid URL.",
        "line 4: text: The article text is empty.",
    ]


def test_a_non_utf8_file_is_refused_with_the_line_of_the_bad_byte():
    content = "title,text\nFine,Fine.\nCaf\u00e9,Latin-1 text.\n".encode("latin-1")

    report = import_articles(content, "csv")

    assert messages(report) == [
        "line 3: not valid UTF-8 (byte 0xE9 at byte 4 of the line); save the file as UTF-8 and import it again"
    ]
    assert Article.objects.count() == 0


def test_a_nul_byte_in_a_text_file_refuses_it():
    report = import_articles(b"Title\nbody \x00 more", "txt")

    assert messages(report) == ["text: Null characters are not allowed."]
    assert Article.objects.count() == 0


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "txt"])
@pytest.mark.parametrize("content", [b"", b"\n  \r\n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_refused(fmt, content):
    assert messages(import_articles(content, fmt)) == ["the file is empty"]


def test_a_csv_file_with_only_a_header_imports_nothing_and_is_fine():
    report = import_articles(b"title,text\n", "csv")

    assert (report.ok, report.created) == (True, 0)


def test_csv_problems_name_the_physical_line_counting_the_header_as_line_1():
    content = (
        b"title,text,published_on,metadata\n"
        b'Good,"A text\nover two lines",2023-01-05,\n'
        b"Bad date,Body,05/01/2023,\n"
        b",No title,,\n"
        b'Meta,Body two,,"[1, 2]"\n'
        b'Meta,Body three,,"{oops"\n'
        b"Short row\n"
    )

    report = import_articles(content, "csv")

    assert messages(report) == [
        "line 4: published_on: write the date as YYYY-MM-DD, such as 2023-01-05, not '05/01/2023'",
        "line 5: title: Give the article a title.",
        'line 6: metadata: must be a JSON object such as {"section": "world"}, not an array',
        "line 7: metadata: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        "line 8: has 1 cells but the header names 4 columns; check for a missing comma or an unclosed quote",
    ]
    assert Article.objects.count() == 0


def test_a_csv_header_with_an_unknown_or_missing_column_is_refused_once():
    report = import_articles(b"Title,body\nA,B\nC,D\n", "csv")

    assert messages(report) == [
        'line 1: unknown column "Title" (did you mean "title"?)',
        'line 1: unknown column "body" (the columns are title, outlet, url, published_on, language, text, metadata)',
        'line 1: the header has no "title" column; the columns are title, outlet, url, published_on, language, '
        "text, metadata",
        'line 1: the header has no "text" column; the columns are title, outlet, url, published_on, language, '
        "text, metadata",
    ]


@pytest.mark.parametrize(
    "text",
    ["", "  \n ", "a\u0000b", "x" * (MAX_ARTICLE_CHARS + 1), "fine"],
    ids=["empty", "blank", "nul", "too-long", "fine"],
)
def test_the_import_form_refuses_texts_exactly_as_the_browser_form_does(text):
    data = {"title": "T", "language": "en", "text": text}

    assert ImportArticleForm(data=data).errors.get("text") == ArticleForm(data=data).errors.get("text")


def test_a_progress_tracker_sees_every_article_and_every_batch():
    seen = []

    def track(items, total, description):
        seen.append((description, total))
        return items

    import_articles(jsonl(*numbered(5)), "jsonl", track=track, batch_size=2)

    assert seen == [("checking", 5), ("writing", 3)]


# --- The form's rules hold for every line of a long file ------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": "x" * 501}, "title: Ensure this value has at most 500 characters (it has 501)."),
        ({"language": "e" * 36}, "language: Ensure this value has at most 35 characters (it has 36)."),
        ({"language": "en_US"}, "language: Use a BCP 47 language tag, such as en, he or pt-BR."),
        (
            {"url": "https://example.org/" + "a" * 1000},
            "url: Ensure this value has at most 1000 characters (it has 1020).",
        ),
        ({"outlet": "a\u0000b"}, "outlet: Null characters are not allowed."),
        ({"title": "\u0000"}, "title: Null characters are not allowed."),
    ],
)
def test_a_bad_line_among_good_ones_is_refused_in_the_forms_words(changes, message):
    records = numbered(6)
    records[3] = article_line(**{"text": "Fourth.", "url": "", **changes})

    report = import_articles(jsonl(*records), "jsonl")

    assert messages(report) == [f"line 4: {message}"]
    assert Article.objects.count() == 0


@pytest.mark.parametrize(
    "changes",
    [
        {"title": "  Many \t spaces\n here "},
        {"url": "example.org/news?a=1"},
        {"url": " https://example.org/x "},
        {"text": " \r\n body\r\n "},
        {"language": "pt-BR", "outlet": "  Haaretz  ", "published_on": ""},
    ],
)
def test_an_imported_article_holds_what_the_browser_form_would_store(changes):
    record = article_line(**changes)
    form = ImportArticleForm(data={name: record[name] for name in ImportArticleForm.Meta.fields})
    assert form.is_valid(), form.errors

    assert import_articles(jsonl(record), "jsonl").ok

    stored = Article.objects.get()
    assert {name: getattr(stored, name) for name in form.Meta.fields} == {
        name: getattr(form.instance, name) for name in form.Meta.fields
    }


def test_a_non_utf8_jsonl_file_is_refused_before_any_line_is_read_as_json():
    content = b"{not json\n" + jsonl(numbered(1)[0]) + b'\n{"title": "Caf\xe9", "text": "x"}\n'

    report = import_articles(content, "jsonl")

    assert messages(report) == [
        "line 3: not valid UTF-8 (byte 0xE9 at byte 15 of the line); save the file as UTF-8 and import it again"
    ]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "txt"])
def test_a_file_of_unicode_spaces_is_empty(fmt):
    assert messages(import_articles("\u00a0\n\u2003\r\n".encode(), fmt)) == ["the file is empty"]


def test_imported_articles_get_their_creation_time():
    before = timezone.now()

    import_articles(jsonl(*numbered(3)), "jsonl")

    assert all(before <= created <= timezone.now() for created in Article.objects.values_list("created_at", flat=True))


def test_on_postgresql_the_articles_are_written_with_copy():
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's; SQLite gets bulk_create")
    with CaptureQueriesContext(connection) as captured:
        import_articles(jsonl(*numbered(5)), "jsonl", batch_size=2)

    assert [query["sql"] for query in captured if query["sql"].startswith("COPY")] == [
        'COPY "annotations_article" ("title", "outlet", "url", "published_on", "language", "text", "text_sha256", '
        '"metadata", "status", "pool", "annotators_needed", "created_by_id", "created_at") FROM STDIN'
    ] * 3
    assert Article.objects.count() == 5


# --- Duplicates: skipped and listed, not refused -------------------------------


def test_an_article_whose_text_is_already_stored_is_skipped_not_refused():
    existing = ArticleFactory(text="Caf\u00e9 talks resumed.")
    records = [*numbered(1), article_line(text="Cafe\u0301 talks resumed.\r\n", url="")]

    report = import_articles(jsonl(*records), "jsonl")

    assert report.ok
    assert report.created == 1
    assert report.skipped == [LineNote(2, f"skipped: article {existing.pk} already has exactly this text")]
    assert Article.objects.count() == 2


def test_an_article_whose_url_is_already_stored_is_skipped():
    existing = ArticleFactory(url="https://example.org/1")

    report = import_articles(jsonl(*numbered(2)), "jsonl")

    assert report.created == 1
    assert [str(note) for note in report.skipped] == [
        f"line 1: skipped: article {existing.pk} already has the URL https://example.org/1"
    ]


def test_duplicates_within_one_file_keep_the_first_and_skip_the_rest():
    first, second = numbered(2)
    records = [first, second, article_line(text=first["text"], url=""), article_line(url=second["url"], text="New.")]

    report = import_articles(jsonl(*records), "jsonl")

    assert report.ok
    assert report.created == 2
    assert [str(note) for note in report.skipped] == [
        "line 3: skipped: same text as line 1",
        "line 4: skipped: same URL as line 2",
    ]
    assert set(Article.objects.values_list("title", flat=True)) == {"Article 1", "Article 2"}


def test_importing_the_same_file_twice_skips_everything_the_second_time():
    content = jsonl(*numbered(3))
    import_articles(content, "jsonl")

    again = import_articles(content, "jsonl")

    assert (again.ok, again.created, len(again.skipped)) == (True, 0, 3)
    assert Article.objects.count() == 3


def test_a_duplicate_stored_while_the_import_runs_refuses_the_file_and_writes_nothing(monkeypatch):
    ArticleFactory(text="Story number 2.")
    # As if another import stored it between the duplicate lookup and the insert.
    monkeypatch.setattr("annotations.importers._stored", lambda field_name, values: {})

    report = import_articles(jsonl(*numbered(3)), "jsonl")

    assert not report.ok
    assert report.created == 0
    assert len(report.errors) == 1
    assert str(report.errors[0]).startswith("the database refused the articles")
    assert "import it again" in str(report.errors[0])
    assert Article.objects.count() == 1


def test_the_number_of_queries_does_not_grow_with_the_number_of_articles():
    def queries_for(records: list[dict[str, object]]) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert import_articles(jsonl(*records), "jsonl").ok
        return len(captured)

    small = queries_for(numbered(3))
    Article.objects.all().delete()
    large = queries_for(numbered(300))

    assert large <= small + 1  # one more INSERT batch at most, never one query per line


# --- Format inference -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("news.jsonl", "jsonl"),
        ("NEWS.NDJSON", "jsonl"),
        ("dump.csv", "csv"),
        ("article.txt", "txt"),
        ("path/to/a.b.csv", "csv"),
        ("news.json", None),
        ("README", None),
    ],
)
def test_the_format_is_inferred_from_the_file_extension(name, fmt):
    assert format_from_filename(name) == fmt


# --- The command --------------------------------------------------------------------


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_articles", *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_imports_files_and_reports_what_it_did(tmp_path):
    ArticleFactory(url="https://example.org/2")
    (tmp_path / "news.jsonl").write_bytes(jsonl(*numbered(3)))
    (tmp_path / "call.txt").write_text("A call\n\nThe ministers spoke.", encoding="utf-8")

    out, err = run(str(tmp_path / "news.jsonl"), str(tmp_path / "call.txt"), "--outlet", "Haaretz")

    assert f"{tmp_path / 'news.jsonl'}: imported 2 articles, skipped 1 duplicate." in out
    assert "  line 2: skipped: article" in out
    assert f"{tmp_path / 'call.txt'}: imported 1 article." in out
    assert err == ""
    assert Article.objects.get(title="A call").outlet == "Haaretz"


def test_the_command_refuses_a_bad_file_with_a_non_zero_exit_and_names_its_lines(tmp_path):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.jsonl"
    good.write_text("title,text\nKept,Kept body.\n", encoding="utf-8")
    bad.write_bytes(jsonl(numbered(1)[0], article_line(title=" ", text="Another.")))
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match=r"1 of 2 files refused; nothing was imported from .*bad\.jsonl"):
        call_command("import_articles", str(good), str(bad), "--no-progress", stdout=out, stderr=err)

    assert f"{bad}: refused, nothing imported (1 problem):" in err.getvalue()
    assert "  line 2: title: Give the article a title." in err.getvalue()
    assert list(Article.objects.values_list("title", flat=True)) == ["Kept"]


def test_the_format_option_overrides_the_extension(tmp_path):
    path = tmp_path / "export.data"
    path.write_bytes(jsonl(*numbered(2)))

    out, _ = run(str(path), "--format", "jsonl")

    assert "imported 2 articles" in out


def test_a_file_whose_format_cant_be_inferred_stops_the_command_before_any_import(tmp_path):
    (tmp_path / "first.jsonl").write_bytes(jsonl(*numbered(1)))
    (tmp_path / "second.json").write_bytes(jsonl(*numbered(1)))

    with pytest.raises(CommandError, match=r"Can't tell the format of .*second\.json"):
        run(str(tmp_path / "first.jsonl"), str(tmp_path / "second.json"))

    assert Article.objects.count() == 0


def test_a_csv_read_as_text_with_format_txt_is_one_article(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("title,text\nA,B\n", encoding="utf-8")

    run(str(path), "--format", "txt")

    assert Article.objects.get().text == "title,text\nA,B"


def test_the_command_records_the_user_as_creator(tmp_path, analyst):
    path = tmp_path / "news.jsonl"
    path.write_bytes(jsonl(*numbered(2)))

    run(str(path), "--user", "analyst")

    assert set(Article.objects.values_list("created_by", flat=True)) == {analyst.pk}


def test_an_unknown_user_stops_the_command(tmp_path):
    path = tmp_path / "news.jsonl"
    path.write_bytes(jsonl(*numbered(1)))

    with pytest.raises(CommandError, match="There is no user named 'nobody'"):
        run(str(path), "--user", "nobody")

    assert Article.objects.count() == 0


def test_a_missing_file_is_refused_and_the_others_still_imported(tmp_path):
    present = tmp_path / "present.jsonl"
    present.write_bytes(jsonl(*numbered(1)))
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match="1 of 2 files refused"):
        call_command(
            "import_articles", str(tmp_path / "absent.jsonl"), str(present), "--no-progress", stdout=out, stderr=err
        )

    assert "absent.jsonl: can't read the file (No such file or directory)." in err.getvalue()
    assert Article.objects.count() == 1


def test_a_non_utf8_file_gets_a_clear_error_from_the_command_not_a_traceback(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("Titre\nL'\u00e9t\u00e9 diplomatique.".encode("latin-1"))
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_articles", str(path), stdout=out, stderr=err)

    assert "line 2: not valid UTF-8 (byte 0xE9 at byte 3 of the line)" in err.getvalue()


@pytest.mark.parametrize(
    ("option", "value", "complaint"),
    [
        ("--published-on", "5 Jan 2023", "write the date as YYYY-MM-DD"),
        ("--published-on", "2023-02-30", "day is out of range for month"),
        ("--language", "English", "Use a BCP 47 language tag"),
    ],
)
def test_a_bad_default_option_is_refused_before_reading_any_file(tmp_path, option, value, complaint):
    path = tmp_path / "news.jsonl"
    path.write_bytes(jsonl(*numbered(1)))

    with pytest.raises(CommandError, match=complaint):
        run(str(path), option, value)

    assert Article.objects.count() == 0


def test_the_stored_hash_is_the_hash_of_the_normalised_text():
    import_articles(jsonl(article_line(text="  A\r\nB\u0301  ")), "jsonl")

    article = Article.objects.get()
    assert article.text_sha256 == Article.hash_text(normalise_text("A\r\nB\u0301".strip()))
