"""Parquet: the JSONL's quotes as one typed table, for pandas and Hugging Face datasets.

Each tool reads the file the way a researcher would: pyarrow, ``pandas.read_parquet``
and ``datasets.load_dataset("parquet", data_files=…)`` (offline, its cache in a
temporary folder).
"""

# Shared fixtures are imported by name, which pyflakes reads as unused imports
# shadowed by the test arguments.
# ruff: noqa: F401, F811

from __future__ import annotations

import datetime
import io
import json

import pandas
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rest_framework import serializers

from annotations import exporters, services
from annotations.models import Quote, Stance

from .test_api_support import api, curated_quote, isolated_media
from .test_exporters import awkward_quotes

pytestmark = pytest.mark.django_db


def parquet_of(queryset, **options) -> bytes:
    return b"".join(exporters.export(queryset, "parquet", **options))


def as_json(row: dict) -> dict:
    """A Parquet row written back as the API's JSON: the date and timestamps as strings."""
    timestamp = serializers.DateTimeField().to_representation
    published_on = row["article"]["published_on"]
    return {
        **row,
        "article": {**row["article"], "published_on": published_on and published_on.isoformat()},
        "created_at": timestamp(row["created_at"]),
        "updated_at": timestamp(row["updated_at"]),
    }


def test_the_file_declares_its_types(awkward_quotes):
    schema = pq.read_schema(io.BytesIO(parquet_of(Quote.objects.all())))
    assert schema.equals(exporters.PARQUET_SCHEMA)
    assert schema.field("id").type == pa.int64() and not schema.field("id").nullable
    assert schema.field("start").type == pa.int32()
    assert schema.field("text").type == pa.string()
    assert schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("article").type.field("published_on").type == pa.date32()
    assert schema.field("curated_from").type == pa.list_(pa.int64())
    stance = schema.field("stances").type.value_type
    assert [stance.field(i).name for i in range(stance.num_fields)] == [
        "target",
        "label",
        "intensity",
        "confidence",
        "note",
    ]
    assert stance.field("intensity").type == pa.int8()
    assert stance.field("confidence").type == pa.float64()
    assert stance.field("target").type == pa.struct([("slug", pa.string()), ("name", pa.string())])
    assert schema.metadata[b"offsets_convention"] == b"unicode-code-points, end-exclusive"


@pytest.mark.parametrize("chunk_size", [exporters.CHUNK_SIZE, 2])
def test_its_rows_are_the_jsonl_export_rows(awkward_quotes, chunk_size):
    # Both layers, a quote without stances, a null date, emoji, RTL text, control
    # characters and confidences down to 5e-324; on PostgreSQL the JSONL is COPY's.
    queryset = Quote.objects.order_by("id")
    table = pq.read_table(io.BytesIO(parquet_of(queryset, chunk_size=chunk_size)))
    jsonl = b"".join(exporters.export(queryset, "jsonl")).decode()
    expected = [json.loads(line) for line in jsonl.splitlines()]
    assert table.num_rows == len(expected) == queryset.count()
    assert [as_json(row) for row in table.to_pylist()] == expected
    if chunk_size == 2:
        assert pq.ParquetFile(io.BytesIO(parquet_of(queryset, chunk_size=2))).num_row_groups == 3


def test_pandas_reads_it_directly(awkward_quotes):
    frame = pandas.read_parquet(io.BytesIO(parquet_of(Quote.objects.curated().order_by("id"))))
    assert len(frame) == 3
    assert str(frame["id"].dtype) == "int64"
    assert str(frame["created_at"].dtype).startswith("datetime64[us, UTC]")
    main = frame[frame["id"] == awkward_quotes["main"].pk].iloc[0]
    article_text = awkward_quotes["main"].article.text
    assert main["text"] == article_text[main["start"] : main["end"]]
    assert [stance["label"] for stance in main["stances"]] == ["support", "oppose", "neutral"]
    plain = frame[frame["id"] == awkward_quotes["plain"].pk].iloc[0]
    assert plain["article"]["published_on"] == datetime.date(2023, 1, 5)
    stored = Stance.objects.filter(quote=awkward_quotes["plain"]).order_by("id").values_list("confidence", flat=True)
    assert [stance["confidence"] for stance in plain["stances"]] == list(stored)


def test_hugging_face_datasets_loads_it_with_its_types(awkward_quotes, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    import datasets

    path = tmp_path / "quotes.parquet"
    path.write_bytes(parquet_of(Quote.objects.curated().order_by("id")))
    loaded = datasets.load_dataset("parquet", data_files=[str(path)], split="train", cache_dir=str(tmp_path / "cache"))
    assert loaded.num_rows == 3
    assert loaded.features["id"].dtype == "int64"
    assert loaded.features["start"].dtype == "int32"
    rows = {row["id"]: row for row in loaded.to_list()}
    main = rows[awkward_quotes["main"].pk]
    assert main["text"] == awkward_quotes["main"].article.text[main["start"] : main["end"]]
    assert [stance["label"] for stance in main["stances"]] == ["support", "oppose", "neutral"]
    assert rows[awkward_quotes["plain"].pk]["article"]["published_on"] == datetime.date(2023, 1, 5)


def test_an_export_of_nothing_is_an_empty_table_with_the_schema():
    table = pq.read_table(io.BytesIO(parquet_of(Quote.objects.none())))
    assert table.num_rows == 0 and table.schema.equals(exporters.PARQUET_SCHEMA)


def test_the_export_api_serves_parquet_with_the_filters(awkward_quotes, researcher, api):
    response = api(researcher).get("/api/v1/quotes/export", {"format": "parquet", "kind": "mixed"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apache.parquet"
    assert response["Content-Disposition"].endswith('.parquet"')
    table = pq.read_table(io.BytesIO(b"".join(response.streaming_content)))
    assert table.column("id").to_pylist() == [awkward_quotes["plain"].pk]


def test_a_release_carries_the_parquet_file(awkward_quotes, reviewer):
    release = services.build_release(name="p1", note="", filters={}, user=reviewer)
    parquet = release.files.get(format="parquet")
    with parquet.file.open("rb") as handle:
        table = pq.read_table(io.BytesIO(handle.read()))
    assert sorted(table.column("id").to_pylist()) == sorted(Quote.objects.curated().values_list("id", flat=True))
