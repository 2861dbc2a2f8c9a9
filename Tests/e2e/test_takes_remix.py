"""Several takes per click and remixes, through real nginx, the real binary, real workers and the simulator:
N takes are exactly N provider jobs however often the button is pressed; a remix is the provider's remix
of the original's job, priced from the catalog, and refused (by PromptReel, or by the provider) once the
provider's copy has expired."""
import os
import subprocess
import threading
import time

import requests

from conftest import SIM, Browser, WorkerProcess, api, sim_stats, sql, wait_until
from test_generations import generate, setup_video, status, wait_status


def sim_video(job_id):
    r = requests.get(f"{SIM}/v1/videos/{job_id}", headers={"Authorization": "Bearer sim-test-key"}, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def remix(token, generation, prompt, **extra):
    return api("POST", f"/api/generations/{generation}/remix", token, json={"prompt": prompt, **extra})


def completed_generation(token, video):
    r = generate(token, video, expectedCost=0.4)
    assert r.status_code == 200, r.text
    done, _ = wait_status(token, video, "completed")
    return done["generationId"]


def promptreel(*args):
    return subprocess.run([os.environ["PROMPTREEL_BIN"], *args], capture_output=True, text=True, env=os.environ)


# MARK: Takes

def test_three_takes_are_three_creates_and_finish_side_by_side(worker):
    token, video = setup_video("Three takes of a kite [sim:seconds=1.5]")
    before = sim_stats()["create"]
    r = generate(token, video, {"takes": 3}, expectedCost=1.2)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["estimatedCost"] == 1.2 and len(body["generationIds"]) == 3
    assert body["generationId"] == max(body["generationIds"])  # the latest take
    running = status(token, video).json()
    assert running["status"] in ("queued", "in_progress") and running["generationId"] == body["generationId"]
    assert [t["generationId"] for t in running["takes"]] == sorted(body["generationIds"])

    def all_done():
        s = status(token, video).json()
        return s if all(t["status"] == "completed" for t in s["takes"]) else None
    done = wait_until(all_done, timeout=40, what="three completed takes")
    assert done["status"] == "completed" and done["generationId"] == body["generationId"] and done["cost"] == 0.4
    assert len({t["videoUrl"] for t in done["takes"]}) == 3 and all(t["cost"] == 0.4 for t in done["takes"])
    for take in done["takes"]:
        assert api("GET", take["videoUrl"], token).status_code == 200
        assert api("GET", take["thumbnailUrl"], token).headers["Content-Type"] == "image/webp"
    assert sim_stats()["create"] - before == 3
    history = api("GET", f"/api/videos/{video}/generations", token).json()["generations"]
    assert len(history) == 3 and len({g["batchId"] for g in history}) == 1
    assert all(g["settings"]["takes"] == 3 and g["estimatedCost"] == 0.4 for g in history)


def test_five_double_clicks_still_start_three_jobs(worker):
    token, video = setup_video("Pressed again and again [sim:seconds=2]")
    before = sim_stats()["create"]
    codes = []
    for _ in range(5):
        barrier = threading.Barrier(2)

        def click():
            barrier.wait()
            codes.append(generate(token, video, {"takes": 3}, expectedCost=1.2).status_code)
        threads = [threading.Thread(target=click) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(codes) == [200] + [409] * 9, codes
    refused = generate(token, video, {"takes": 3}, expectedCost=1.2)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "generation_in_progress"
    wait_until(lambda: all(t["status"] == "completed" for t in status(token, video).json()["takes"]), timeout=40,
               what="the three takes")
    assert sim_stats()["create"] - before == 3
    assert sql(f"SELECT count(*) FROM generations WHERE video_id = {video}") == "3"
    assert sql(f"SELECT count(*) FROM generation_batches WHERE video_id = {video}") == "1"
    assert sql(f"SELECT active FROM generation_batches WHERE video_id = {video}") == "f"
    # Finished: the next click starts again.
    assert generate(token, video, {"takes": 2}, expectedCost=0.8).status_code == 200


def test_takes_are_checked_and_priced_as_a_total(no_worker):
    token, video = setup_video()
    for bad in (0, 5, "two", 2.5, -1):
        r = generate(token, video, {"takes": bad})
        assert r.status_code == 422 and "settings.takes" in r.json()["error"]["message"], (bad, r.text)
    wrong = generate(token, video, {"takes": 2}, expectedCost=0.4)  # the price of one take, not the total
    assert wrong.status_code == 409 and wrong.json()["error"]["code"] == "price_changed"
    assert "$0.80" in wrong.json()["error"]["message"]
    assert sql(f"SELECT count(*) FROM generations WHERE video_id = {video}") == "0"
    ok = generate(token, video, {"takes": "2", "model": "sora-2-pro", "duration": 8}, expectedCost="4.80")
    assert ok.status_code == 200 and ok.json()["estimatedCost"] == 4.8
    assert sql(f"SELECT total_cost FROM generation_batches WHERE video_id = {video}") == "4.80"
    assert sql(f"SELECT string_agg(estimated_cost::text, ',') FROM generations WHERE video_id = {video}") == "2.40,2.40"
    # Cancelling one take leaves the click active; cancelling both ends it.
    first, second = ok.json()["generationIds"]
    assert api("POST", f"/api/generations/{first}/cancel", token).status_code == 200
    assert generate(token, video).status_code == 409
    assert api("POST", f"/api/generations/{second}/cancel", token).status_code == 200
    done = status(token, video).json()
    assert done["status"] == "failed" and done["generationId"] == second and len(done["takes"]) == 2
    assert all(t["status"] == "failed" and t["cost"] == 0 for t in done["takes"])


def test_takes_on_the_pages(worker):
    b = Browser()
    b.signup()
    project = b.create_project()
    video = b.save_video(project, title="Pages", prompt="Two takes on the pages [sim:seconds=1]")
    page = b.get(f"/dashboard/videos/{video}/generate?takes=2")
    assert page.status_code == 200 and "Generate 2 takes ($0.80)" in page.text
    assert '<option value="2" selected>2 takes</option>' in page.text
    assert "Generate 2 takes" not in b.get(f"/dashboard/videos/{video}/generate?takes=9").text
    r = b.post(f"/dashboard/videos/{video}/generate", {"model": "sora-2", "duration": "4", "aspect_ratio": "16:9",
                                                     "resolution": "720p", "takes": "2", "expected_cost": "0.80"},
               allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"] == f"/dashboard/videos/{video}/takes"
    again = b.post(f"/dashboard/videos/{video}/generate", {"model": "sora-2", "duration": "4", "aspect_ratio": "16:9",
                                                         "resolution": "720p", "takes": "2", "expected_cost": "0.80"},
                   allow_redirects=False)
    assert again.status_code == 303 and again.headers["Location"] == f"/dashboard/videos/{video}/generation"
    assert b.get(f"/dashboard/videos/{video}/generation", allow_redirects=False).headers["Location"] == f"/dashboard/videos/{video}/takes"
    takes = b.get(f"/dashboard/videos/{video}/takes")
    assert 'http-equiv="refresh"' in takes.text and takes.text.count('<li class="take">') == 2

    def finished():
        page = b.get(f"/dashboard/videos/{video}/takes")
        return page if page.text.count("<video ") == 2 else None
    page = wait_until(finished, timeout=40, what="two players")
    assert 'http-equiv="refresh"' not in page.text and page.text.count("?download=1") == 2
    assert "Latest: 2 takes · $0.80" in page.text and page.text.count(">Remix</a>") == 2
    assert b.get(f"/dashboard/videos/{video}").text.count('<li class="take">') == 2
    assert b.post(f"/dashboard/videos/{video}/generate", {"takes": "7"}).status_code == 422


# MARK: Remix

def test_remix_end_to_end(worker):
    token, video = setup_video("A lighthouse by day [sim:seconds=1]")
    source = completed_generation(token, video)
    original = api("GET", f"/api/generations/{source}", token).json()
    assert original["providerExpiresAt"]
    before = sim_stats()
    r = remix(token, source, "The same lighthouse at night [sim:seconds=1]", expectedCost=0.4)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["status"] == "queued" and body["estimatedCost"] == 0.4
    assert body["generationIds"] == [body["generationId"]] and body["remixedFromGenerationId"] == source
    done, _ = wait_status(token, video, "completed")
    assert done["generationId"] == body["generationId"] and done["cost"] == 0.4
    assert [t["remixedFromGenerationId"] for t in done["takes"]] == [source]
    after = sim_stats()
    assert after["remix"] - before["remix"] == 1 and after["create"] == before["create"]
    made = api("GET", f"/api/generations/{body['generationId']}", token).json()
    assert made["remixedFromGenerationId"] == source and made["settings"]["api"] == original["settings"]["api"]
    job = sim_video(made["providerJobId"])
    assert job["remixed_from_video_id"] == original["providerJobId"] and job["prompt"].startswith("The same lighthouse at night")
    assert api("GET", done["videoUrl"], token).status_code == 200
    # The remix is in the history beside its original.
    history = api("GET", f"/api/videos/{video}/generations", token).json()["generations"]
    assert [g["id"] for g in history] == [body["generationId"], source]


def test_remix_refusals(worker):
    token, video = setup_video("Refusals [sim:seconds=1]")
    source = completed_generation(token, video)
    assert remix(token, source, "").status_code == 422
    missing = api("POST", f"/api/generations/{source}/remix", token, json={})
    assert missing.status_code == 422 and "prompt" in missing.json()["error"]["message"]
    assert remix(token, source, 42).status_code == 422
    assert remix(token, source, "x" * 32001).status_code == 422
    price = remix(token, source, "night", expectedCost=0.8)
    assert price.status_code == 409 and price.json()["error"]["code"] == "price_changed"
    other_token, _ = setup_video()
    assert remix(other_token, source, "night").status_code == 404
    assert remix(token, 999999999, "night").status_code == 404
    # One active click per video: a remix while another generation runs is refused, and vice versa.
    assert remix(token, source, "night [sim:seconds=3]").status_code == 200
    busy = remix(token, source, "again")
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "generation_in_progress"
    assert generate(token, video).status_code == 409
    wait_status(token, video, "completed")
    # A failed generation cannot be remixed.
    token2, failing = setup_video("[sim:fail=moderation_blocked][sim:seconds=1] no")
    assert generate(token2, failing).status_code == 200
    failed, _ = wait_status(token2, failing, "failed")
    refused = remix(token2, failed["generationId"], "night")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_completed"


def test_remix_only_for_models_that_support_it(worker):
    token, video = setup_video("No remix for this model [sim:seconds=1]")
    source = completed_generation(token, video)
    out = promptreel("models", "set", "--name", "sora-2", "--no-supports-remix")
    assert out.returncode == 0, out.stderr
    try:
        r = remix(token, source, "night")
        assert r.status_code == 422 and r.json()["error"]["code"] == "remix_not_supported"
        assert "sora-2 does not support remix" in r.json()["error"]["message"]
        models = api("GET", "/api/models", token).json()["models"]
        assert next(m for m in models if m["name"] == "sora-2")["supports_remix"] is False
    finally:
        assert promptreel("models", "set", "--name", "sora-2", "--supports-remix").returncode == 0
    assert remix(token, source, "night [sim:seconds=1]").status_code == 200
    wait_status(token, video, "completed")
    assert promptreel("models", "set", "--name", "sora-2").returncode != 0  # nothing to set


def test_remix_after_expiry_is_refused_and_offers_generate_again(worker):
    b = Browser()
    b.signup()
    token = b.create_token()
    project = b.create_project()
    video = b.save_video(project, title="Short-lived", prompt="Kept briefly [sim:seconds=1][sim:expires=2]")
    source = completed_generation(token, video)
    fresh = b.get(f"/dashboard/generations/{source}")
    assert f'href="/dashboard/generations/{source}/remix">Remix</a>' in fresh.text
    expires = api("GET", f"/api/generations/{source}", token).json()["providerExpiresAt"]
    wait_until(lambda: sql(f"SELECT provider_expires_at <= now() FROM generations WHERE id = {source}") == "t", timeout=10,
               what="the provider's copy to expire")
    before = sim_stats()["remix"]
    r = remix(token, source, "night")
    assert r.status_code == 409 and r.json()["error"]["code"] == "source_expired", r.text
    assert "Generate again" in r.json()["error"]["message"]
    page = b.get(f"/dashboard/generations/{source}")
    assert "Remix unavailable" in page.text and "can no longer remix it" in page.text and "Generate again" in page.text
    assert f'href="/dashboard/generations/{source}/remix">Remix</a>' not in page.text
    form = b.get(f"/dashboard/generations/{source}/remix")
    assert "Remix unavailable" in form.text and "/generate?model=sora-2" in form.text
    posted = b.post(f"/dashboard/generations/{source}/remix", {"prompt": "night", "expected_cost": "0.40"})
    assert posted.status_code == 409 and "Remix unavailable" in posted.text
    assert sim_stats()["remix"] == before and expires


def test_provider_refusing_an_expired_original_fails_not_billed(no_worker):
    """The click is taken while the copy is still there; the provider's copy expires before a worker
    sends it: the provider refuses, the remix fails with source_expired and costs nothing."""
    token, video = setup_video("Expires while queued [sim:seconds=1][sim:expires=4]")
    w = WorkerProcess()
    try:
        source = completed_generation(token, video)
    finally:
        assert w.stop() == 0
    r = remix(token, source, "night")
    assert r.status_code == 200, r.text
    remix_id = r.json()["generationId"]
    job = api("GET", f"/api/generations/{source}", token).json()["providerJobId"]
    # Wait until the simulator itself says the copy has expired (a remix call would be refused).
    # (Its expires_at is whole seconds, rounded down: allow for the fraction.)
    expires_at = sim_video(job)["expires_at"]
    wait_until(lambda: time.time() > expires_at + 1.2, timeout=15, what="the simulator's expiry")
    w = WorkerProcess()
    try:
        failed, _ = wait_status(token, video, "failed")
    finally:
        assert w.stop() == 0
    assert failed["generationId"] == remix_id and failed["errorCode"] == "source_expired"
    assert failed["cost"] == 0 and failed["possiblyBilled"] is False and "Generate again" in failed["error"]


def test_gateway_refusing_remix_fails_the_remix_not_billed_and_never_resent(worker):
    """LiteLLM in front of Veo remixes nothing (only OpenAI and Azure): it answers 400. PromptReel takes the
    click (Veo sends no expires_at, so the provider decides), the worker sends it once, and the remix fails
    at $0 with the gateway's words."""
    token, video = setup_video("A harbour at dawn [sim:seconds=1][sim:dialect=litellm-veo]")
    source = completed_generation(token, video)
    original = api("GET", f"/api/generations/{source}", token).json()
    assert original["providerExpiresAt"] is None and original["providerJobId"]
    before = sim_stats()
    r = remix(token, source, "The harbour at night", expectedCost=0.4)
    assert r.status_code == 200, r.text
    remix_id = r.json()["generationId"]
    failed, _ = wait_status(token, video, "failed")
    assert failed["generationId"] == remix_id and failed["cost"] == 0 and failed["possiblyBilled"] is False
    assert "Remix is only available for OpenAI and Azure" in failed["error"], failed
    assert failed["errorCode"] != "source_expired"  # the original is still there; the gateway cannot remix
    made = api("GET", f"/api/generations/{remix_id}", token).json()
    assert made["status"] == "failed" and made["actualCost"] in (None, 0) and made["providerJobId"] is None
    assert made["remixedFromGenerationId"] == source
    time.sleep(1.5)  # a resend would show by now
    after = sim_stats()
    assert after["remix"] - before["remix"] == 1 and after["create"] == before["create"] and after["jobs"] == before["jobs"]
    assert sql(f"SELECT submit_attempts FROM generations WHERE id = {remix_id}") == "1"
    # The original is untouched and still the video's latest success.
    assert api("GET", f"/api/generations/{source}", token).json()["status"] == "completed"


def test_takes_and_remix_pages_are_valid_and_escape_user_text(worker):
    from test_pages_valid import ESCAPED, HOSTILE, assert_valid
    b = Browser()
    b.signup()
    token = b.create_token()
    project = b.create_project(HOSTILE)
    video = b.save_video(project, title=HOSTILE, prompt=HOSTILE + " [sim:seconds=1]")
    started = generate(token, video, {"takes": 2}, expectedCost=0.8).json()
    running = b.get(f"/dashboard/videos/{video}/takes")
    wait_until(lambda: all(t["status"] == "completed" for t in status(token, video).json()["takes"]), what="two takes")
    source = started["generationIds"][0]
    pages = {
        "takes running": running,
        "takes done": b.get(f"/dashboard/videos/{video}/takes"),
        "video with takes": b.get(f"/dashboard/videos/{video}"),
        "settings with takes": b.get(f"/dashboard/videos/{video}/generate?takes=4"),
        "remix form": b.get(f"/dashboard/generations/{source}/remix"),
        "remix form error": b.post(f"/dashboard/generations/{source}/remix", {"prompt": "   ", "expected_cost": "0.40"}),
        "remix price changed": b.post(f"/dashboard/generations/{source}/remix", {"prompt": HOSTILE, "expected_cost": "9.99"}),
    }
    for where, response in pages.items():
        assert response.headers["Content-Type"].startswith("text/html"), where
        assert_valid(response.text, where)
        assert "<script>alert(1)" not in response.text, where
    for where in ("takes done", "video with takes", "remix form", "remix price changed"):
        assert ESCAPED in pages[where].text, where
    assert 'http-equiv="refresh"' in running.text and 'http-equiv="refresh"' not in pages["takes done"].text
    assert pages["remix form error"].status_code == 422 and "prompt: must not be empty" in pages["remix form error"].text
    assert pages["remix price changed"].status_code == 409 and "now $0.40" in pages["remix price changed"].text
    assert "Generate 4 takes ($1.60)" in pages["settings with takes"].text
    # Someone else's generation is a 404 on the pages too.
    other = Browser()
    other.signup()
    assert other.get(f"/dashboard/generations/{source}/remix").status_code == 404
    assert other.get(f"/dashboard/videos/{video}/takes").status_code == 404
    # A remix from the page lands on its progress page and starts exactly one provider remix.
    before = sim_stats()["remix"]
    form = b.get(f"/dashboard/generations/{source}/remix")
    r = b.post(f"/dashboard/generations/{source}/remix", {"prompt": "At night [sim:seconds=1]", "expected_cost": "0.40"},
               allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"].startswith("/dashboard/generations/"), form.status_code
    again = b.post(f"/dashboard/generations/{source}/remix", {"prompt": "At night", "expected_cost": "0.40"}, allow_redirects=False)
    assert again.status_code == 303 and again.headers["Location"] == f"/dashboard/videos/{video}/generation"
    wait_status(token, video, "completed")
    assert sim_stats()["remix"] - before == 1
    assert "Remix of" in b.get(r.headers["Location"]).text


def test_takes_finishing_at_once_end_the_click(no_worker):
    """Two takes of one click finishing in two concurrent transactions: the second waits for the first
    (the batch row is locked), then sees it, so the click is no longer active — never stuck active."""
    token, video = setup_video()
    first, second = generate(token, video, {"takes": 2}).json()["generationIds"]
    finish = "UPDATE generations SET status = 'failed', phase = 'done', actual_cost = 0, completed_at = now() WHERE id = {};"
    one = subprocess.Popen(["psql", os.environ["DATABASE_URL"], "-Atq", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    one.stdin.write("BEGIN;\n" + finish.format(first) + "\n")
    one.stdin.flush()
    wait_until(lambda: sql(f"SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                           f"WHERE c.relname = 'generation_batches' AND l.mode = 'RowShareLock' AND l.granted") != "0",
               timeout=10, what="the first transaction to lock the batch")
    two = subprocess.Popen(["psql", os.environ["DATABASE_URL"], "-Atqc", finish.format(second)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    assert two.poll() is None  # waiting for the first transaction's lock on the batch
    one.stdin.write("COMMIT;\n")
    one.stdin.close()
    assert one.wait(timeout=20) == 0, one.stderr.read()
    assert two.wait(timeout=20) == 0, two.stderr.read()
    assert sql(f"SELECT active FROM generation_batches WHERE video_id = {video}") == "f"
    assert generate(token, video).status_code == 200
