"""Issue 23, part 4, through nginx with the simulator: a project's chosen takes stitched into one film by a
worker — cuts without re-encoding when the shots match, crossfades, mixed sizes / frame rates / audio
normalised — checked with ffprobe; out-of-date marking; refusals; a worker killed mid-stitch; read-only
links for someone without an account."""
import glob
import json
import os
import subprocess
import time

import requests

from conftest import BASE, Browser, WorkerProcess, api, sql, wait_until
from test_budgets import SETTINGS
from test_pages_valid import assert_valid

MEDIA = os.environ.get("PROMPTREEL_MEDIA_DIR", "")


def project_of(clips, name="Film"):
    """A project whose shots render the simulator's `[sim:clip=…]` clips, every shot generated in one click."""
    b = Browser()
    b.signup()
    token = b.create_token()
    project = api("POST", "/api/projects", token, json={"name": name}).json()["id"]
    ids = [api("POST", f"/api/projects/{project}/videos", token,
               json={"title": f"Shot {i + 1}", "final_prompt": f"Shot {i + 1} [sim:seconds=0.5] [sim:clip={clip}]"}).json()["id"]
           for i, clip in enumerate(clips)]
    return b, token, project, ids


def generate_all(token, project):
    r = api("POST", f"/api/projects/{project}/generate", token, json={"settings": SETTINGS})
    assert r.status_code == 200, r.text
    batch = r.json()["batchId"]
    done = wait_until(lambda: (j := api("GET", f"/api/batches/{batch}", token).json())["status"] == "finished" and j,
                      timeout=60, what="the shots")
    assert done["counts"] == {"completed": len(done["shots"])}, done["counts"]


def make_film(token, project, **body):
    r = api("POST", f"/api/projects/{project}/films", token, json={"transition": "cut", **body})
    assert r.status_code == 202, r.text
    return r.json()["filmId"]


def wait_film(token, film, status="completed", timeout=90):
    return wait_until(lambda: (j := api("GET", f"/api/films/{film}", token).json())["status"] in (status, "failed") and j,
                      timeout=timeout, what=f"film {film} {status}")


def probe(data):
    path = "/tmp/promptreel-film-probe.mp4"
    with open(path, "wb") as f:
        f.write(data)
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                          "stream=codec_type,codec_name,width,height,r_frame_rate:format=duration,format_name",
                          "-of", "json", path], capture_output=True, text=True, check=True)
    info = json.loads(out.stdout)
    streams = {s["codec_type"]: s for s in info["streams"]}
    return streams, float(info["format"]["duration"])


def download(token, url):
    r = requests.get(BASE + url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200, (url, r.status_code)
    return r


def test_cuts_join_matching_shots_without_reencoding_and_crossfades_are_made(worker):
    b, token, project, ids = project_of(["640x360@24,audio,1.5"] * 3)
    generate_all(token, project)
    film = wait_film(token, make_film(token, project))
    assert film["status"] == "completed", film
    assert (film["width"], film["height"], film["reencoded"]) == (640, 360, False), film
    assert abs(float(film["durationSeconds"]) - 4.5) <= 0.3
    assert [s["videoId"] for s in film["shots"]] == ids and film["outOfDate"] is False
    video = download(token, film["videoUrl"])
    streams, duration = probe(video.content)
    assert streams["video"]["codec_name"] == "h264" and streams["audio"]["codec_name"] == "aac"
    assert (streams["video"]["width"], streams["video"]["height"]) == (640, 360) and abs(duration - 4.5) <= 0.3
    assert video.content[4:8] == b"ftyp" and video.content.find(b"moov") < video.content.find(b"mdat")  # +faststart
    assert download(token, film["posterUrl"]).content[8:12] == b"WEBP"
    # Range requests, and a download named after the project.
    r = requests.get(BASE + film["videoUrl"] + "?download=1", headers={"Authorization": f"Bearer {token}", "Range": "bytes=0-99"}, timeout=10)
    assert r.status_code == 206 and len(r.content) == 100 and "Film-film-" in r.headers["Content-Disposition"]
    # A crossfade of 500 ms: 0.5 s shorter per join.
    fade = wait_film(token, make_film(token, project, transition="crossfade", crossfadeMs=500))
    assert fade["status"] == "completed" and fade["reencoded"] is True, fade
    streams, duration = probe(download(token, fade["videoUrl"]).content)
    assert abs(duration - 3.5) <= 0.3 and streams["audio"]["codec_name"] == "aac"
    # Usage counts them (films cost no provider money).
    usage = api("GET", "/api/usage", token).json()["films"]
    assert usage["count"] == 2 and abs(usage["seconds"] - 8.0) <= 0.6 and usage["averageMakingSeconds"] is not None
    assert "Films made: <strong>2</strong>" in b.get("/usage").text
    # The film history keeps both; moving a shot marks them out of date.
    films = api("GET", f"/api/projects/{project}/films", token).json()
    assert [f["id"] for f in films["data"]] == [fade["id"], film["id"]] and films["has_more"] is False
    assert api("PATCH", f"/api/videos/{ids[2]}", token, json={"position": 1}).status_code == 200
    assert api("GET", f"/api/films/{film['id']}", token).json()["outOfDate"] is True
    page = b.get(f"/dashboard/films/{film['id']}")
    assert page.status_code == 200 and "Out of date" in page.text
    assert_valid(page.text, "the film page")
    board = b.get(f"/dashboard/projects/{project}/storyboard")
    assert "Make the film" in board.text and f"/dashboard/films/{fade['id']}" in board.text
    assert_valid(board.text, "the storyboard with films")
    # Deleting a video keeps the film; deleting the film removes it and its files.
    assert api("DELETE", f"/api/videos/{ids[0]}", token).status_code == 204
    assert api("GET", f"/api/films/{film['id']}", token).json()["status"] == "completed"
    assert download(token, film["videoUrl"]).status_code == 200
    assert api("DELETE", f"/api/films/{film['id']}", token).status_code == 204
    assert api("GET", f"/api/films/{film['id']}", token).status_code == 404
    # A worker removes the files after the commit (queued by the delete).
    wait_until(lambda: not os.path.exists(os.path.join(MEDIA, f"films/{film['id']}/film.mp4")), timeout=15,
               what="the film's files removed")


def test_mixed_shots_are_normalised(worker):
    # 1280x720@24 with audio, 832x480@16 without, 720x1280 (portrait): padded, never stretched.
    _, token, project, _ = project_of(["1280x720@24,audio,1.5", "832x480@16,silent,1", "720x1280@24,audio,1"])
    generate_all(token, project)
    film = wait_film(token, make_film(token, project))
    assert film["status"] == "completed" and film["reencoded"] is True, film
    assert (film["width"], film["height"]) == (1280, 720)
    streams, duration = probe(download(token, film["videoUrl"]).content)
    assert (streams["video"]["width"], streams["video"]["height"]) == (1280, 720)
    assert streams["video"]["r_frame_rate"] == "24/1" and streams["audio"]["codec_name"] == "aac"
    assert abs(duration - 3.5) <= 0.3
    # A size asked for.
    small = wait_film(token, make_film(token, project, size="640x360"))
    assert (small["width"], small["height"]) == (640, 360), small


def test_refusals(no_worker):
    b, token, project, ids = project_of(["320x180@12,silent,1"] * 2)
    r = api("POST", f"/api/projects/{project}/films", token, json={"transition": "cut"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "shots_missing" and r.json()["error"]["videoIds"] == ids
    for bad in [{}, {"transition": "wipe"}, {"transition": "crossfade", "crossfadeMs": 100},
                {"transition": "crossfade", "crossfadeMs": 2001}, {"transition": "cut", "crossfadeMs": 500},
                {"transition": "cut", "size": "1281x720"}, {"transition": "cut", "size": "big"},
                {"transition": "cut", "size": "99999x2"}, {"transition": "cut", "colour": "red"}]:
        r = api("POST", f"/api/projects/{project}/films", token, json=bad)
        assert r.status_code == 422, (bad, r.text)
    other = Browser()
    other.signup()
    stranger = other.create_token()
    assert api("POST", f"/api/projects/{project}/films", stranger, json={"transition": "cut"}).status_code == 404
    assert api("GET", f"/api/projects/{project}/films", stranger).status_code == 404
    empty = api("POST", "/api/projects", token, json={"name": "Empty"}).json()["id"]
    r = api("POST", f"/api/projects/{empty}/films", token, json={"transition": "cut"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "empty_storyboard"
    for bad in ["/api/films/999999999", "/media/films/999999999/film.mp4"]:
        assert api("GET", bad, token).status_code == 404
    assert b.get("/dashboard/films/999999999").status_code == 404
    assert requests.get(BASE + "/shared/films/" + "x" * 43, timeout=5).status_code == 404


def test_one_film_at_a_time_and_a_killed_stitch_is_taken_up_again(session_worker):
    _, token, project, _ = project_of(["640x360@24,audio,1"] * 2)
    generate_all(token, project)
    session_worker["worker"].stop()
    # A maker that holds the stitched film before keeping it: killed then, it leaves no film.
    held = WorkerProcess(PROMPTREEL_FAILPOINT="film-hold=60")
    try:
        asked = time.time()
        film = make_film(token, project, transition="crossfade", crossfadeMs=300)
        r = api("POST", f"/api/projects/{project}/films", token, json={"transition": "cut"})
        assert r.status_code == 409 and r.json()["error"]["code"] == "film_in_progress"
        wait_until(lambda: "failpoint film-hold" in open(held.log_path).read(), timeout=60, what="the stitch")
        held.kill9()
    finally:
        held.stop()
    state = api("GET", f"/api/films/{film}", token).json()
    assert state["status"] == "running" and state["videoUrl"] is None
    kept = os.path.join(MEDIA, f"films/{film}/film.mp4")
    assert not os.path.exists(kept) or os.path.getmtime(kept) < asked  # (a file left by an older test database)
    assert glob.glob(os.path.join(MEDIA, f"tmp/film-{film}-*.mp4"))  # the staging file, swept later
    session_worker["worker"] = WorkerProcess()
    done = wait_film(token, film)
    assert done["status"] == "completed", done
    assert sql(f"SELECT attempts FROM films WHERE id = {film}") == "2"


def test_read_only_links(worker):
    b, token, project, _ = project_of(["320x180@12,audio,1"])
    generate_all(token, project)
    film = wait_film(token, make_film(token, project))
    r = api("POST", f"/api/films/{film['id']}/links", token, json={"expiresInHours": 24})
    assert r.status_code == 201, r.text
    link = r.json()
    page = requests.get(BASE + link["url"], timeout=10)  # no account, no cookie
    assert page.status_code == 200 and "/dashboard" not in page.text and 'href="/"' not in page.text
    assert_valid(page.text, "the shared film page")
    media = requests.get(BASE + link["url"] + "/film.mp4", timeout=10)
    assert media.status_code == 200 and media.content[4:8] == b"ftyp"
    # Nothing else: not the owner's media route, not another film.
    owner = requests.get(BASE + film["videoUrl"], timeout=10, allow_redirects=False)
    assert owner.status_code in (303, 401, 404) and b"ftyp" not in owner.content[:16]
    assert requests.get(BASE + link["url"] + "/video.mp4", timeout=10, allow_redirects=False).status_code == 404
    # The token is stored hashed; the owner's page lists the link; revoking closes it.
    assert link["url"].rsplit("/", 1)[1] not in sql(f"SELECT encode(token_hash, 'escape') FROM film_links WHERE film_id = {film['id']}")
    assert "Revoke" in b.get(f"/dashboard/films/{film['id']}").text
    other = Browser()
    other.signup()
    assert api("POST", f"/api/films/{film['id']}/links", other.create_token(), json={}).status_code == 404
    assert api("DELETE", f"/api/film-links/{link['id']}", token).status_code == 204
    assert requests.get(BASE + link["url"], timeout=10).status_code == 404
    assert requests.get(BASE + link["url"] + "/film.mp4", timeout=10).status_code == 404
    # The token (a secret) is in no log line, even of the refused requests.
    token_part = link["url"].rsplit("/", 1)[1]
    assert token_part not in open(os.path.join(os.environ["PROMPTREEL_LOCAL"], "app.log")).read()
    for bad in [{"expiresInHours": 0}, {"expiresInHours": 2161}, {"expiresInHours": "24"}]:
        assert api("POST", f"/api/films/{film['id']}/links", token, json=bad).status_code == 422


def test_a_missing_take_or_a_missing_ffmpeg_fails_the_film_plainly(session_worker):
    _, token, project, ids = project_of(["320x180@12,silent,1"] * 2, name="Faults")
    generate_all(token, project)
    # A worker without ffmpeg: a clear refusal, nothing made.
    session_worker["worker"].stop()
    bare = WorkerProcess(PROMPTREEL_FFMPEG="/nonexistent/ffmpeg")
    try:
        film = wait_film(token, make_film(token, project), status="failed")
        assert film["status"] == "failed" and "ffmpeg is not installed" in film["error"], film
        assert film["videoUrl"] is None and not os.path.exists(os.path.join(MEDIA, f"films/{film['id']}"))
    finally:
        bare.stop()
        session_worker["worker"] = WorkerProcess()
    # A take whose file is gone: the film fails naming the shot.
    take = api("GET", f"/api/videos/{ids[1]}", token).json()["chosenGenerationId"]
    path = sql(f"SELECT video_path FROM generations WHERE id = {take}")
    os.remove(os.path.join(MEDIA, path))
    film = wait_film(token, make_film(token, project), status="failed")
    assert film["status"] == "failed" and film["error"].startswith("Shot 2 (“Shot 2”): its take’s video file is missing"), film
