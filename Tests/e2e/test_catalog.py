"""The model catalog over HTTP, the models command, and `promptreel sora smoke` against the simulator."""
import os
import re
import subprocess

from conftest import ROOT_DIR, Browser, api


def token():
    b = Browser()
    b.signup()
    return b.create_token()


def test_models_api_lists_catalog():
    t = token()
    r = api("GET", "/api/models", t)
    assert r.status_code == 200
    models = {m["name"]: m for m in r.json()["models"]}
    assert models["sora-2"]["durations"] == [4, 8, 12] and models["sora-2"]["default"] is True
    assert {(s["aspect_ratio"], s["resolution"], s["size"]) for s in models["sora-2"]["sizes"]} == {
        ("16:9", "720p", "1280x720"), ("9:16", "720p", "720x1280")}
    pro = {s["size"]: s["usd_per_second"] for s in models["sora-2-pro"]["sizes"]}
    assert pro["1792x1024"] == 0.5 and pro["1920x1080"] == 0.7
    assert api("GET", "/api/models").status_code == 401


def test_estimate_and_refusals_name_the_offer():
    t = token()
    r = api("GET", "/api/models/estimate?model=sora-2-pro&duration=12&aspect_ratio=9:16&resolution=1080p", t)
    assert r.status_code == 200
    body = r.json()
    assert body["estimatedCost"] == 8.4 and body["size"] == "1080x1920" and body["seconds"] == "12"
    # With takes the estimate is the click's total, the amount generate-sora's expectedCost must name.
    r = api("GET", "/api/models/estimate?model=sora-2-pro&duration=12&aspect_ratio=9:16&resolution=1080p&takes=3", t)
    assert r.status_code == 200 and (r.json()["estimatedCost"], r.json()["costPerTake"], r.json()["takes"]) == (25.2, 8.4, 3), r.text
    r = api("GET", "/api/models/estimate?model=sora-2&takes=5", t)
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("takes:"), r.text
    r = api("GET", "/api/models/estimate?model=sora-2&resolution=1080p", t)
    assert r.status_code == 422 and "sora-2 offers 720p" in r.json()["error"]["message"]
    r = api("GET", "/api/models/estimate?model=sora-2-pro&aspect_ratio=1:1", t)
    assert r.status_code == 422 and "16:9 or 9:16" in r.json()["error"]["message"]
    r = api("GET", "/api/models/estimate?duration=abc", t)
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("duration:")


def test_models_command_lists_and_prices():
    binary = os.environ["PROMPTREEL_BIN"]
    out = subprocess.run([binary, "models", "list"], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^sora-2\tSora 2\tenabled\tseconds=4,8,12\t16:9\t720p\t1280x720\t\$0\.1000/s\timage=accepted\tremix=yes$", out, re.M), out
    bad = subprocess.run([binary, "models", "price", "--name", "nope", "--resolution", "720p", "--usd-per-second", "1"],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "no model named nope" in bad.stderr


def test_sora_smoke_against_the_simulator(tmp_path):
    env = {**os.environ}
    r = subprocess.run([os.environ["PROMPTREEL_BIN"], "sora", "smoke", "--prompt", "smoke test [sim:seconds=1]",
                        "--out", str(tmp_path)], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "queued" in r.stdout and "completed 100%" in r.stdout
    saved = re.search(r"saved (\S+-video\.mp4) \((\d+) bytes, sha256 ([0-9a-f]{64})\)", r.stdout)
    assert saved, r.stdout
    fixture = open(os.path.join(ROOT_DIR, "Sources/promptreel-sim/Fixtures/video.mp4"), "rb").read()
    assert open(saved.group(1), "rb").read() == fixture
    assert "sk-" not in r.stdout and "sim-test-key" not in r.stdout  # the key is never printed
