"""The API refuses hostile and careless input by name, in JSON, never with a 500.

One test (at least) per class of issue 11: deep nesting, duplicate keys and
NaN, bad header bytes, bodies over the size limit, unknown and read-only body
fields, article metadata, JSON errors under /api/, If-Match, page_size, BOMs
and Unicode normalisation. ``tests/test_security_fuzz.py`` sends the same
classes to every route; these pin the answers.
"""

from __future__ import annotations

import json
import unicodedata

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from annotations.models import Article, Quote, Release
from annotations.offsets import check_span, normalise_text
from annotations.parsers import MAX_JSON_DEPTH, check_json_depth, json_depth

from .factories import ArticleFactory, AssignmentFactory, QuoteFactory
from .test_api_support import api_client, token_for

TEXT = "Intro. The minister said: “we will act.”"


@pytest.fixture
def api():
    return api_client


@pytest.fixture
def mine(analyst):
    article = ArticleFactory(text=TEXT, pool=False)
    AssignmentFactory(article=article, annotator=analyst)
    return article


def post_json(user, path: str, body: bytes | str, **extra: str):
    client = Client()
    if user is not None:
        extra.setdefault("HTTP_AUTHORIZATION", f"Token {token_for(user)}")
    return client.post(path, body, content_type="application/json", **extra)


# --- Nesting, duplicate keys, NaN ---------------------------------------------------------------


def test_depth_is_counted_from_brackets_outside_strings():
    assert json_depth('{"a": [1, {"b": "[[[[{{{{"}]}') == 3
    assert json_depth('"\\"[[["') == 0
    assert json_depth("[]") == 1
    assert check_json_depth("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is None
    assert "65 levels" in check_json_depth("[" * 65 + "]" * 65)


@pytest.mark.parametrize("opening, closing", [("[", "]"), ('{"a":', "}")])
@pytest.mark.parametrize("path", ["/api/v1/articles/", "/api/v1/quotes/", "/api/v1/releases/"])
def test_deeply_nested_json_is_a_400_naming_the_limit(reviewer, path, opening, closing):
    body = opening * 20_000 + "1" + closing * 20_000
    response = post_json(reviewer, path, body)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "limit is 64" in response.json()["detail"]


def test_nesting_at_the_limit_is_read(reviewer):
    metadata = json.dumps({"a": 1})
    for _ in range(MAX_JSON_DEPTH - 2):
        metadata = f'{{"a": {metadata}}}'
    body = f'{{"title": "Deep", "text": "Deep metadata.", "metadata": {metadata}}}'
    assert json_depth(body) == MAX_JSON_DEPTH
    response = post_json(reviewer, "/api/v1/articles/", body)
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    "body, named",
    [
        ('{"title": "a", "title": "b", "text": "x"}', '"title" appears twice'),
        ('{"title": "a", "text": "x", "metadata": {"n": NaN}}', "NaN"),
        ('{"title": "a", "text": "x", "metadata": {"n": Infinity}}', "Infinity"),
        ('{"title": "a", "text": "x", "metadata": {"n": -Infinity}}', "-Infinity"),
        ('{"title": "a", "text": "x", "metadata": {"n": 1e999}}', "1e999"),
    ],
)
def test_duplicate_keys_nan_and_infinity_are_refused_by_name(reviewer, body, named):
    response = post_json(reviewer, "/api/v1/articles/", body)
    assert response.status_code == 400
    assert named in response.json()["detail"]
    assert not Article.objects.exists()


def test_a_body_that_is_not_utf8_is_a_400_saying_so(reviewer):
    response = post_json(reviewer, "/api/v1/articles/", b'{"title": "\xff", "text": "x"}')
    assert response.status_code == 400
    assert "not UTF-8" in response.json()["detail"]


def test_a_message_echoing_half_a_surrogate_pair_still_renders(analyst, mine):
    body = json.dumps({"article": mine.pk, "start": 0, "end": 5, "text": "Intro", "kind": "\ud800"})
    response = post_json(analyst, "/api/v1/quotes/", body)
    assert response.status_code == 400
    assert "kind" in response.json()


# --- Headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["Token abc\xe9", "Token \xff\xfe", "Token é" + "a" * 100])
def test_a_token_that_is_not_ascii_is_a_401_like_any_bad_token(db, header):
    response = Client().get("/api/v1/quotes/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["detail"].startswith("Invalid token")


# --- Size -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/articles/", "/api/v1/quotes/"])
def test_a_body_over_the_limit_is_a_json_413_saying_the_limit(reviewer, path, settings):
    body = json.dumps({"title": "Big", "text": "x" * (6 * 1024 * 1024)})
    response = post_json(reviewer, path, body)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes" in response.json()["detail"]
    assert not Article.objects.exists()


def test_a_page_sent_a_body_over_the_limit_answers_413_too(login, analyst):
    response = login(analyst).post("/articles/new/", {"title": "Big", "text": "x" * (6 * 1024 * 1024)})
    assert response.status_code == 413
    assert "bytes" in response.content.decode()


# --- Unknown and read-only body fields ------------------------------------------------------------


def test_a_misspelt_field_is_refused_with_a_guess(analyst, mine, api):
    body = {"article": mine.pk, "start": 0, "end": 5, "text": "Intro", "speakr": 1, "stance": []}
    response = api(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert 'did you mean "speaker"' in errors["speakr"][0]
    assert 'did you mean "stances"' in errors["stance"][0]
    assert not Quote.objects.exists()


def test_unknown_fields_inside_stances_and_spans_are_refused(analyst, mine, api):
    body = {
        "article": mine.pk,
        "start": 0,
        "end": 5,
        "text": "Intro",
        "mention": {"start": 0, "end": 5, "text": "Intro", "kind": "x"},
        "stances": [{"target": "t", "label": "l", "intensty": 2}],
    }
    response = api(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert "kind" in errors["mention"]
    assert "intensty" in json.dumps(errors["stances"])


def test_a_patch_with_a_read_only_field_is_refused_and_changes_nothing(analyst, mine, api):
    quote = QuoteFactory(article=mine, annotator=analyst, start=0, end=5)
    response = api(analyst).patch(
        f"/api/v1/quotes/{quote.pk}/", {"kind": "indirect", "version": 9}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 400
    assert "read-only" in response.json()["version"][0].lower()
    quote.refresh_from_db()
    assert (quote.kind, quote.version) == ("direct", 1)


def test_unknown_article_and_release_fields_are_refused(reviewer, api):
    client = api(reviewer)
    response = client.post("/api/v1/articles/", {"title": "T", "text": "x", "status": "curated"}, format="json")
    assert response.status_code == 400
    assert "status" in response.json()
    response = client.post("/api/v1/releases/", {"name": "v9", "notes": "typo"}, format="json")
    assert response.status_code == 400
    assert 'did you mean "note"' in response.json()["notes"][0]
    assert not Article.objects.exists() and not Release.objects.exists()


def test_an_unknown_field_in_the_span_import_form_is_refused(analyst, api):
    upload = SimpleUploadedFile("spans.jsonl", b'{"text": "x", "label": []}\n')
    response = api(analyst).post(
        "/api/v1/quotes/import/", {"file": upload, "format": "doccano", "fromat": "x"}, format="multipart"
    )
    assert response.status_code == 400
    assert "fromat" in response.json()


# --- Article metadata and BOM -------------------------------------------------------------------


def test_article_metadata_sent_through_the_api_is_stored(reviewer, api):
    body = {"title": "With metadata", "text": "Some text.", "metadata": {"section": "world", "wire": ["AP"]}}
    response = api(reviewer).post("/api/v1/articles/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["metadata"] == {"section": "world", "wire": ["AP"]}
    assert Article.objects.get().metadata == {"section": "world", "wire": ["AP"]}


@pytest.mark.parametrize("metadata", ["[1, 2]", '"section=world"', "5", '{"note": "a\\u0000b"}', '{"x": "\\ud800"}'])
def test_article_metadata_is_validated_as_the_upload_page_does(reviewer, metadata):
    body = f'{{"title": "Bad metadata", "text": "Some text.", "metadata": {metadata}}}'
    response = post_json(reviewer, "/api/v1/articles/", body)
    assert response.status_code == 400
    assert "metadata" in response.json()
    assert not Article.objects.exists()


def test_a_leading_bom_in_article_text_is_dropped_through_the_api(reviewer, api):
    response = api(reviewer).post("/api/v1/articles/", {"title": "BOM", "text": "\ufeffHello."}, format="json")
    assert response.status_code == 201
    assert Article.objects.get().text == "Hello."


def test_a_leading_bom_in_article_text_is_dropped_on_the_paste_form(login, analyst):
    response = login(analyst).post("/articles/new/", {"title": "BOM", "text": "\ufeffHello.", "language": "en"})
    assert response.status_code == 302
    assert Article.objects.get().text == "Hello."


def test_normalise_text_drops_only_a_leading_bom():
    assert normalise_text("\ufeffa\ufeffb\r\n") == "a\ufeffb\n"


# --- Errors under /api/ are JSON ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/quotes/abc/", "/api/v1/nothing/", "/api/v2/quotes/", "/api/"])
def test_a_path_no_route_matches_is_a_json_404(analyst, path):
    response = Client().get(path, HTTP_AUTHORIZATION=f"Token {token_for(analyst)}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "schema" in response.json()["detail"]


@pytest.mark.parametrize("method", ["TRACE", "PUT", "OPTIONS"])
def test_an_unsupported_method_is_a_json_405(analyst, method):
    response = Client().generic(method, "/api/v1/speakers/", HTTP_AUTHORIZATION=f"Token {token_for(analyst)}")
    if method == "OPTIONS":  # DRF answers OPTIONS with the endpoint's metadata
        assert response.status_code == 200
        return
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"


# --- If-Match -------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ['"99999999999"', '"99999999999999999999999999999"', 'W/"0"', "2"])
def test_a_well_formed_version_that_is_not_current_is_a_412(analyst, mine, api, header):
    quote = QuoteFactory(article=mine, annotator=analyst, start=0, end=5)
    response = api(analyst).patch(
        f"/api/v1/quotes/{quote.pk}/", {"kind": "indirect"}, format="json", HTTP_IF_MATCH=header
    )
    assert response.status_code == 412
    assert response.json()["current_version"] == 1


@pytest.mark.parametrize("header", ['"abc"', '"-1"', '"\xe9"', '"1", "2"'])
def test_a_malformed_if_match_is_a_400(analyst, mine, api, header):
    quote = QuoteFactory(article=mine, annotator=analyst, start=0, end=5)
    response = api(analyst).patch(
        f"/api/v1/quotes/{quote.pk}/", {"kind": "indirect"}, format="json", HTTP_IF_MATCH=header
    )
    assert response.status_code == 400


def test_the_current_version_with_leading_zeros_still_matches(analyst, mine, api):
    quote = QuoteFactory(article=mine, annotator=analyst, start=0, end=5)
    response = api(analyst).patch(
        f"/api/v1/quotes/{quote.pk}/", {"kind": "indirect"}, format="json", HTTP_IF_MATCH='"001"'
    )
    assert response.status_code == 200


# --- page_size ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["0", "501", "-1", "abc", "1e3", "٣"])
def test_a_page_size_outside_1_to_500_is_refused_naming_the_maximum(researcher, api, size):
    response = api(researcher).get(f"/api/v1/speakers/?page_size={size}")
    assert response.status_code == 400
    assert "500" in response.json()["page_size"][0]


def test_the_schema_and_the_paginator_agree_on_the_maximum(researcher, api):
    schema = Client().get("/api/schema/?format=json")
    assert schema.status_code == 200
    assert api(researcher).get("/api/v1/speakers/?page_size=500").status_code == 200


# --- Unicode normalisation ------------------------------------------------------------------------


def test_a_span_in_decomposed_form_is_refused_saying_what_differs():
    text = unicodedata.normalize("NFC", "Le ministre a parlé à Téhéran.")
    start = text.index("parlé")
    decomposed = unicodedata.normalize("NFD", "parlé")
    with pytest.raises(ValidationError) as caught:
        check_span(text, start, start + len("parlé"), decomposed)
    message = caught.value.messages[0]
    assert "the article uses composed characters (NFC)" in message
    assert "your text uses decomposed ones (NFD)" in message
    assert "at these offsets it then matches" in message


def test_a_decomposed_quote_through_the_api_gets_the_normalisation_message(analyst, api):
    article = ArticleFactory(text="Il a dit: « Téhéran doit cesser. »", pool=False)
    AssignmentFactory(article=article, annotator=analyst)
    start = article.text.index("Téhéran")
    body = {
        "article": article.pk,
        "start": start,
        "end": start + len("Téhéran"),
        "text": unicodedata.normalize("NFD", "Téhéran"),
    }
    response = api(analyst).post("/api/v1/quotes/", body, format="json")
    assert response.status_code == 400
    assert "decomposed ones (NFD)" in json.dumps(response.json(), ensure_ascii=False)
