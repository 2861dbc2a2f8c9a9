"""docs/openapi.yaml: a valid OpenAPI 3.1 document, served as JSON at /api/openapi.json, listing every /api
route with exactly the methods the app answers, with examples that match their own schemas. (That every
answer the tests receive matches it is checked for all tests by conftest.py; the last test here shows that
check fails on a mismatch.)"""
import copy
import json
import os
import re

import requests
import yaml
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec

from conftest import BASE, CONTRACT, OPENAPI_PATH, ROOT_DIR, Browser, api

with open(OPENAPI_PATH) as f:
    SPEC = yaml.safe_load(f)

# Documented ahead of the code: issue 13's GET /api/videos (the lead's branch). Empty this once merged.
PENDING = set()
# Served by nginx from Public/openapi.json, not by the app.
STATIC = {"/api/openapi.json"}
METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


def test_the_document_is_valid_openapi_3_1():
    validate_spec(SPEC)
    assert SPEC["openapi"].startswith("3.1")

    # A comma or colon in an unquoted YAML flow value splits it into keys: none may hide in the document.
    def keys(node):
        if isinstance(node, dict):
            for key, value in node.items():
                yield key
                yield from keys(value)
        elif isinstance(node, list):
            for item in node:
                yield from keys(item)
    odd = [k for k in keys(SPEC) if not isinstance(k, str) or " " in k]
    assert not odd, odd
    bearer = SPEC["components"]["securitySchemes"]["bearerAuth"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer") and SPEC["security"] == [{"bearerAuth": []}]


def test_it_is_served_as_json_without_a_token_and_matches_the_yaml():
    r = requests.get(BASE + "/api/openapi.json", timeout=10)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    # Public/openapi.json is generated from the YAML: run scripts/openapi after editing docs/openapi.yaml.
    assert r.json() == SPEC, "Public/openapi.json differs from docs/openapi.yaml: run scripts/openapi"
    with open(os.path.join(ROOT_DIR, "Public", "openapi.json")) as f:
        assert json.load(f) == SPEC, "Public/openapi.json differs from docs/openapi.yaml: run scripts/openapi"


def test_the_account_page_links_it_beside_the_tokens():
    b = Browser()
    b.signup()
    page = b.get("/account").text
    assert '<a href="/api/openapi.json">' in page and page.index("/api/openapi.json") > page.index("API tokens")


def route_paths():
    """Every /api path the route enums print (the first `\\(x)` as `{id}`, a second one as `{x}`), and /healthz."""
    import glob
    web_app = os.path.join(ROOT_DIR, "Sources", "WebApp")
    source = "".join(open(p).read() for p in glob.glob(os.path.join(web_app, "*", "*Route*.swift")))
    paths = {re.sub(r"\\\((\w+)\)", r"{\1}", re.sub(r"\\\(\w+\)", "{id}", p, count=1))
             for p in re.findall(r'"(/api/[^"]*)"', source)}
    assert len(paths) > 20, paths
    return paths | {"/healthz"}


def test_every_route_is_documented_and_nothing_else():
    documented = set(SPEC["paths"])
    routes = route_paths()
    assert routes - documented == set(), "routes missing from docs/openapi.yaml"
    assert documented - routes - PENDING - STATIC == set(), "documented paths that are not routes"


def test_each_path_lists_exactly_the_methods_the_app_answers():
    # A method no handler takes is answered 401 without a token (the order of checks: test_authorization.py),
    # 405 with one; both name the methods the route has in Allow, so OPTIONS reveals each route's methods.
    for path in sorted(route_paths() - {"/healthz"} - STATIC):  # /healthz answers every method
        r = requests.options(BASE + re.sub(r"\{\w+\}", "1", path), timeout=10)
        assert r.status_code == 401, (path, r.status_code)
        allowed = {m.strip().lower() for m in r.headers["Allow"].split(",")}
        documented = set(SPEC["paths"][path]) & METHODS
        assert allowed == documented, (path, allowed, documented)


def schema_validator(schema):
    return OAS31Validator({"allOf": [schema], "components": SPEC["components"]})


def examples():
    """(where, schema, value) for every example in the document."""
    found = []
    for name, schema in SPEC["components"]["schemas"].items():
        if "example" in schema:
            found.append((f"schemas/{name}", schema, schema["example"]))

    def media(where, content):
        for kind, body in content.items():
            if "example" in body:
                found.append((f"{where} {kind}", body["schema"], body["example"]))
            for label, example in body.get("examples", {}).items():
                found.append((f"{where} {kind} {label}", body["schema"], example["value"]))

    for name, response in SPEC["components"]["responses"].items():
        media(f"responses/{name}", response.get("content", {}))
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            for parameter in operation.get("parameters", []):
                if "example" in parameter:
                    found.append((f"{method} {path} ?{parameter['name']}", parameter["schema"], parameter["example"]))
            media(f"{method} {path} request", operation.get("requestBody", {}).get("content", {}))
            for status, response in operation["responses"].items():
                media(f"{method} {path} {status}", response.get("content", {}))
    return found


def test_every_example_matches_its_schema():
    found = examples()
    assert len(found) > 25
    for where, schema, value in found:
        errors = [e.message for e in schema_validator(schema).iter_errors(value)]
        assert not errors, (where, errors)


def test_every_operation_documents_auth_and_server_errors():
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            statuses = set(operation["responses"])
            public = operation.get("security") == []
            assert public or {"401", "500", "503"} <= statuses, (method, path, statuses)
            if "requestBody" in operation or method in ("post", "put", "patch"):
                assert public or "413" in statuses, (method, path)
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                assert {"400", "415"} <= statuses, (method, path)


def fake(method, path, status, body, headers=None):
    """An answer as requests would hand it over, for the contract check to judge."""
    r = requests.Response()
    r.status_code = status
    r._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    r.headers.update({"Content-Type": "application/json", **(headers or {})})
    r.request = requests.Request(method, BASE + path).prepare()
    r.url = BASE + path
    return r


def test_the_contract_check_fails_on_what_does_not_match():
    b = Browser()
    b.signup()
    token = b.create_token()
    created = api("POST", "/api/projects", token, json={"name": "Contract"})
    assert created.status_code == 201
    assert any(r is created for r in CONTRACT.pending), "answers from /api are recorded for the check"
    project = created.json()
    path = f"/api/projects/{project['id']}"
    assert CONTRACT.problem(created) is None
    assert CONTRACT.problem(fake("GET", path, 200, project)) is None

    missing = {k: v for k, v in project.items() if k != "name"}
    assert "name" in CONTRACT.problem(fake("GET", path, 200, missing))
    wrong_type = {**project, "video_count": "2"}
    assert "video_count" in CONTRACT.problem(fake("GET", path, 200, wrong_type))
    extra = {**project, "secret": "x"}  # a project's members are all listed: a new key must be documented
    assert CONTRACT.problem(fake("GET", path, 200, extra))
    assert CONTRACT.problem(fake("GET", path, 200, {**project, "created_at": "26/11/2026"}))
    # A status the operation does not list, an error outside the envelope, a route the document lacks.
    assert CONTRACT.problem(fake("GET", path, 409, {"error": {"code": "conflict", "message": "x"}}))
    assert CONTRACT.problem(fake("GET", path, 404, {"message": "No such project."}))
    assert CONTRACT.problem(fake("GET", "/api/secret-route", 200, {"ok": True}))
    assert CONTRACT.problem(fake("PUT", path, 200, project))
    assert CONTRACT.problem(fake("PUT", path, 405, {"error": {"code": "method_not_allowed", "message": "x"}})), "no Allow"
    assert CONTRACT.problem(fake("POST", "/api/projects", 201, project)), "a 201 without its Location"
    assert CONTRACT.problem(fake("GET", path, 200, b"<html>", {"Content-Type": "text/html"}))
    assert CONTRACT.problem(fake("GET", path, 400, b"<html>", {"Content-Type": "text/html", "X-Request-Id": "a1"})), \
        "only nginx's own 400 (no request id) may be HTML"
    # What the description promises for unknown paths and methods passes.
    assert CONTRACT.problem(fake("GET", "/api/videos/1%00", 400, b"<html>", {"Content-Type": "text/html"})) is None
    assert CONTRACT.problem(fake("GET", "/api/nope", 404, {"error": {"code": "not_found", "message": "Not found."}})) is None
    assert CONTRACT.problem(fake("PUT", path, 405, {"error": {"code": "method_not_allowed", "message": "x"}},
                                 {"Allow": "DELETE, GET, PATCH"})) is None


def answer_schemas(skip=()):
    """(where, schema) for every component schema and every documented answer body (paths in `skip` left out)."""
    for name, schema in SPEC["components"]["schemas"].items():
        yield f"schemas/{name}", copy.deepcopy(schema)
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method in METHODS and path not in skip:
                for status, response in operation["responses"].items():
                    for body in response.get("content", {}).values():
                        yield f"{method} {path} {status}", body["schema"]


def test_a_schema_without_required_keys_would_not_catch_a_dropped_key():
    """Guards the document's strictness: every object schema of an answer names its required keys."""
    loose = []

    def walk(where, schema):
        if not isinstance(schema, dict):
            return
        if schema.get("type") == "object" and "properties" in schema and not schema.get("required"):
            if not where.startswith(("request", "schemas/RequestedSettings", "schemas/VideoInput")):
                loose.append(where)
        for key, value in schema.items():
            if isinstance(value, dict):
                walk(f"{where}.{key}", value)
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    walk(f"{where}.{key}[{i}]", item)

    for where, schema in answer_schemas():
        walk(where, schema)
    assert not loose, loose


def test_answer_objects_refuse_keys_they_do_not_name():
    """A key the code adds without documenting it must fail the contract check: every object schema of an
    answer sets `additionalProperties`, or, composed with allOf, its parent sets `unevaluatedProperties: false`."""
    composed, open_ = set(), []

    def walk(where, schema, in_all_of=False):
        if not isinstance(schema, dict):
            return
        if "allOf" in schema:
            if schema.get("unevaluatedProperties") is not False:
                open_.append(where)
            for i, part in enumerate(schema["allOf"]):
                if "$ref" in part:
                    composed.add(part["$ref"].rsplit("/", 1)[1])
                walk(f"{where}.allOf[{i}]", part, in_all_of=True)
        if (schema.get("type") == "object" and "properties" in schema and not in_all_of
                and "additionalProperties" not in schema
                and not where.startswith(("request", "schemas/RequestedSettings", "schemas/VideoInput"))):
            open_.append(where)
        for key, value in schema.items():
            if key == "allOf":
                continue
            if isinstance(value, dict):
                walk(f"{where}.{key}", value)
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    walk(f"{where}.{key}[{i}]", item)

    for where, schema in answer_schemas(skip=("/api/openapi.json",)):  # the document itself: open by nature
        walk(where, schema)
    # Schemas only ever used as allOf parts are closed by their parents.
    open_ = [w for w in open_ if w.split(".")[0].removeprefix("schemas/") not in composed]
    assert not open_, open_
