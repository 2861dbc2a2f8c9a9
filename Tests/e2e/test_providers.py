"""Real providers (issue 8) through nginx, the real binary, real workers and simulators of several
dialects: clicks never wait on the provider, states are mapped by meaning, only real media is stored,
lost create answers are never resent nor recorded as $0, the breaker, and no input crashes the process."""
import os
import re
import subprocess
import threading
import time

import pytest
import requests

from conftest import (BASE, ROOT_DIR, Browser, SimulatorProcess, WorkerProcess, api, sim_fault, sim_stats, sql, wait_until)
from test_generations import FIXTURE, generate, setup_video, status, wait_status
from test_reference_image import encoded, put_image

SIM = os.environ.get("PROMPTREEL_SIM_URL", "http://127.0.0.1:8090")


@pytest.fixture(autouse=True)
def fresh_simulator():
    """Faults a failed test did not consume must not leak into the next test."""
    yield
    requests.post(SIM + "/_sim/reset", timeout=5)


def generation_row(video, columns):
    return sql(f"SELECT {columns} FROM generations WHERE video_id = {video} ORDER BY id DESC LIMIT 1")


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_a_hanging_provider_never_holds_request_threads(no_worker):
    """Create hangs 30 s: eight clicks are answered at once and other pages keep answering."""
    b = Browser()
    b.signup()
    token = b.create_token()
    project = b.create_project("Hang")
    videos = [api("POST", f"/api/projects/{project}/videos", token, json={"title": f"v{i}", "final_prompt": f"hang {i}"}).json()["id"]
              for i in range(8)]
    sim_fault("create", "hang", count=8, hang_seconds=30)
    w = WorkerProcess()  # its thread will hang in the create; the web must not care
    try:
        times, codes = [], []

        def click(video):
            r, took = timed(lambda: generate(token, video))
            codes.append(r.status_code)
            times.append(took)
        threads = [threading.Thread(target=click, args=(v,)) for v in videos]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert codes == [200] * 8 and max(times) < 5, times
        wait_until(lambda: sql("SELECT count(*) FROM generations WHERE phase = 'submitting'") != "0", what="a create in flight")
        for path in ("/healthz", "/login", f"/dashboard/projects/{project}"):
            r, took = timed(lambda: b.get(path))
            assert r.status_code == 200 and took < 2, (path, took)
        r, took = timed(lambda: status(token, videos[0]))
        assert r.status_code == 200 and r.json()["status"] == "queued" and took < 2
    finally:
        w.kill9()
        ids = ",".join(map(str, videos))
        sql(f"UPDATE generations SET status = 'failed', phase = 'done', error_code = 'test_cleanup' WHERE video_id IN ({ids}) AND phase <> 'done'")
        requests.post(SIM + "/_sim/reset", timeout=5)


def test_click_answers_queued_with_our_id_and_a_refusal_shows_within_two_seconds(worker):
    token, video = setup_video()
    sim_fault("create", "400")
    clicked = time.monotonic()
    r = generate(token, video)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "queued" and body["jobId"] == str(body["generationId"]) and body["estimatedCost"] == 0.4
    failed = wait_until(lambda: (s := status(token, video).json())["status"] == "failed" and s, timeout=2, interval=0.05,
                        what="the refusal")
    assert time.monotonic() - clicked < 2.5
    assert "refused" in failed["error"] and failed["cost"] == 0 and failed["possiblyBilled"] is False


def test_veo_dialect_processing_without_progress_completes_and_shows_an_estimate(no_worker):
    sim = SimulatorProcess("--dialect", "litellm-veo", "--job-seconds", "4")
    w = WorkerProcess(OPENAI_BASE_URL=sim.url + "/v1")
    try:
        b = Browser()
        b.signup()
        project = b.create_project("Veo")
        video = b.save_video(project, "Veo film", "A glacier calving at dawn")
        b.get(f"/dashboard/videos/{video}/generate")
        r = b.post(f"/dashboard/videos/{video}/generate", {"model": "sora-2", "duration": "4", "aspect_ratio": "16:9",
                                                           "resolution": "720p", "expected_cost": "0.40"})
        assert r.status_code == 200 and "/dashboard/generations/" in r.url
        page_url = r.url.replace(BASE, "")
        seen_in_flight = False
        deadline = time.time() + 30
        while time.time() < deadline:
            page = b.get(page_url).text
            assert "failed" not in page.lower()
            if "Completed" in page:
                break
            if "Generating" in page or "Queued at" in page:
                seen_in_flight = True
                assert "Running for" in page and ("usually takes" in page or "no estimate yet" in page)
            time.sleep(0.3)
        assert seen_in_flight and "Completed" in page
        gid = page_url.rsplit("/", 1)[1]
        assert sql(f"SELECT provider_status || ':' || progress_known FROM generations WHERE id = {gid}") == "completed:false"
        media = b.get(f"/media/generations/{gid}/video.mp4")
        assert media.content == FIXTURE
        # Veo's thumbnail and spritesheet are the MP4 again: skipped, never stored; made from the video instead.
        assert sql(f"""SELECT thumbnail_skipped AND spritesheet_skipped AND thumbnail_source = 'local' AND spritesheet_source = 'local'
                       FROM generations WHERE id = {gid}""") == "t"
        assert sim.stats()["jobs"] == 1
    finally:
        w.stop()
        sim.stop()


@pytest.mark.parametrize("kind,outcome", [("late", "completed"), ("drop", "completed"),
                                          ("hang", "failed"), ("500", "failed"), ("502", "failed"), ("504", "failed")])
def test_a_create_sent_is_never_sent_again(no_worker, kind, outcome):
    """A lost answer (late, dropped) is found in the list and adopted; a timeout or a 5xx other than 503
    leaves no job in the list, so the generation is unconfirmed and possibly billed. Never a second create."""
    token, video = setup_video(f"[sim:seconds=1] {kind} answer")
    before = sim_stats()
    sim_fault("create", kind, hang_seconds=4)
    assert generate(token, video).status_code == 200
    w = WorkerProcess(PROMPTREEL_PROVIDER_TIMEOUT_MS=1500, PROMPTREEL_RECONCILE_DELAY_SECONDS=1)
    try:
        result, _ = wait_status(token, video, outcome, timeout=40)
        if outcome == "completed":
            assert api("GET", result["videoUrl"], token).content == FIXTURE
            assert sim_stats()["jobs"] - before["jobs"] == 1
        else:
            assert result["errorCode"] == "unconfirmed" and result["possiblyBilled"] is True and result["cost"] == 0.4
            time.sleep(1)
        assert sim_stats()["create"] - before["create"] == 1
    finally:
        w.stop()


def warm_worker_and_video(prompt):
    """A worker whose provider connection is warm (it has just created, polled and downloaded a video)
    and a second video of the same user to click next."""
    token, first = setup_video("[sim:seconds=1] warm the connection")
    w = WorkerProcess(PROMPTREEL_RECONCILE_DELAY_SECONDS=1)
    try:
        assert generate(token, first).status_code == 200
        done, _ = wait_status(token, first, "completed")
    except BaseException:
        w.stop()
        raise
    project = api("GET", f"/api/videos/{first}", token).json()["project_id"]
    second = api("POST", f"/api/projects/{project}/videos", token, json={"title": "second", "final_prompt": prompt}).json()["id"]
    return w, token, first, second, done["generationId"]


@pytest.mark.parametrize("list_refused", [False, True])
def test_a_create_dropped_on_a_reused_connection_is_sent_once(no_worker, list_refused):
    """libcurl resends a request whose reused connection died before any answer, POSTs included: the
    create travels on a fresh connection, so the provider gets it once, and the engine settles it from
    the list (or, with the list refused, says unconfirmed and possibly billed)."""
    w, token, _, video, _ = warm_worker_and_video(f"[sim:seconds=1] dropped on a warm connection {list_refused}")
    try:
        before = sim_stats()
        sim_fault("create", "drop")
        if list_refused:
            sim_fault("list", "400")
        assert generate(token, video).status_code == 200
        if list_refused:
            result, _ = wait_status(token, video, "failed", timeout=30)
            assert result["errorCode"] == "unconfirmed" and result["possiblyBilled"] is True and result["cost"] == 0.4
        else:
            result, _ = wait_status(token, video, "completed", timeout=30)
            assert api("GET", result["videoUrl"], token).content == FIXTURE
        after = sim_stats()
        assert after["create"] - before["create"] == 1 and after["jobs"] - before["jobs"] == 1
    finally:
        w.stop()


def test_a_remix_dropped_on_a_reused_connection_is_sent_once(no_worker):
    w, token, video, _, source = warm_worker_and_video("unused")
    try:
        before = sim_stats()
        sim_fault("remix", "drop")
        r = api("POST", f"/api/generations/{source}/remix", token, json={"prompt": "the same, at dusk [sim:seconds=1]"})
        assert r.status_code == 200, r.text
        done, _ = wait_until(lambda: (s := status(token, video).json())["status"] in ("completed", "failed")
                             and s["generationId"] == r.json()["generationId"] and (s, None), timeout=30, what="the remix settled")
        assert done["status"] == "completed" and done["generationId"] == r.json()["generationId"]
        after = sim_stats()
        assert after["remix"] - before["remix"] == 1 and after["jobs"] - before["jobs"] == 1
    finally:
        w.stop()


def test_refused_connection_and_503_are_resent(no_worker):
    token, video = setup_video("[sim:seconds=1] resend")
    before = sim_stats()
    assert generate(token, video).status_code == 200
    nowhere = WorkerProcess(OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    try:
        wait_until(lambda: int(generation_row(video, "submit_attempts")) >= 2, what="two refused attempts")
        assert generation_row(video, "status || ':' || phase") == "queued:waiting"
    finally:
        nowhere.stop()
    sql("UPDATE generations SET next_attempt_at = now() WHERE phase = 'waiting'")
    sim_fault("create", "503")
    w = WorkerProcess()
    try:
        wait_status(token, video, "completed")
        after = sim_stats()
        assert after["create"] - before["create"] == 2 and after["jobs"] - before["jobs"] == 1
    finally:
        w.stop()


def test_rate_limited_create_waits_out_retry_after_then_completes(worker):
    token, video = setup_video("[sim:seconds=1] rate limited")
    before = sim_stats()["create"]
    sim_fault("create", "429", retry_after=2)
    assert generate(token, video).status_code == 200
    wait_until(lambda: sim_stats()["create"] - before >= 1, what="the refused create")
    assert status(token, video).json()["status"] == "queued"
    wait_status(token, video, "completed")
    assert sim_stats()["create"] - before == 2


def test_unconfirmed_without_a_list_then_adopted_by_the_operator(no_worker):
    token, video = setup_video("[sim:seconds=1] adopt me")
    sim_fault("create", "late", hang_seconds=4)
    sim_fault("list", "400")
    before = sim_stats()
    assert generate(token, video).status_code == 200
    w = WorkerProcess(PROMPTREEL_PROVIDER_TIMEOUT_MS=1500, PROMPTREEL_RECONCILE_DELAY_SECONDS=1)
    try:
        failed, _ = wait_status(token, video, "failed", timeout=30)
        assert failed["errorCode"] == "unconfirmed" and failed["possiblyBilled"] is True and failed["cost"] == 0.4
        gid = failed["generationId"]
        assert generation_row(video, "phase") == "unconfirmed"
        assert sim_stats()["create"] - before["create"] == 1
        listing = requests.get(SIM + "/v1/videos?limit=100", headers={"Authorization": "Bearer sim-test-key"}, timeout=5).json()
        job = next(v["id"] for v in listing["data"] if v["prompt"] == "[sim:seconds=1] adopt me")
        adopt = subprocess.run([os.environ["PROMPTREEL_BIN"], "generations", "adopt", "--id", str(gid), "--provider-job-id", job],
                               capture_output=True, text=True, timeout=30)
        assert adopt.returncode == 0, adopt.stderr
        done, _ = wait_status(token, video, "completed")
        assert api("GET", f"/api/generations/{gid}", token).json()["possiblyBilled"] is False
        again = subprocess.run([os.environ["PROMPTREEL_BIN"], "generations", "adopt", "--id", str(gid), "--provider-job-id", job + "x"],
                               capture_output=True, text=True, timeout=30)
        assert again.returncode != 0 and "only an unconfirmed generation" in again.stderr
        assert sim_stats()["create"] - before["create"] == 1
    finally:
        w.stop()


def test_media_is_checked_by_its_bytes(worker):
    # Not ready twice (JSON labelled video/mp4), then the real video.
    token, video = setup_video("[sim:seconds=1][sim:content-not-ready=2] slow gateway")
    assert generate(token, video).status_code == 200
    done, _ = wait_status(token, video, "completed", timeout=40)
    assert api("GET", done["videoUrl"], token).content == FIXTURE
    # Never ready: nothing stored; at the provider's expiry, download_failed and possibly billed.
    token, video = setup_video("[sim:seconds=1][sim:content-not-ready=100000][sim:expires=3] never ready")
    assert generate(token, video).status_code == 200
    failed, _ = wait_status(token, video, "failed", timeout=40)
    assert failed["errorCode"] == "download_failed" and failed["possiblyBilled"] is True and failed["cost"] == 0.4
    gid = failed["generationId"]
    assert generation_row(video, "video_path IS NULL") == "t"
    assert not os.path.exists(os.path.join(os.environ["PROMPTREEL_LOCAL"], "media", str(gid), "video.mp4"))
    # A body naming a definite failure: failed at once, not billed.
    token, video = setup_video("[sim:seconds=1][sim:content-failed] filtered")
    assert generate(token, video).status_code == 200
    failed, _ = wait_status(token, video, "failed", timeout=30)
    assert failed["errorCode"] == "content_filter" and failed["possiblyBilled"] is False and failed["cost"] == 0
    # Runway style (image-to-video only): the thumbnail and spritesheet are the MP4 again: not stored (made
    # from the video instead, see test_posters.py), the video kept.
    token, video = setup_video("[sim:seconds=1][sim:dialect=litellm-runway] runway")
    assert put_image(token, video, encoded("PNG", (640, 360)), "image/png").status_code == 200
    assert generate(token, video).status_code == 200
    done, _ = wait_status(token, video, "completed", timeout=30)
    assert api("GET", done["videoUrl"], token).content == FIXTURE
    assert api("GET", done["thumbnailUrl"], token).content[:4] == b"RIFF"
    # ffprobe measured the delivered video.
    one = api("GET", f"/api/generations/{done['generationId']}", token).json()
    assert one["deliveredSeconds"] is not None and one["deliveredSize"]
    # Without a picture Runway refuses the create (400): failed at once, not billed, never resent.
    token, video = setup_video("[sim:seconds=1][sim:dialect=litellm-runway] runway, no picture")
    before = sim_stats()
    assert generate(token, video).status_code == 200
    failed, _ = wait_status(token, video, "failed", timeout=30)
    assert failed["possiblyBilled"] is False and failed["cost"] == 0 and "input image" in failed["error"], failed
    after = sim_stats()
    assert after["create"] - before["create"] == 1 and after["jobs"] == before["jobs"]


def test_breaker_pauses_creates_shows_a_banner_then_recovers(no_worker):
    b = Browser()
    b.signup()
    token = b.create_token()
    project = b.create_project("Breaker")
    video = api("POST", f"/api/projects/{project}/videos", token, json={"title": "b", "final_prompt": "[sim:seconds=1] breaker"}).json()["id"]
    sim_fault("create", "503", count=5)
    before = sim_stats()["create"]
    w = WorkerProcess(PROMPTREEL_BREAKER_PAUSE_SECONDS=6)
    try:
        assert generate(token, video).status_code == 200
        wait_until(lambda: api("GET", "/healthz").json()["provider"] == "degraded", timeout=30, what="the breaker to open")
        assert sim_stats()["create"] - before == 5
        assert "The video provider is not answering" in b.get(f"/dashboard/projects/{project}").text
        # Due again at once, yet nothing is sent while the pause lasts.
        sql(f"UPDATE generations SET next_attempt_at = now() WHERE video_id = {video}")
        time.sleep(1.5)
        assert sim_stats()["create"] - before == 5
        assert sql("SELECT paused_until > now() FROM provider_health WHERE provider = 'default'") == "t"
        assert status(token, video).json()["status"] == "queued"
        wait_status(token, video, "completed", timeout=30)
        assert sim_stats()["create"] - before == 6
        assert api("GET", "/healthz").json()["provider"] == "ok"
        assert "The video provider is not answering" not in b.get(f"/dashboard/projects/{project}").text
    finally:
        w.stop()


def test_a_waiting_generation_can_be_cancelled_and_costs_nothing(no_worker):
    token, video = setup_video("cancel me")
    gid = generate(token, video).json()["generationId"]
    r = api("POST", f"/api/generations/{gid}/cancel", token)
    assert r.status_code == 200 and r.json()["status"] == "failed" and r.json()["errorCode"] == "cancelled" and r.json()["cost"] == 0
    assert api("POST", f"/api/generations/{gid}/cancel", token).status_code == 409
    other, _ = setup_video()
    assert api("POST", f"/api/generations/{gid}/cancel", other).status_code == 404


EXTREMES = ["99999999999999999", "9999999999999999999", "123456789012345678901234567890", "-1", "-0.4", "4e-1", "1E3",
            "9223372036854775808", "-9223372036854775809", "0x10", "NaN", "Infinity", "1.5", ""]


def app_pid():
    return open(os.path.join(os.environ["PROMPTREEL_LOCAL"], "app.pid")).read().strip()


def test_extreme_numbers_everywhere_get_a_4xx_and_the_process_lives():
    pid = app_pid()
    b = Browser()
    b.signup()
    token = b.create_token()
    project = b.create_project("Numbers")
    video = b.save_video(project, "n", "numbers")
    seen = []
    for value in EXTREMES:
        for body in ({"expectedCost": value}, {"expectedCost": float(value) if re.fullmatch(r"-?\d+(\.\d+)?", value) else value},
                     {"settings": {"duration": value}}, {"settings": {"duration": int(value)} if re.fullmatch(r"-?\d+", value) else {"duration": value}}):
            r = api("POST", f"/api/videos/{video}/generate-sora", token, json=body)
            seen.append(r.status_code)
            assert 400 <= r.status_code < 500, (body, r.status_code, r.text)
            assert "error" in r.json()
        raw = api("POST", f"/api/videos/{video}/generate-sora", token, data=f'{{"expectedCost": {value or 0}}}',
                  headers={"Content-Type": "application/json"})
        assert 400 <= raw.status_code < 500, (value, raw.text)
        for path in (f"/api/videos/{value}", f"/api/videos/{value}/sora-status", f"/api/generations/{value}",
                     f"/api/projects/{value}/videos", f"/media/generations/{value}/video.mp4"):
            r = api("GET", path, token)
            assert r.status_code == 404, (path, r.status_code)
        for path in (f"/dashboard/generations/{value}", f"/dashboard/videos/{value}", f"/dashboard/projects/{value}"):
            r = b.get(path, allow_redirects=False)
            assert r.status_code == 404, (path, r.status_code)
        if value:  # an empty value means "the default"
            r = api("GET", f"/api/models/estimate?duration={value}", token)
            assert r.status_code == 422, (value, r.text)
        b.get(f"/dashboard/videos/{video}/generate?duration={value}")  # the page falls back to defaults
        r = b.post(f"/dashboard/videos/{video}/generate", {"duration": value, "expected_cost": value or "x"})
        assert 400 <= r.status_code < 500, (value, r.status_code)
        r = b.post(f"/account/tokens/{value}/delete", {})
        assert r.status_code == 404, (value, r.status_code)
    assert api("GET", "/healthz").status_code == 200 and app_pid() == pid
    assert sql(f"SELECT count(*) FROM generations WHERE video_id = {video}") == "0"
