"""The simulator against OpenAI's spec: every endpoint's responses validate against
../shared/openai/videos-openapi.yaml. A dropped or renamed key must fail (checked below too)."""
import copy
import os
import time

import pytest
import requests
import yaml
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS31Validator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC_PATH = os.path.join(ROOT, "..", "shared", "openai", "videos-openapi.yaml")
SIM = os.environ.get("PROMPTREEL_SIM_URL", "http://127.0.0.1:8090")
AUTH = {"Authorization": "Bearer sim-test-key"}

with open(SPEC_PATH) as f:
    SPEC = yaml.safe_load(f)


def validate(instance, schema_name):
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": SPEC["components"]}
    OAS31Validator(schema).validate(instance)


def call(method, path, **kw):
    headers = {**AUTH, **kw.pop("headers", {})}
    r = requests.request(method, SIM + "/v1" + path, headers=headers, timeout=10, **kw)
    assert r.headers.get("x-request-id", "").startswith("req_"), path
    return r


def create(prompt="A fox in the snow", **fields):
    form = {"prompt": (None, prompt), "model": (None, "sora-2"), "seconds": (None, "4"), "size": (None, "1280x720")}
    form.update({k: (None, v) for k, v in fields.items()})
    r = call("POST", "/videos", files=form)
    assert r.status_code == 200, r.text
    validate(r.json(), "VideoResource")
    return r.json()


def wait_for(video_id, status, timeout=15):
    deadline = time.time() + timeout
    while True:
        video = call("GET", f"/videos/{video_id}").json()
        if video["status"] == status:
            return video
        assert time.time() < deadline, video
        time.sleep(0.2)


def test_create_multipart_and_json_and_retrieve():
    video = create()
    assert video["status"] == "queued" and video["seconds"] == "4" and video["object"] == "video"
    r = call("POST", "/videos", json={"prompt": "json body", "model": "sora-2-pro", "seconds": "8", "size": "1792x1024"})
    assert r.status_code == 200
    validate(r.json(), "VideoResource")
    r = call("GET", f"/videos/{video['id']}")
    assert int(r.headers["openai-poll-after-ms"]) > 0
    validate(r.json(), "VideoResource")
    done = wait_for(video["id"], "completed")
    validate(done, "VideoResource")
    assert done["progress"] == 100 and done["completed_at"] and done["expires_at"] > done["completed_at"]


def test_in_progress_and_failed_shapes():
    video = create("[sim:stall] forever")
    progressing = wait_for(video["id"], "in_progress")
    validate(progressing, "VideoResource")
    assert 0 < progressing["progress"] < 100
    failed = wait_for(create("[sim:fail=moderation_blocked][sim:seconds=0.4]")["id"], "failed")
    validate(failed, "VideoResource")
    assert failed["error"]["code"] == "moderation_blocked" and failed["error"]["message"]


def test_list_delete_remix_content():
    a = create("[sim:seconds=0.3] one")
    b = create("[sim:seconds=0.3] two")
    r = call("GET", "/videos", params={"limit": 1})
    validate(r.json(), "VideoListResource")
    assert r.json()["has_more"] is True and r.json()["data"][0]["id"] == b["id"]
    r2 = call("GET", "/videos", params={"limit": 1, "after": r.json()["last_id"]})
    assert r2.json()["data"][0]["id"] == a["id"]
    validate(call("GET", "/videos", params={"limit": 0}).json(), "VideoListResource")
    wait_for(a["id"], "completed")
    remix = call("POST", f"/videos/{a['id']}/remix", json={"prompt": "again, at night"})
    validate(remix.json(), "VideoResource")
    assert remix.json()["remixed_from_video_id"] == a["id"]
    for variant, ctype in (("video", "video/mp4"), ("thumbnail", "image/webp"), ("spritesheet", "image/jpeg")):
        r = call("GET", f"/videos/{a['id']}/content", params={"variant": variant})
        assert r.status_code == 200 and r.headers["Content-Type"] == ctype and len(r.content) > 1000
    fixture = open(os.path.join(ROOT, "Sources/promptreel-sim/Fixtures/video.mp4"), "rb").read()
    assert call("GET", f"/videos/{a['id']}/content").content == fixture  # variant defaults to video
    deleted = call("DELETE", f"/videos/{b['id']}")
    validate(deleted.json(), "DeletedVideoResource")
    assert call("GET", f"/videos/{b['id']}").status_code == 404


def test_errors_use_the_spec_envelope():
    cases = [
        call("POST", "/videos", files={"prompt": (None, "x"), "size": (None, "1920x1080")}),           # size for sora-2
        call("POST", "/videos", json={"prompt": "x", "seconds": 4}),                                  # integer seconds
        call("POST", "/videos", json={"prompt": "x", "model": "sora-9"}),
        call("POST", "/videos", json={"model": "sora-2"}),                                             # no prompt
        call("GET", "/videos/video_nope"),
        call("GET", "/videos/video_nope", headers={"Authorization": "Bearer wrong"}),
        call("GET", f"/videos/{create('[sim:stall] early')['id']}/content"),                           # not ready
    ]
    assert [r.status_code for r in cases] == [400, 400, 400, 400, 404, 401, 400]
    for r in cases:
        validate(r.json(), "ErrorResponse")
    assert cases[0].json()["error"]["param"] == "size" and "1280x720" in cases[0].json()["error"]["message"]
    assert cases[1].json()["error"]["param"] == "seconds"


def test_injected_429_and_stats():
    before = requests.get(SIM + "/_sim/stats", timeout=5).json()
    r = requests.post(SIM + "/_sim/faults", json={"endpoint": "list", "kind": "429", "retry_after": 2}, timeout=5)
    assert r.status_code == 200
    r = call("GET", "/videos")
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1 and r.headers["retry-after-ms"] == "2000"
    validate(r.json(), "ErrorResponse")
    assert call("GET", "/videos").status_code == 200
    after = requests.get(SIM + "/_sim/stats", timeout=5).json()
    assert after["list"] == before["list"] + 2


def test_validation_catches_dropped_and_renamed_keys():
    video = create()
    for key in ("id", "status", "seconds", "error", "remixed_from_video_id"):
        dropped = copy.deepcopy(video)
        del dropped[key]
        with pytest.raises(ValidationError):
            validate(dropped, "VideoResource")
    renamed = copy.deepcopy(video)
    renamed["created"] = renamed.pop("created_at")
    with pytest.raises(ValidationError):
        validate(renamed, "VideoResource")
    wrong = copy.deepcopy(video)
    wrong["seconds"] = 4
    with pytest.raises(ValidationError):
        validate(wrong, "VideoResource")
