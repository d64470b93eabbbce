"""A release is citable: its datasheet (the sections of "Datasheets for Datasets",
filled from the data), CITATION.cff and release.bib, inside its files and on the
API, each file with its checksum."""

# Shared fixtures are imported from test_api_support by name, which pyflakes
# reads as unused imports shadowed by the test arguments.
# ruff: noqa: F401, F811

from __future__ import annotations

import datetime
import hashlib
import re

import pytest
import yaml

from annotations import services
from annotations.models import Assignment, Release, StanceLabel

from .factories import AssignmentFactory, QuoteFactory, StanceFactory, StanceLabelFactory, TargetFactory
from .test_api_support import api, curated_article, curated_quote, isolated_media

pytestmark = pytest.mark.django_db

DATASHEET_SECTIONS = [
    "## Motivation",
    "## Composition",
    "## Collection process",
    "## Preprocessing, cleaning and labeling",
    "## Uses",
    "## Distribution",
    "## Maintenance",
]


@pytest.fixture
def known(analyst, second_analyst):
    """Two curated articles, three curated quotes, three stances; one article double-coded.

    en, Example Times, 2023-01: two quotes (support T1; oppose T1 and support T2).
    he, Haaretz, 2023-02: one indirect quote without a stance.
    """
    support = StanceLabelFactory(slug="support", definition="Endorses the target.", order=1)
    oppose = StanceLabelFactory(slug="oppose", definition="Rejects | the target.", order=2)
    one, two = TargetFactory(name="Iran acquiring nuclear weapons"), TargetFactory(name="Return to the JCPOA")
    english = curated_article(language="en", outlet="Example Times", published_on=datetime.date(2023, 1, 5))
    hebrew = curated_article(language="he", outlet="Haaretz", published_on=datetime.date(2023, 2, 10))
    StanceFactory(quote=curated_quote(article=english), target=one, label=support)
    both = curated_quote(article=english, start=2, end=40)
    StanceFactory(quote=both, target=one, label=oppose)
    StanceFactory(quote=both, target=two, label=support)
    curated_quote(article=hebrew, kind="indirect")
    # The English article was coded by two analysts, who agree exactly on one quote.
    for annotator in (analyst, second_analyst):
        AssignmentFactory(article=english, annotator=annotator, status=Assignment.Status.SUBMITTED)
        StanceFactory(quote=QuoteFactory(article=english, annotator=annotator), target=one, label=support)
    return {"english": english, "hebrew": hebrew}


def release_of(reviewer, **kwargs) -> Release:
    kwargs.setdefault("base_url", "https://demarche.example.org/")
    return services.build_release(name="v1.0", note="First release.", filters={}, user=reviewer, **kwargs)


def test_the_datasheet_has_every_section_and_the_right_counts(known, reviewer):
    datasheet = release_of(reviewer).datasheet
    positions = [datasheet.index(section) for section in DATASHEET_SECTIONS]
    assert positions == sorted(positions)
    assert "3 curated quotes from 2 articles" in datasheet
    for row in [
        "| Support | 2 | 2 |",  # label: stances, quotes
        "| Oppose | 1 | 1 |",
        "| Iran acquiring nuclear weapons | 2 | 2 |",  # target: stances, quotes
        "| Return to the JCPOA | 1 | 1 |",
        "| direct | 2 | 1 |",  # kind: quotes, articles
        "| indirect | 1 | 1 |",
        "| en | 2 | 1 |",  # language
        "| he | 1 | 1 |",
        "| Example Times | 2 | 1 |",  # outlet
        "| Haaretz | 1 | 1 |",
        "| 2023-01 | 2 | 1 |",  # month
        "| 2023-02 | 1 | 1 |",
        "| 0 | 1 |",  # annotators per article: the Hebrew one was curated without coders
        "| 2 | 1 |",
        "| Span F1, exact | 1.000 |",  # the two analysts' identical quotes
        "| Stance α (Krippendorff, nominal) | not computable |",  # one label throughout
        "| Support | support | NONE | Endorses the target. |",
        "| Oppose | oppose | NONE | Rejects \\| the target. |",  # a | can't break the table
    ]:
        assert row in datasheet, row
    assert "Licence: CC-BY-4.0" in datasheet
    assert "## Changes\n\nFirst release." in datasheet
    assert "None: every curated quote the releasing reviewer could read." in datasheet


def test_the_datasheet_states_the_exact_filter_that_made_the_release(known, reviewer):
    release = services.build_release(name="en", note="", filters={"outlet": "Example Times"}, user=reviewer)
    assert release.quote_count == 2
    assert "- `outlet` = `Example Times`" in release.datasheet
    assert "`GET /api/v1/quotes/?outlet=Example+Times`" in release.datasheet
    assert "| Haaretz |" not in release.datasheet


def test_the_files_of_a_release_include_its_datasheet_and_citations_each_with_its_checksum(known, reviewer):
    release = release_of(reviewer)
    files = {file.format: file for file in release.files.all()}
    assert set(files) == {*services.RELEASE_FORMATS, "datasheet", "cff", "bibtex"}
    for file in files.values():
        with file.file.open("rb") as handle:
            data = handle.read()
        assert hashlib.sha256(data).hexdigest() == file.sha256, file.format
        assert len(data) == file.size, file.format
    assert files["datasheet"].file.name.endswith("/DATASHEET.md")
    assert files["cff"].file.name.endswith("/CITATION.cff")
    assert files["bibtex"].file.name.endswith("/release.bib")
    for fmt, text in [("datasheet", release.datasheet), ("cff", release.citation), ("bibtex", release.bibtex)]:
        with files[fmt].file.open("rb") as handle:
            assert handle.read().decode() == text
    # The release's checksum is its JSONL file's, and the datasheet pins every data file.
    assert release.sha256 == files["jsonl"].sha256
    for fmt in services.RELEASE_FORMATS:
        assert f"| {fmt} | {files[fmt].size} | `{files[fmt].sha256}` |" in release.datasheet


def cff_keys(text: str) -> dict[str, str]:
    """The top-level keys of a CFF file, read without YAML: ``key: value`` at column 0."""
    return dict(re.findall(r"^([a-z-]+):(?: (.*))?$", text, re.M))


def test_the_citation_file_is_valid_cff_1_2_0(known, reviewer, settings):
    settings.DATASET_AUTHORS = ["Doe, Jane", 'The "Demarche" team \\ R&D']
    release = release_of(reviewer)
    keys = cff_keys(release.citation)
    assert {"cff-version", "message", "title", "version", "date-released", "authors", "license", "url"} <= set(keys)
    assert keys["cff-version"] == "1.2.0"
    cff = yaml.safe_load(release.citation)
    assert cff["cff-version"] == "1.2.0"
    assert cff["message"]
    assert cff["type"] == "dataset"
    assert cff["title"].startswith("Demarche release v1.0")
    assert cff["version"] == "v1.0"
    assert cff["date-released"] == release.created_at.date()
    assert cff["authors"] == [{"family-names": "Doe", "given-names": "Jane"}, {"name": 'The "Demarche" team \\ R&D'}]
    assert cff["license"] == "CC-BY-4.0"
    assert cff["url"] == f"https://demarche.example.org/api/v1/releases/{release.pk}/"
    assert cff["identifiers"] == [
        {"type": "other", "value": f"sha256:{release.sha256}", "description": "SHA-256 of the release's JSONL file"}
    ]


def test_without_dataset_authors_the_reviewer_is_the_author_and_dataset_url_wins(known, reviewer, settings):
    reviewer.first_name, reviewer.last_name = "Ruth", "Reviewer"
    reviewer.save()
    settings.DATASET_URL = "https://data.example.org"
    settings.DATASET_LICENSE = "CC0-1.0"
    cff = yaml.safe_load(release_of(reviewer).citation)
    assert cff["authors"] == [{"name": "Ruth Reviewer"}]
    assert cff["url"].startswith("https://data.example.org/api/v1/releases/")
    assert cff["license"] == "CC0-1.0"


def test_without_a_known_address_the_citation_has_no_url(known, reviewer):
    release = release_of(reviewer, base_url="")
    assert "url" not in yaml.safe_load(release.citation)
    assert "url =" not in release.bibtex


def test_the_bibtex_entry_has_its_fields_and_escapes_names(known, reviewer, settings):
    settings.DATASET_AUTHORS = ["Doe, Jane", "R&D Lab_1"]
    release = release_of(reviewer)
    bib = release.bibtex
    assert bib.startswith("@misc{demarche-v1-0,\n")
    fields = dict(re.findall(r"^  ([a-z]+) = \{(.*)\},?$", bib, re.M))
    assert fields["title"] == "{Demarche release v1.0: quotes, speakers and stances in diplomatic news}"
    assert fields["author"] == "Doe, Jane and {R\\&D Lab\\_1}"
    assert fields["year"] == f"{release.created_at:%Y}"
    assert fields["version"] == "v1.0"
    assert fields["url"] == f"https://demarche.example.org/api/v1/releases/{release.pk}/"
    assert release.sha256 in fields["note"] and "CC-BY-4.0" in fields["note"]
    assert bib.count("{") == bib.count("}")


def test_the_api_shows_the_citations_and_serves_them_as_files(known, reviewer, researcher, api):
    response = api(reviewer).post("/api/v1/releases/", {"name": "v2"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    release = Release.objects.get(name="v2")
    assert body["citation"] == release.citation and body["bibtex"] == release.bibtex
    assert yaml.safe_load(body["citation"])["url"] == f"http://testserver/api/v1/releases/{release.pk}/"
    urls = {file["format"]: file["url"] for file in body["files"]}
    for fmt, filename, media_type, text in [
        ("cff", "CITATION.cff", "application/yaml", release.citation),
        ("bibtex", "release.bib", "application/x-bibtex", release.bibtex),
        ("datasheet", "DATASHEET.md", "text/markdown", release.datasheet),
    ]:
        response = api(researcher).get(urls[fmt])
        assert response.status_code == 200
        assert response["Content-Type"].startswith(media_type)
        assert f'filename="{filename}"' in response["Content-Disposition"]
        assert b"".join(response.streaming_content).decode() == text


def test_stance_label_definitions_come_from_the_taxonomy(known, reviewer):
    StanceLabel.objects.filter(slug="support").update(definition="Changed before the release.")
    assert "| Support | support | NONE | Changed before the release. |" in release_of(reviewer).datasheet
