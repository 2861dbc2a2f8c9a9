"""Issue 23, part 3, through nginx with the simulator: continuity — each shot of a click starts from the
exact last frame of the shot before (the simulator keeps the image each create carried; the test compares
it with the last frame of the previous shot's stored video), a shot is sent only after the one before has
completed, and a failed shot cancels the rest of its chain before anything is sent."""
import io
import subprocess

import requests
from PIL import Image, ImageChops

from conftest import BASE, SIM, Browser, WorkerProcess, api, sim_stats, sql, wait_until
from test_budgets import SETTINGS


def chain_project(prompts):
    b = Browser()
    b.signup()
    token = b.create_token()
    project = api("POST", "/api/projects", token, json={"name": "Chain"}).json()["id"]
    ids = [api("POST", f"/api/projects/{project}/videos", token,
               json={"title": f"Shot {i + 1}", "final_prompt": p}).json()["id"] for i, p in enumerate(prompts)]
    return b, token, project, ids


def last_frame(mp4, tmp_path):
    """The video's last frame, decoded by ffmpeg on its own: every frame is written over one file (a pipe would
    get them all), so the file holds the last."""
    (tmp_path / "shot.mp4").write_bytes(mp4)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(tmp_path / "shot.mp4"), "-update", "1", "-f", "image2",
                    "-c:v", "png", str(tmp_path / "last.png")], check=True)
    return Image.open(tmp_path / "last.png").convert("RGB")


def test_each_shot_starts_from_the_last_frame_of_the_one_before(worker, tmp_path):
    clip = "[sim:seconds=0.5] [sim:clip=1280x720@24,audio,1]"
    b, token, project, ids = chain_project([f"Shot {i} {clip}" for i in (1, 2, 3)])
    before = sim_stats()["create"]
    r = api("POST", f"/api/projects/{project}/generate", token, json={"settings": SETTINGS, "continuity": True})
    assert r.status_code == 200, r.text
    batch = r.json()["batchId"]
    started = [g["generationId"] for g in r.json()["generations"]]
    gens = [api("GET", f"/api/generations/{g}", token).json() for g in started]
    assert [g["chainedFromGenerationId"] for g in gens] == [None, started[0], started[1]]
    done = wait_until(lambda: (j := api("GET", f"/api/batches/{batch}", token).json())["status"] == "finished" and j,
                      timeout=90, what="the chain")
    assert done["continuity"] is True and done["counts"] == {"completed": 3}, done["counts"]
    assert sim_stats()["create"] - before == 3
    gens = [api("GET", f"/api/generations/{g}", token).json() for g in started]
    for previous, current in zip(gens, gens[1:]):
        # Sent only once the one before had completed.
        assert current["submittedAt"] >= previous["completedAt"], (previous, current)
        # The image the simulator received is the previous video's last frame, at the generation's size.
        sent = requests.get(f"{SIM}/_sim/references/{current['providerJobId']}", timeout=10)
        assert sent.status_code == 200
        image = Image.open(io.BytesIO(sent.content)).convert("RGB")
        assert image.size == (1280, 720)
        video = requests.get(BASE + previous["videoUrl"], headers={"Authorization": f"Bearer {token}"}, timeout=30).content
        expected = last_frame(video, tmp_path)
        diff = ImageChops.difference(image, expected)
        assert max(channel[1] for channel in diff.getextrema()) <= 8, diff.getextrema()
        assert current["referenceImage"] is not None
    page = b.get(f"/api/generations/{started[1]}".replace("/api/", "/dashboard/"))
    assert "Started from the last frame of" in page.text and "shot 1" in page.text
    # Continuity needs one take per shot.
    r = api("POST", f"/api/projects/{project}/generate", token,
            json={"settings": {**SETTINGS, "takes": 2}, "continuity": True, "videoIds": ids})
    assert r.status_code == 422 and "continuity" in r.json()["error"]["message"], r.text
    r = api("POST", f"/api/projects/{project}/generate", token, json={"settings": SETTINGS, "continuity": "yes"})
    assert r.status_code == 422


def test_a_failed_shot_cancels_the_rest_of_its_chain(worker):
    clip = "[sim:seconds=0.5] [sim:clip=1280x720@24,silent,1]"
    b, token, project, ids = chain_project([f"Shot 1 {clip} [sim:fail=moderation_blocked]", f"Shot 2 {clip}",
                                            f"Shot 3 {clip}"])
    before = sim_stats()["create"]
    r = api("POST", f"/api/projects/{project}/generate", token, json={"settings": SETTINGS, "continuity": True})
    assert r.status_code == 200, r.text
    batch = r.json()["batchId"]
    done = wait_until(lambda: (j := api("GET", f"/api/batches/{batch}", token).json())["status"] == "finished" and j,
                      timeout=60, what="the broken chain")
    generations = [s["generations"][0] for s in done["shots"]]
    assert [g["status"] for g in generations] == ["failed"] * 3
    assert [g["errorCode"] for g in generations[1:]] == ["chain_broken", "chain_broken"]
    assert all(g["cost"] == 0 and not g["possiblyBilled"] for g in generations[1:])
    assert "Nothing was charged" in generations[1]["error"]
    assert sim_stats()["create"] - before == 1  # only the first was sent
    # "Continue the chain" reviews the same settings from the first shot without a completed take.
    page = b.get(f"/dashboard/batches/{batch}")
    assert ">Continue the chain</a>" in page.text
    link = next(h.split('"')[0] for h in page.text.split('href="') if "continuity=1" in h).replace("&amp;", "&")
    review = b.get(link)
    assert review.status_code == 200 and review.text.count(" checked>") >= 4  # three shots and continuity
    assert "from the last frame of shot 1" in review.text and "Generate 3 shots ($1.20)" in review.text
    # A viewer of the project sees the batch, but not the offer to continue it (editors generate).
    viewer = Browser()
    email = viewer.signup()
    viewer_token = viewer.create_token()
    invitation = api("POST", f"/api/projects/{project}/members", token, json={"email": email, "role": "viewer"}).json()
    assert api("POST", f"/api/invitations/{invitation['invitationId']}/accept", viewer_token).status_code == 200
    page = viewer.get(f"/dashboard/batches/{batch}")
    assert page.status_code == 200 and "Shot 1" in page.text and ">Continue the chain</a>" not in page.text


def test_a_worker_without_ffmpeg_leaves_the_chain_waiting_instead_of_breaking_it(session_worker):
    clip = "[sim:seconds=0.5] [sim:clip=1280x720@24,silent,1]"
    _, token, project, ids = chain_project([f"Shot 1 {clip}", f"Shot 2 {clip}"])
    session_worker["worker"].stop()
    bare = WorkerProcess(PROMPTREEL_FFMPEG="/nonexistent/ffmpeg")
    try:
        r = api("POST", f"/api/projects/{project}/generate", token, json={"settings": SETTINGS, "continuity": True})
        assert r.status_code == 200, r.text
        first, second = (g["generationId"] for g in r.json()["generations"])
        wait_until(lambda: api("GET", f"/api/generations/{first}", token).json()["status"] == "completed", timeout=60,
                   what="the first shot")
        wait_until(lambda: "no last frame yet" in open(bare.log_path).read(), timeout=30, what="the retry")
        # Not broken: still queued, nothing sent, waiting for a worker that can take the frame.
        assert api("GET", f"/api/generations/{second}", token).json()["status"] == "queued"
    finally:
        bare.stop()
        session_worker["worker"] = WorkerProcess()
    sql(f"UPDATE generations SET chain_retry_at = now() WHERE id = {second}")  # (instead of waiting 30 s)
    done = wait_until(lambda: (g := api("GET", f"/api/generations/{second}", token).json())["status"] == "completed" and g,
                      timeout=60, what="the second shot")
    assert done["referenceImage"] is not None and done["chainedFromGenerationId"] == first
