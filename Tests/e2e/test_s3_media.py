"""Media in an S3 bucket (issue 25): a second PromptReel site whose media live in a bucket of a real S3 server
(OpenStack Swift's S3 API, started by scripts/test) — its own `serve`, worker, nginx and scratch directory, the same
database. The media paths the local-disk tests walk, against the bucket: a video, poster and spritesheet stored and
served through nginx's proxy of a presigned URL (Range, the download's name, someone else's a 404, an object gone
from the bucket PromptReel's own 404); posters made from the stored video; reference images, original and fitted;
a deleted video's objects removed by the worker; the sweep; and a store that goes down while a video waits to be
stored: the generation says so, /healthz says so, nothing fails, and it completes once the store is back."""
import hashlib
import io
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

import boto3
import pytest
import requests
from botocore.config import Config
from PIL import Image

from conftest import PASSWORD, ROOT_DIR, Browser, WorkerProcess, api, sql, wait_until

TEST_PORT = int(os.environ.get("TEST_PORT", "18080"))
PORT = TEST_PORT + 30
S3_URL = os.environ.get("PROMPTREEL_TEST_S3_URL", "")
BUCKET = "promptreel-e2e"


def s3_client():
    return boto3.client("s3", endpoint_url=S3_URL, aws_access_key_id="test:tester", aws_secret_access_key="testing",
                        region_name="us-east-1", config=Config(s3={"addressing_style": "path"},
                                                               retries={"max_attempts": 1}))


class S3Site:
    """A PromptReel whose new media go to s3://promptreel-e2e/<prefix>: its own processes, the shared database, and
    the first site's media directory as its local store — the same host, switched to a bucket (rows written before
    the switch say `local` and are read from there; its workers may finish them)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="promptreel-s3site-")
        self.prefix = f"site-{uuid.uuid4().hex[:8]}"
        self.env = {
            "PROMPTREEL_MEDIA_STORE": f"s3://{BUCKET}/{self.prefix}", "AWS_ACCESS_KEY_ID": "test:tester",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_ENDPOINT_URL": S3_URL, "AWS_REGION": "us-east-1",
            "PROMPTREEL_MEDIA_DIR": os.environ["PROMPTREEL_MEDIA_DIR"],
        }
        script = f"""
            source '{ROOT_DIR}/scripts/lib.sh'
            BIN='{os.environ["PROMPTREEL_BIN"]}' LOCAL='{self.dir}'
            "$BIN" media check --create-bucket >&2 || exit 1
            start_app --no-worker || exit 1
            start_nginx {PORT} && echo ready && wait
        """
        self.log = open(os.path.join(self.dir, "run.log"), "w")
        self.proc = subprocess.Popen(["bash", "-c", script], stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     start_new_session=True, env={**os.environ, **self.env})
        assert self.proc.stdout.readline().strip() == "ready", open(os.path.join(self.dir, "run.log")).read()
        self.base = f"http://127.0.0.1:{PORT}"
        self.worker = WorkerProcess(**self.env)
        self.s3 = s3_client()

    def api(self, method, path, token=None, **kw):
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.base + path, headers=headers, timeout=10, **kw)

    def keys(self, under=""):
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{self.prefix}/{under}")
        return sorted(o["Key"][len(self.prefix) + 1:] for page in pages for o in page.get("Contents", []))

    def object(self, key):
        return self.s3.get_object(Bucket=BUCKET, Key=f"{self.prefix}/{key}")["Body"].read()

    def stop(self):
        self.worker.stop()
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=20)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def site():
    s = S3Site()
    yield s
    s.stop()


def signed_in(site, email):
    """A browser session on the bucket site (pages take a session, not a token)."""
    s = requests.Session()
    csrf = re.search(r'name="_csrf" value="([^"]+)"', s.get(site.base + "/login", timeout=10).text).group(1)
    r = s.post(site.base + "/login", data={"email": email, "password": PASSWORD, "_csrf": csrf}, timeout=10)
    assert r.status_code == 200 and r.url.endswith("/dashboard"), r.text[:300]
    return s


def account(site, prompt="A lighthouse at dusk [sim:seconds=1]"):
    b = Browser()
    site.email = b.signup()
    token = b.create_token()  # the same database: the token works on both sites
    project = site.api("POST", "/api/projects", token, json={"name": "In the bucket"}).json()["id"]
    video = site.api("POST", f"/api/projects/{project}/videos", token,
                     json={"title": "Dusk, “lighthouse”", "final_prompt": prompt}).json()["id"]
    return token, project, video


def generate(site, token, video):
    r = site.api("POST", f"/api/videos/{video}/generate-sora", token, json={})
    assert r.status_code == 200, r.text
    gid = r.json()["generationId"]
    wait_until(lambda: site.api("GET", f"/api/generations/{gid}", token).json()["status"] in ("completed", "failed"),
               timeout=60, what="the generation to finish")
    g = site.api("GET", f"/api/generations/{gid}", token).json()
    assert g["status"] == "completed", g
    return g


def test_a_video_goes_to_the_bucket_and_is_served_from_it(site):
    token, _, video = account(site)
    g = generate(site, token, video)
    gid = g["id"]
    assert sql(f"SELECT media_store FROM generations WHERE id = {gid}") == f"s3://{BUCKET}/{site.prefix}"
    assert site.keys(f"{gid}/") == [f"{gid}/spritesheet.jpg", f"{gid}/thumbnail.webp", f"{gid}/video.mp4"]
    # Nothing of it on disk, and nothing of it left in the scratch directory.
    media_dir = site.env["PROMPTREEL_MEDIA_DIR"]
    assert not os.path.exists(os.path.join(media_dir, str(gid)))
    assert not [f for f in os.listdir(os.path.join(media_dir, "tmp")) if f.startswith(f"{gid}-")]
    stored = site.object(f"{gid}/video.mp4")
    assert hashlib.sha256(stored).hexdigest() == sql(f"SELECT video_sha256 FROM generations WHERE id = {gid}")

    r = site.api("GET", g["videoUrl"], token)
    assert r.status_code == 200 and r.content == stored
    assert r.headers["Content-Type"] == "video/mp4"
    assert not any(k.lower().startswith(("x-amz-", "x-openstack-", "x-trans-id")) for k in r.headers), r.headers
    ranged = site.api("GET", g["videoUrl"], token, headers={"Range": "bytes=10-109"})
    assert ranged.status_code == 206 and ranged.content == stored[10:110]
    assert ranged.headers["Content-Range"] == f"bytes 10-109/{len(stored)}"
    download = site.api("GET", g["videoUrl"] + "?download=1", token)
    assert download.status_code == 200 and download.content == stored
    assert download.headers["Content-Disposition"].startswith('attachment; filename="Dusk_lighthouse-')
    for asset, kind in (("thumbnail.webp", "image/webp"), ("spritesheet.jpg", "image/jpeg")):
        r = site.api("GET", f"/media/generations/{gid}/{asset}", token)
        assert r.status_code == 200 and r.content == site.object(f"{gid}/{asset}"), asset
        assert r.headers["Content-Type"] == kind
    # The first site has no such store configured: a clear 503 page, not a crash nor someone's file.
    assert api("GET", g["videoUrl"], token).status_code == 503
    # Someone else's: 404; the presigned location is never reachable from outside.
    stranger = Browser()
    stranger.signup()
    assert site.api("GET", g["videoUrl"], stranger.create_token()).status_code == 404
    assert site.api("GET", f"/_s3/{BUCKET}/{site.prefix}/{gid}/video.mp4").status_code == 404
    # Gone from the bucket behind PromptReel's back: nginx answers PromptReel's own 404, not the store's XML.
    site.s3.delete_object(Bucket=BUCKET, Key=f"{site.prefix}/{gid}/spritesheet.jpg")
    gone = site.api("GET", f"/media/generations/{gid}/spritesheet.jpg", token)
    assert gone.status_code == 404 and "<Error>" not in gone.text and "Not found" in gone.text


def test_posters_are_made_from_the_stored_video(site):
    token, _, video = account(site, "[sim:seconds=1][sim:dialect=litellm-veo] A lighthouse, MP4 previews")
    g = generate(site, token, video)
    assert g["thumbnailSource"] == "local", g
    poster = site.object(f"{g['id']}/thumbnail.webp")
    assert poster[:4] == b"RIFF" and poster[8:12] == b"WEBP"
    assert site.api("GET", g["thumbnailUrl"], token).content == poster


def encoded_png(size):
    buf = io.BytesIO()
    Image.new("RGB", size, (20, 120, int(time.time() * 1000) % 256)).save(buf, format="PNG")
    return buf.getvalue()


def test_reference_images_live_in_the_bucket(site):
    token, _, video = account(site)
    png = encoded_png((900, 500))
    sha = hashlib.sha256(png).hexdigest()
    r = site.api("PUT", f"/api/videos/{video}/reference-image", token, data=png,
                 headers={"Content-Type": "image/png"})
    assert r.status_code == 200, r.text
    shared = f"references/shared/{sha[:2]}/"
    assert f"{shared}{sha}.png" in site.keys(shared)
    g = generate(site, token, video)
    fitted = [k for k in site.keys(shared) if k.startswith(f"{shared}{sha}-") and k.endswith("-crop.png")]
    assert len(fitted) == 1, site.keys(shared)
    fit = site.api("GET", g["referenceImage"]["fittedUrl"], token)
    assert fit.status_code == 200 and fit.content == site.object(fitted[0])
    assert Image.open(io.BytesIO(fit.content)).size == (1280, 720)
    assert site.api("GET", g["referenceImage"]["url"], token).content == png


def test_a_deleted_videos_objects_are_removed_by_the_worker_and_the_sweep_takes_strays(site):
    token, _, video = account(site)
    g = generate(site, token, video)
    assert site.keys(f"{g['id']}/")
    assert site.api("DELETE", f"/api/videos/{video}", token).status_code == 204
    wait_until(lambda: site.keys(f"{g['id']}/") == [], timeout=20, what="the objects removed by the worker")
    # A stray no row names (a crash between an upload and its commit): the sweep removes it once it is old.
    site.s3.put_object(Bucket=BUCKET, Key=f"{site.prefix}/987654321/video.mp4", Body=b"orphan")
    sweep = subprocess.run([os.environ["PROMPTREEL_BIN"], "media", "sweep"], capture_output=True, text=True,
                           timeout=60, env={**os.environ, **site.env})
    assert sweep.returncode == 0, sweep.stderr
    assert f"removed s3://{BUCKET}/{site.prefix}: 987654321/video.mp4 " in sweep.stdout, sweep.stdout
    assert site.keys("987654321/") == []


def test_a_store_that_goes_down_delays_the_video_and_never_fails_it(site):
    token, _, video = account(site, "A lighthouse in fog [sim:seconds=2]")
    script, s3_dir = os.environ["PROMPTREEL_TEST_S3_SCRIPT"], os.environ["PROMPTREEL_TEST_S3_DIR"]
    port = S3_URL.rsplit(":", 1)[1]
    r = site.api("POST", f"/api/videos/{video}/generate-sora", token, json={})
    assert r.status_code == 200, r.text
    gid = r.json()["generationId"]
    subprocess.run([script, "stop", s3_dir], check=True, capture_output=True, timeout=30)
    try:
        wait_until(lambda: "storing the video" in site.api("GET", f"/api/generations/{gid}", token).json()["message"],
                   timeout=60, what="the generation waiting for the store")
        g = site.api("GET", f"/api/generations/{gid}", token).json()
        assert g["status"] == "in_progress" and g["videoUrl"] is None, g
        page = signed_in(site, site.email).get(f"{site.base}/dashboard/generations/{gid}", timeout=10)
        assert page.status_code == 200 and "storing the video" in page.text
        wait_until(lambda: site.api("GET", "/healthz").json()["storage"] == "degraded", timeout=40,
                   what="/healthz to report the store")
        # The log names the store's error: here curl's "could not connect" (code 7).
        assert "storing the media failed (curl_7)" in open(site.worker.log_path).read()
    finally:
        subprocess.run([script, "start", s3_dir, port, "--one-process"], check=True, capture_output=True, timeout=60)
    wait_until(lambda: site.api("GET", f"/api/generations/{gid}", token).json()["status"] == "completed", timeout=90,
               what="completion once the store is back")
    g = site.api("GET", f"/api/generations/{gid}", token).json()
    assert g["cost"] == g["estimatedCost"] and site.api("GET", g["videoUrl"], token).status_code == 200
    wait_until(lambda: site.api("GET", "/healthz").json()["storage"] == "ok", timeout=40, what="storage ok again")


def test_media_move_to_the_bucket_and_back_while_both_sites_serve(site, worker):
    # Made on the first site, in its local directory.
    b = Browser()
    email = b.signup()
    token = b.create_token()
    project = api("POST", "/api/projects", token, json={"name": "Moving"}).json()["id"]
    video = api("POST", f"/api/projects/{project}/videos", token,
                json={"title": "Moving", "final_prompt": "A river at noon [sim:seconds=1]"}).json()["id"]
    png = encoded_png((640, 480))
    assert api("PUT", f"/api/videos/{video}/reference-image", token, data=png,
               headers={"Content-Type": "image/png"}).status_code == 200
    r = api("POST", f"/api/videos/{video}/generate-sora", token, json={})
    assert r.status_code == 200, r.text
    gid = r.json()["generationId"]
    wait_until(lambda: api("GET", f"/api/generations/{gid}", token).json()["status"] == "completed", what="completion")
    g = api("GET", f"/api/generations/{gid}", token).json()
    before = {url: api("GET", url, token).content
              for url in (g["videoUrl"], g["thumbnailUrl"], g["referenceImage"]["url"], g["referenceImage"]["fittedUrl"])}
    assert sql(f"SELECT media_store FROM generations WHERE id = {gid}") == "local"

    env = {**os.environ, **site.env}
    migrate = [os.environ["PROMPTREEL_BIN"], "media", "migrate", "--user", email, "--to"]
    out = subprocess.run(migrate + [f"s3://{BUCKET}/{site.prefix}"], capture_output=True, text=True, timeout=120,
                         env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 generations, 1 reference images, 0 films" in out.stdout and "0 left" in out.stdout, out.stdout
    assert sql(f"SELECT media_store FROM generations WHERE id = {gid}") == f"s3://{BUCKET}/{site.prefix}"
    assert f"{gid}/video.mp4" in site.keys(f"{gid}/")
    # Served from the bucket by the site configured for it, byte for byte; the first site says it cannot.
    for url, content in before.items():
        assert site.api("GET", url, token).content == content, url
    assert api("GET", g["videoUrl"], token).status_code == 503
    # Again: nothing left to do.
    again = subprocess.run(migrate + [f"s3://{BUCKET}/{site.prefix}"], capture_output=True, text=True, timeout=60,
                           env=env)
    assert again.returncode == 0 and "0 generations, 0 reference images" in again.stdout, again.stdout

    back = subprocess.run(migrate + ["local"], capture_output=True, text=True, timeout=120, env=env)
    assert back.returncode == 0 and "1 generations, 1 reference images" in back.stdout, back.stdout + back.stderr
    assert sql(f"SELECT media_store FROM generations WHERE id = {gid}") == "local"
    for url, content in before.items():
        assert api("GET", url, token).content == content, url


def test_two_hosts_share_nothing_but_the_database_and_the_bucket(site):
    """Two `serve` processes and two workers, each with its own local directory, behind one upstream: either
    process answers every media request; a worker killed while storing a video is taken over by the other."""
    base_dir = tempfile.mkdtemp(prefix="promptreel-twohosts-")
    port = TEST_PORT + 31
    env = {**os.environ, **site.env}
    env.pop("PROMPTREEL_MEDIA_DIR")
    script = f"""
        source '{ROOT_DIR}/scripts/lib.sh'
        BIN='{os.environ["PROMPTREEL_BIN"]}'
        LOCAL='{base_dir}/a' PROMPTREEL_MEDIA_DIR='{base_dir}/a/media' METRICS_LISTEN=127.0.0.1:{TEST_PORT + 32}
        mkdir -p "$LOCAL"; start_app --no-worker || exit 1
        LOCAL='{base_dir}/b' PROMPTREEL_MEDIA_DIR='{base_dir}/b/media' METRICS_LISTEN=127.0.0.1:{TEST_PORT + 33}
        mkdir -p "$LOCAL"; start_app --no-worker || exit 1
        unset METRICS_LISTEN
        LOCAL='{base_dir}' PROMPTREEL_MEDIA_DIR='{base_dir}/nginx-has-no-media' APP_UPSTREAM='{base_dir}/a/app.sock {base_dir}/b/app.sock'
        start_nginx {port} && echo ready && wait
    """
    log = open(os.path.join(base_dir, "run.log"), "w")
    proc = subprocess.Popen(["bash", "-c", script], stdout=subprocess.PIPE, stderr=log, text=True,
                            start_new_session=True, env=env)
    held = other = None
    try:
        assert proc.stdout.readline().strip() == "ready", open(os.path.join(base_dir, "run.log")).read()
        base = f"http://127.0.0.1:{port}"
        site.worker.stop()  # only this test's two workers run
        held = WorkerProcess(PROMPTREEL_FAILPOINT="store-hold=60", **{**site.env, "PROMPTREEL_MEDIA_DIR": f"{base_dir}/w1"})
        token, _, video = account(site, "A harbour at night [sim:seconds=1]")
        r = requests.post(f"{base}/api/videos/{video}/generate-sora", json={}, timeout=10,
                          headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        gid = r.json()["generationId"]
        wait_until(lambda: "failpoint store-hold" in open(held.log_path).read(), timeout=60, what="the video checked")
        held.kill9()  # mid-way: downloaded and checked on its host, not yet in the bucket
        assert site.keys(f"{gid}/video.mp4") == []
        other = WorkerProcess(**{**site.env, "PROMPTREEL_MEDIA_DIR": f"{base_dir}/w2"})
        wait_until(lambda: sql(f"SELECT status FROM generations WHERE id = {gid}") == "completed", timeout=90,
                   what="the other host's worker to take over")
        assert sql(f"SELECT count(*) FROM generations WHERE id = {gid} AND media_store = 's3://{BUCKET}/{site.prefix}'") == "1"
        g = requests.get(f"{base}/api/generations/{gid}", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        stored = site.object(f"{gid}/video.mp4")
        # Each process answers media requests (the upstream spreads them; each counts what it answered), and
        # neither has anything of the video on its own disk.
        def answered(port):
            text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                       if line.startswith("promptreel_http_requests_total"))
        counts = [answered(TEST_PORT + 32), answered(TEST_PORT + 33)]
        for _ in range(12):
            for url in (g["videoUrl"], g["thumbnailUrl"]):
                r = requests.get(base + url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
                assert r.status_code == 200 and r.content == site.object(f"{gid}/{url.rsplit('/', 1)[1]}")
        assert answered(TEST_PORT + 32) > counts[0] and answered(TEST_PORT + 33) > counts[1]
        assert stored and not any(os.path.exists(f"{base_dir}/{name}/media/{gid}") for name in ("a", "b"))
        assert os.listdir(f"{base_dir}/w2/tmp") == []
    finally:
        for w in (held, other):
            if w is not None:
                w.stop()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()
        shutil.rmtree(base_dir, ignore_errors=True)
        if site.worker.proc.poll() is not None:
            site.worker = WorkerProcess(**site.env)
