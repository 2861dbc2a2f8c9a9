"""Generation jobs through real nginx, the real binary, real workers and the simulator:
generate → status → completed → media; exactly once under double clicks, failures, 429s, timeouts,
several workers and kill -9."""
import os
import threading
import time

import pytest
import requests

from conftest import (BASE, ROOT_DIR, Browser, WorkerProcess, api, sim_fault, sim_stats, sql, wait_until)

FIXTURE = open(os.path.join(ROOT_DIR, "Sources/promptreel-sim/Fixtures/video.mp4"), "rb").read()


def setup_video(prompt="A red kite over green hills [sim:seconds=1.5]", title="Kite"):
    b = Browser()
    b.signup()
    token = b.create_token()
    project = api("POST", "/api/projects", token, json={"name": "Films"}).json()["id"]
    video = api("POST", f"/api/projects/{project}/videos", token, json={"title": title, "final_prompt": prompt}).json()["id"]
    return token, video


def generate(token, video, settings=None, **extra):
    return api("POST", f"/api/videos/{video}/generate-sora", token, json={"settings": settings or {}, **extra})


def status(token, video):
    return api("GET", f"/api/videos/{video}/sora-status", token)


def wait_status(token, video, want, timeout=30):
    seen = []

    def check():
        s = status(token, video).json()
        if not seen or seen[-1] != s["status"]:
            seen.append(s["status"])
        return s if s["status"] == want else None
    result = wait_until(check, timeout=timeout, what=f"status {want}")
    return result, seen


def test_generate_watch_complete_and_download(worker):
    token, video = setup_video()
    before = sim_stats()
    r = generate(token, video, {"duration": 4, "aspect_ratio": "16:9", "resolution": "720p", "model": "sora-2"}, expectedCost=0.4)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["status"] == "queued" and body["estimatedCost"] == 0.4
    assert body["jobId"] == str(body["generationId"]) and body["message"]  # ours until the worker has sent it
    done, seen = wait_status(token, video, "completed")
    assert seen[0] in ("queued", "in_progress") and "in_progress" in seen
    assert done["cost"] == 0.4 and done["completedAt"].endswith("Z") and done["videoUrl"].startswith("/media/generations/")
    media = api("GET", done["videoUrl"], token)
    assert media.status_code == 200 and media.content == FIXTURE and media.headers["Content-Type"] == "video/mp4"
    ranged = api("GET", done["videoUrl"], token, headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.content) == 100 and ranged.content == FIXTURE[:100]
    dl = api("GET", done["videoUrl"] + "?download=1", token)
    assert dl.headers["Content-Disposition"].startswith('attachment; filename="Kite-')
    assert api("GET", done["thumbnailUrl"], token).headers["Content-Type"] == "image/webp"
    after = sim_stats()
    assert after["create"] - before["create"] == 1
    assert after["content"] - before["content"] == 3  # video, thumbnail, spritesheet, once each

    provider_job = api("GET", f"/api/generations/{body['generationId']}", token).json()["providerJobId"]
    assert provider_job.startswith("video_")
    info = api("GET", f"/api/videos/{video}", token).json()
    assert info["sora_job_id"] == provider_job and info["sora_generation_status"] == "completed"
    assert info["sora_video_url"] == done["videoUrl"] and info["sora_generation_cost"] == 0.4
    assert info["sora_generation_settings"]["api"] == {"model": "sora-2", "seconds": "4", "size": "1280x720"}
    assert info["sora_started_at"] and info["sora_completed_at"] and info["sora_error_message"] is None
    history = api("GET", f"/api/videos/{video}/generations", token).json()["generations"]
    assert len(history) == 1 and history[0]["status"] == "completed" and history[0]["videoBytes"] == len(FIXTURE)
    one = api("GET", f"/api/generations/{history[0]['id']}", token).json()
    assert one["providerJobId"] == provider_job and one["actualCost"] == 0.4


def test_two_concurrent_clicks_start_one_job(worker):
    token, video = setup_video()
    before = sim_stats()["create"]
    results = []
    barrier = threading.Barrier(2)

    def click():
        barrier.wait()
        results.append(generate(token, video).status_code)
    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409]
    again = generate(token, video)
    assert again.status_code == 409 and again.json()["error"]["code"] == "generation_in_progress"
    wait_status(token, video, "completed")
    assert sim_stats()["create"] - before == 1


def test_failed_job_has_plain_message_and_costs_nothing(worker):
    token, video = setup_video("[sim:fail=moderation_blocked][sim:seconds=1] a forbidden thing")
    assert generate(token, video).status_code == 200
    failed, _ = wait_status(token, video, "failed")
    assert "content policy" in failed["error"] and failed["cost"] == 0 and failed["completedAt"]
    assert api("GET", f"/api/videos/{video}", token).json()["sora_generation_cost"] == 0
    # A failed generation can be generated again.
    assert generate(token, video).status_code == 200


def test_worker_waits_out_a_429_without_failing(no_worker):
    token, video = setup_video()
    generation = insert_waiting_generation(video)
    sim_fault("create", "429", retry_after=2)
    before = sim_stats()["create"]
    w = WorkerProcess()
    try:
        wait_until(lambda: sql(f"SELECT phase = 'waiting' AND next_attempt_at > now() FROM generations WHERE id = {generation}") == "t"
                   or sim_stats()["create"] - before >= 1, what="the 429")
        done, _ = wait_status(token, video, "completed")
        assert sim_stats()["create"] - before == 2  # the refused one and the real one
    finally:
        assert w.stop() == 0


def test_stalled_job_fails_at_the_timeout(worker):
    token, video = setup_video("[sim:stall] never ends")
    assert generate(token, video).status_code == 200
    failed, seen = wait_status(token, video, "failed", timeout=40)
    assert "in_progress" in seen and failed["error"].startswith("Timed out")
    # The provider may still finish and bill it: never recorded as $0.
    assert failed["errorCode"] == "timeout" and failed["possiblyBilled"] is True and failed["cost"] == 0.4


def test_job_nobody_polls_completes_through_the_worker(worker):
    token, video = setup_video()
    generation = generate(token, video).json()["generationId"]
    # Only the read-only endpoint: it never calls the provider.
    done = wait_until(lambda: (g := api("GET", f"/api/generations/{generation}", token).json())["status"] == "completed" and g,
                      what="completion through the worker")
    assert done["videoUrl"] and done["actualCost"] == 0.4


def test_two_workers_download_each_file_once(worker):
    extra = WorkerProcess()
    try:
        before = sim_stats()
        jobs = [setup_video(f"film {i} [sim:seconds=1]") for i in range(4)]
        for token, video in jobs:
            assert generate(token, video).status_code == 200
        for token, video in jobs:
            gid = status(token, video).json()["generationId"]
            wait_until(lambda: api("GET", f"/api/generations/{gid}", token).json()["status"] == "completed", what="completion")
        after = sim_stats()
        assert after["create"] - before["create"] == 4
        assert after["content"] - before["content"] == 12
    finally:
        assert extra.stop() == 0


def test_kill9_mid_job_then_restart_completes_once(no_worker):
    token, video = setup_video("[sim:seconds=3] slow film")
    before = sim_stats()
    assert generate(token, video).status_code == 200
    w1 = WorkerProcess()
    wait_until(lambda: sql(f"SELECT polls > 0 FROM generations WHERE video_id = {video}") == "t", what="the worker's first poll")
    w1.kill9()
    w2 = WorkerProcess()
    try:
        gid = sql(f"SELECT id FROM generations WHERE video_id = {video}")
        wait_until(lambda: sql(f"SELECT status FROM generations WHERE id = {gid}") == "completed", timeout=60, what="completion")
        after = sim_stats()
        assert after["create"] - before["create"] == 1
        assert after["content"] - before["content"] == 3
        assert sql(f"SELECT count(*) FROM generations WHERE video_id = {video}") == "1"
    finally:
        assert w2.stop() == 0


def test_crash_between_create_and_record_adopts_the_orphan(no_worker):
    token, video = setup_video("[sim:seconds=1] orphan film")
    generation = insert_waiting_generation(video)
    before = sim_stats()["create"]
    crashing = WorkerProcess(PROMPTREEL_FAILPOINT="after-create", PROMPTREEL_RECONCILE_DELAY_SECONDS=1)
    assert crashing.proc.wait(timeout=30) == 137
    assert sim_stats()["create"] - before == 1
    assert sql(f"SELECT phase || ':' || coalesce(provider_job_id, '-') FROM generations WHERE id = {generation}") == "submitting:-"
    w = WorkerProcess(PROMPTREEL_RECONCILE_DELAY_SECONDS=1)
    try:
        wait_until(lambda: sql(f"SELECT status FROM generations WHERE id = {generation}") == "completed", timeout=60, what="adoption")
        assert sim_stats()["create"] - before == 1  # adopted, not created again
        assert sql(f"SELECT provider_job_id LIKE 'video_%' FROM generations WHERE id = {generation}") == "t"
    finally:
        assert w.stop() == 0


def test_generate_refusals(worker):
    token, video = setup_video()
    r = generate(token, video, {"model": "sora-2", "resolution": "1080p"})
    assert r.status_code == 422 and "sora-2 offers 720p" in r.json()["error"]["message"]
    r = generate(token, video, {"aspect_ratio": "1:1"})
    assert r.status_code == 422 and "16:9 or 9:16" in r.json()["error"]["message"]
    r = generate(token, video, {}, expectedCost=0.5)
    assert r.status_code == 409 and r.json()["error"]["code"] == "price_changed"
    assert status(token, video).json()["error"]["code"] == "no_generation"
    project = api("POST", "/api/projects", token, json={"name": "Empty"}).json()["id"]
    empty = api("POST", f"/api/projects/{project}/videos", token, json={"title": "No prompt"}).json()["id"]
    r = generate(token, empty)
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("final_prompt:")
    r = api("POST", f"/api/videos/{video}/generate-sora", token, data=b"{bad", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert api("POST", f"/api/videos/{video}/generate-sora", token).status_code == 200  # an empty body means defaults
    wait_status(token, video, "completed")


def test_someone_elses_generation_media_and_status_are_404(worker):
    token, video = setup_video()
    generate(token, video)
    done, _ = wait_status(token, video, "completed")
    other, _ = setup_video()
    gid = done["generationId"]
    assert api("GET", f"/api/videos/{video}/sora-status", other).status_code == 404
    assert api("POST", f"/api/videos/{video}/generate-sora", other, json={}).status_code == 404
    assert api("GET", f"/api/generations/{gid}", other).status_code == 404
    assert api("GET", f"/api/videos/{video}/generations", other).status_code == 404
    for url in (done["videoUrl"], done["thumbnailUrl"], done["videoUrl"] + "?download=1"):
        assert api("GET", url, other).status_code == 404
        anonymous = api("GET", url, allow_redirects=False)
        assert anonymous.status_code == 303 and anonymous.headers["Location"].startswith("/login")
    assert api("GET", f"/media/generations/{gid}/other.mp4", token).status_code == 404
    assert api("GET", f"/_media/{gid}/video.mp4", token).status_code == 404


def insert_waiting_generation(video):
    """A generation waiting locally, exactly as the generate call leaves one when no slot is free."""
    return sql(f"""
        INSERT INTO generations (video_id, user_id, settings, prompt, model, seconds, size, resolution, estimated_cost)
        SELECT v.id, p.user_id, '{{"model":"sora-2","duration":4,"aspect_ratio":"16:9","resolution":"720p"}}', v.final_prompt,
               'sora-2', 4, '1280x720', '720p', calculate_sora_generation_cost(4, '720p', 'sora-2')
        FROM videos v JOIN projects p ON p.id = v.project_id WHERE v.id = {video} RETURNING id""").splitlines()[0]
