"""The OpenAPI schema and the Swagger UI page, served without any outside network."""

from __future__ import annotations

# Shared fixtures are imported from test_api_support by name.
# ruff: noqa: F401
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command

from .test_api_support import isolated_media

pytestmark = pytest.mark.django_db


def test_the_schema_validates_without_warnings(tmp_path):
    output = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(output))
    schema = yaml.safe_load(output.read_text())
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/quotes/{id}/" in schema["paths"]


def test_the_schema_is_served_to_anyone(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    quotes = schema["paths"]["/api/v1/quotes/"]["get"]
    names = {parameter["name"] for parameter in quotes["parameters"]}
    assert {"speaker", "target", "label", "layer", "q", "cursor", "page_size", "ordering"} <= names
    assert not any("__" in name for name in names)
    patch = schema["paths"]["/api/v1/quotes/{id}/"]["patch"]
    assert {"412", "428", "404", "403"} <= set(patch["responses"])
    assert any(parameter["name"] == "If-Match" for parameter in patch["parameters"])
    assert "knoxApiToken" in schema["components"]["securitySchemes"]


def test_the_schema_carries_the_seed_example(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    examples = schema["paths"]["/api/v1/quotes/{id}/"]["get"]["responses"]["200"]["content"]["application/json"][
        "examples"
    ]
    gallant = next(iter(examples.values()))["value"]
    assert (gallant["start"], gallant["end"], gallant["speaker"]["name"]) == (177, 362, "Yoav Gallant")


def test_every_documented_path_ends_in_a_slash_once(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert all(path.endswith("/") for path in paths)
    assert "/api/v1/quotes/export/" in paths


def test_the_docs_page_uses_only_vendored_files_under_the_strict_csp(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in body
    assert "/static/vendor/swagger-ui/swagger-ui.css" in body
    assert "/static/annotations/js/api-docs.js" in body
    assert "http://" not in body.replace("http://www.w3.org", "") and "https://" not in body
    policy = response["Content-Security-Policy"]
    assert "'nonce-" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert body.count("<script") == body.count(f'nonce="{nonce}"') == 2
    assert "<style" not in body and " style=" not in body and "<script>" not in body


def test_the_vendored_swagger_ui_is_there_with_its_licence():
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"):
        assert finders.find(f"vendor/swagger-ui/{name}"), name
    css = Path(finders.find("vendor/swagger-ui/swagger-ui.css")).read_text()
    assert "sourceMappingURL" not in css  # the manifest storage would look for the missing map


def test_the_api_root_lists_the_resources(client, researcher):
    from .test_api_support import api_client

    body = api_client(researcher).get("/api/v1/").json()
    assert set(body) == {"articles", "quotes", "speakers", "targets", "stance-labels", "releases", "assignments"}


def test_the_browsable_api_is_off(researcher):
    from .test_api_support import api_client

    response = api_client(researcher).get("/api/v1/quotes/", HTTP_ACCEPT="text/html")
    assert response.status_code == 406 or response["Content-Type"] == "application/json"
