"""The process caches (issue 10) stay correct: two app processes behind two nginx sites share one
database; every change that alters a cached answer reaches both within a second, including after a
PostgreSQL restart (the caches are off while their listener is disconnected, and start empty after)."""
import os
import re
import signal
import subprocess
import tempfile
import time
import uuid

import pytest
import requests

from conftest import BASE, ROOT_DIR, Browser, api, sql, wait_until
from test_generations import generate, setup_video, status, wait_status

SECOND_PORT = int(os.environ.get("TEST_PORT", "18080")) + 7


class SecondSite:
    """Another `promptreel serve` behind another nginx, started the way scripts/test starts the first."""

    def __init__(self, unset=()):
        """`unset`: environment variables the second site runs without (e.g. its mail relay)."""
        self.dir = tempfile.mkdtemp(prefix="promptreel-second-")
        script = f"""
            {"".join(f"unset {name}; " for name in unset)}source '{ROOT_DIR}/scripts/lib.sh'
            LOCAL='{self.dir}'; BIN='{os.environ["PROMPTREEL_BIN"]}'
            start_app --no-worker && start_nginx {SECOND_PORT} && echo ready && wait
        """
        self.log = open(os.path.join(self.dir, "run.log"), "w")
        self.proc = subprocess.Popen(["bash", "-c", script], stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     start_new_session=True)
        assert self.proc.stdout.readline().strip() == "ready", open(os.path.join(self.dir, "run.log")).read()
        self.base = f"http://127.0.0.1:{SECOND_PORT}"

    def api(self, method, path, token=None, **kw):
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.base + path, headers=headers, timeout=10, **kw)

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=20)


@pytest.fixture
def second():
    site = SecondSite()
    yield site
    site.stop()


def within_a_second(check, what):
    started = time.monotonic()
    wait_until(check, timeout=3, interval=0.05, what=what)
    took = time.monotonic() - started
    assert took < 1.0, f"{what} took {took:.2f} s"


def test_a_revoked_token_fails_within_a_second_on_every_process(second):
    b = Browser()
    b.signup()
    token = b.create_token()
    for _ in range(3):  # warm both caches
        assert api("GET", "/api/projects", token).status_code == 200
        assert second.api("GET", "/api/projects", token).status_code == 200
    page = b.get("/account").text
    token_id = re.search(r'action="/account/tokens/(\d+)/delete"', page).group(1)
    assert b.post(f"/account/tokens/{token_id}/delete", {}).status_code == 200
    within_a_second(lambda: api("GET", "/api/projects", token).status_code == 401
                    and second.api("GET", "/api/projects", token).status_code == 401, "the revocation")


def test_a_deleted_user_is_gone_within_a_second(second):
    b = Browser()
    email = b.signup()
    token = b.create_token()
    assert api("GET", "/api/projects", token).status_code == 200 and second.api("GET", "/api/projects", token).status_code == 200
    sql(f"DELETE FROM users WHERE lower(email) = lower('{email}')")
    within_a_second(lambda: api("GET", "/api/projects", token).status_code == 401
                    and second.api("GET", "/api/projects", token).status_code == 401, "the deletion")
    assert b.get("/dashboard", allow_redirects=False).status_code == 303  # the session went with the user


def test_a_new_generation_shows_in_status_within_a_second(worker, second):
    token, video = setup_video("[sim:seconds=0.5] cached film")
    assert generate(token, video).status_code == 200
    done, _ = wait_status(token, video, "completed")
    for _ in range(3):  # cached (finished) on both processes
        assert status(token, video).json()["generationId"] == done["generationId"]
        assert second.api("GET", f"/api/videos/{video}/sora-status", token).json()["generationId"] == done["generationId"]
    again = generate(token, video)
    assert again.status_code == 200
    new_id = again.json()["generationId"]
    within_a_second(lambda: status(token, video).json()["generationId"] == new_id
                    and second.api("GET", f"/api/videos/{video}/sora-status", token).json()["generationId"] == new_id,
                    "the new generation")
    wait_status(token, video, "completed")


def test_the_process_that_took_a_click_answers_for_it_at_once(no_worker):
    """No NOTIFY round trip for the clicking process: the very next status is the new generation's."""
    token, video = setup_video("cached then clicked")
    gid = generate(token, video).json()["generationId"]
    for round_ in range(5):
        sql(f"UPDATE generations SET status = 'completed', phase = 'done', actual_cost = estimated_cost, completed_at = now() WHERE id = {gid}")
        wait_until(lambda: status(token, video).json()["status"] == "completed", timeout=5, what="the finished status")
        assert status(token, video).json()["generationId"] == gid  # cached now
        r = generate(token, video)
        assert r.status_code == 200, r.text
        gid = r.json()["generationId"]
        answer = status(token, video).json()
        assert (answer["generationId"], answer["status"]) == (gid, "queued"), (round_, answer)
    # And a cancel (before anything was sent) shows at once too.
    assert api("POST", f"/api/generations/{gid}/cancel", token).status_code == 200
    assert status(token, video).json()["errorCode"] == "cancelled"


def test_an_adoption_changes_a_cached_failure_within_a_second(no_worker, second):
    token, video = setup_video("adopted later")
    gid = sql(f"""
        INSERT INTO generations (video_id, user_id, settings, prompt, model, seconds, size, resolution, estimated_cost,
                                 status, phase, possibly_billed, actual_cost, error_code, error_message, completed_at)
        SELECT v.id, p.user_id, '{{}}', v.final_prompt, 'sora-2', 4, '1280x720', '720p', 0.40,
               'failed', 'unconfirmed', true, 0.40, 'unconfirmed', 'lost', now()
        FROM videos v JOIN projects p ON p.id = v.project_id WHERE v.id = {video} RETURNING id""").splitlines()[0]
    for _ in range(3):
        assert status(token, video).json()["status"] == "failed"
        assert second.api("GET", f"/api/videos/{video}/sora-status", token).json()["status"] == "failed"
    adopt = subprocess.run([os.environ["PROMPTREEL_BIN"], "generations", "adopt", "--id", gid, "--provider-job-id", f"video_by_hand_{uuid.uuid4().hex}"],
                           capture_output=True, text=True, timeout=30)
    assert adopt.returncode == 0, adopt.stderr
    within_a_second(lambda: status(token, video).json()["status"] == "queued"
                    and second.api("GET", f"/api/videos/{video}/sora-status", token).json()["status"] == "queued", "the adoption")
    sql(f"UPDATE generations SET status = 'failed', phase = 'done' WHERE id = {gid}")


def test_etag_and_304_on_status(worker):
    token, video = setup_video("[sim:seconds=0.5] etag film")
    generate(token, video)
    wait_status(token, video, "completed")
    first = status(token, video)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and first.headers["Cache-Control"] == "private, no-cache"
    again = api("GET", f"/api/videos/{video}/sora-status", token, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
    other = api("GET", f"/api/videos/{video}/sora-status", token, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.json() == first.json()
    # Media: nginx's own ETag through X-Accel-Redirect, and a 304 for a client that has the file.
    media = api("GET", first.json()["videoUrl"], token)
    assert media.status_code == 200 and media.headers.get("ETag")
    cached = api("GET", first.json()["videoUrl"], token, headers={"If-None-Match": media.headers["ETag"]})
    assert cached.status_code == 304 and cached.content == b""


def test_the_caches_answer_without_the_database_until_told(second):
    """Proves the caches are used at all: with the token table's trigger off, a deleted token still
    works on both processes (nothing told them); the next invalidation ends it within a second."""
    b = Browser()
    email = b.signup()
    token = b.create_token()
    for _ in range(3):
        assert api("GET", "/api/projects", token).status_code == 200 and second.api("GET", "/api/projects", token).status_code == 200
    sql("ALTER TABLE api_tokens DISABLE TRIGGER api_tokens_cache")
    try:
        sql(f"DELETE FROM api_tokens WHERE user_id = (SELECT id FROM users WHERE lower(email) = lower('{email}'))")
        time.sleep(0.5)
        assert api("GET", "/api/projects", token).status_code == 200 and second.api("GET", "/api/projects", token).status_code == 200
    finally:
        sql("ALTER TABLE api_tokens ENABLE TRIGGER api_tokens_cache")
    sql(f"UPDATE users SET email = email WHERE lower(email) = lower('{email}')")  # any change to the user: `auth`
    within_a_second(lambda: api("GET", "/api/projects", token).status_code == 401
                    and second.api("GET", "/api/projects", token).status_code == 401, "the next invalidation")


def test_caches_follow_a_postgres_restart(worker, second):
    b = Browser()
    email = b.signup()
    token = b.create_token()
    project = api("POST", "/api/projects", token, json={"name": "Restart"}).json()["id"]
    video = api("POST", f"/api/projects/{project}/videos", token, json={"title": "r", "final_prompt": "[sim:seconds=0.5] restart"}).json()["id"]
    assert generate(token, video).status_code == 200
    wait_status(token, video, "completed")
    path = f"/api/videos/{video}/sora-status"
    for _ in range(3):  # a finished status: answered from the caches alone
        assert api("GET", path, token).status_code == 200 and second.api("GET", path, token).status_code == 200
    subprocess.run(["bash", "-c", os.environ["PROMPTREEL_PG_STOP"]], check=True)
    try:
        # No cached answer pretends the database is there: the caches are off while their listener is down.
        wait_until(lambda: api("GET", path, token).status_code == 503
                   and second.api("GET", path, token).status_code == 503, timeout=2, interval=0.05, what="503s")
    finally:
        subprocess.run(["bash", "-c", os.environ["PROMPTREEL_PG_START"]], check=True)
    # Revoked right after the restart, perhaps before a listener is back: still gone within a second
    # (a reconnected listener starts from an empty cache).
    wait_until(lambda: api("GET", "/api/projects", token).status_code == 200
               and second.api("GET", "/api/projects", token).status_code == 200, timeout=15, what="recovery")
    sql(f"DELETE FROM api_tokens WHERE user_id = (SELECT id FROM users WHERE lower(email) = lower('{email}'))")
    within_a_second(lambda: api("GET", "/api/projects", token).status_code == 401
                    and second.api("GET", "/api/projects", token).status_code == 401, "the revocation after a restart")

