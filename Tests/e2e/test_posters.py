"""Posters from any provider (issue 14): when the provider sends no usable thumbnail or spritesheet
(LiteLLM's Veo and Runway paths answer those requests with the MP4 itself: the simulator's litellm-veo
and litellm-runway dialects), the worker makes them from the stored video with ffmpeg; they are checked
here by their bytes and size, in the API and in the pages. A sora-style job keeps the provider's."""
import io
import os
import subprocess

import pytest
from PIL import Image

from conftest import ROOT_DIR, Browser, WorkerProcess, api, sql
from test_generations import FIXTURE, generate, wait_status
from test_reference_image import encoded, put_image

FIXTURES = os.path.join(ROOT_DIR, "Sources/promptreel-sim/Fixtures")
PROVIDER_THUMBNAIL = open(os.path.join(FIXTURES, "thumbnail.webp"), "rb").read()
PROVIDER_SPRITESHEET = open(os.path.join(FIXTURES, "spritesheet.jpg"), "rb").read()


def account_with_video(prompt):
    """A signed-in browser (for the pages) and an API token of the same user, with one video."""
    b = Browser()
    b.signup()
    token = b.create_token()
    project = api("POST", "/api/projects", token, json={"name": "Posters"}).json()["id"]
    video = api("POST", f"/api/projects/{project}/videos", token, json={"title": "Poster film", "final_prompt": prompt}).json()["id"]
    return b, token, project, video


def completed(token, video):
    assert generate(token, video).status_code == 200
    done, _ = wait_status(token, video, "completed", timeout=40)
    return api("GET", f"/api/generations/{done['generationId']}", token).json()


def image(token, url, content_type):
    r = api("GET", url, token)
    assert r.status_code == 200 and r.headers["Content-Type"] == content_type
    return r.content, Image.open(io.BytesIO(r.content))


@pytest.mark.parametrize("dialect,needs_image", [("litellm-veo", False), ("litellm-runway", True)])
def test_gateway_jobs_get_a_poster_and_spritesheet_made_locally(worker, dialect, needs_image):
    b, token, project, video = account_with_video(f"[sim:seconds=1][sim:dialect={dialect}] A lighthouse in a storm")
    if needs_image:  # Runway is image-to-video only
        assert put_image(token, video, encoded("PNG", (640, 360)), "image/png").status_code == 200
    g = completed(token, video)
    gid = g["id"]
    assert api("GET", g["videoUrl"], token).content == FIXTURE  # the video itself is untouched
    assert g["thumbnailSource"] == "local" and g["spritesheetSource"] == "local", g
    assert g["deliveredSize"] == "320x180"

    # A real WebP a third of the way in, at the video's size; a real JPEG the size of the provider's sheet.
    poster, picture = image(token, g["thumbnailUrl"], "image/webp")
    assert poster[:4] == b"RIFF" and poster[8:12] == b"WEBP" and picture.format == "WEBP"
    assert picture.size == (320, 180) and picture.size == Image.open(io.BytesIO(PROVIDER_THUMBNAIL)).size
    picture.load()  # decodes every pixel
    sheet, picture = image(token, g["spritesheetUrl"], "image/jpeg")
    assert sheet[:2] == b"\xff\xd8" and picture.format == "JPEG"
    assert picture.size == (640, 180) and picture.size == Image.open(io.BytesIO(PROVIDER_SPRITESHEET)).size
    picture.load()
    assert poster != PROVIDER_THUMBNAIL and sheet != PROVIDER_SPRITESHEET  # made here, not the simulator's files

    # Recorded: the provider's answers were skipped, the files on disk are the ones the row describes.
    row = sql(f"""SELECT thumbnail_skipped AND spritesheet_skipped AND thumbnail_source = 'local'
                  AND spritesheet_source = 'local' AND thumbnail_bytes = {len(poster)} AND spritesheet_bytes = {len(sheet)}
                  FROM generations WHERE id = {gid}""")
    assert row == "t"
    folder = os.path.join(os.environ["PROMPTREEL_LOCAL"], "media", str(gid))
    assert sorted(os.listdir(folder)) == ["spritesheet.jpg", "thumbnail.webp", "video.mp4"]  # no staging file left

    # The pages: the player's poster, the fact that it was made locally, the thumbnails in the lists.
    page = b.get(f"/dashboard/generations/{gid}").text
    assert f'poster="/media/generations/{gid}/thumbnail.webp"' in page
    assert "made locally from the video (the provider sent none)" in page
    assert f'href="/media/generations/{gid}/spritesheet.jpg"' in page
    page = b.get(f"/dashboard/videos/{video}").text
    assert f'poster="/media/generations/{gid}/thumbnail.webp"' in page and "poster made locally" in page
    assert f'<img src="/media/generations/{gid}/thumbnail.webp"' in page
    assert f'<img src="/media/generations/{gid}/thumbnail.webp"' in b.get(f"/dashboard/projects/{project}").text
    # The browser gets the same bytes through its session.
    assert b.get(f"/media/generations/{gid}/thumbnail.webp").content == poster


def test_a_sora_style_job_keeps_the_providers_previews(worker):
    b, token, _, video = account_with_video("[sim:seconds=1] A lighthouse in calm weather")
    g = completed(token, video)
    assert g["thumbnailSource"] == "provider" and g["spritesheetSource"] == "provider"
    assert image(token, g["thumbnailUrl"], "image/webp")[0] == PROVIDER_THUMBNAIL
    assert image(token, g["spritesheetUrl"], "image/jpeg")[0] == PROVIDER_SPRITESHEET
    page = b.get(f"/dashboard/generations/{g['id']}").text
    assert "made locally" not in page and "poster</a> from the provider" in page


def test_without_ffmpeg_the_job_completes_and_media_posters_makes_them_later(no_worker):
    w = WorkerProcess(PROMPTREEL_FFMPEG="/nonexistent/ffmpeg")
    try:
        b, token, _, video = account_with_video("[sim:seconds=1][sim:dialect=litellm-veo] A lighthouse, no ffmpeg")
        g = completed(token, video)
        assert api("GET", g["videoUrl"], token).content == FIXTURE
        assert g["thumbnailUrl"] is None and g["thumbnailSource"] is None and g["spritesheetSource"] is None
        page = b.get(f"/dashboard/generations/{g['id']}").text
        assert "<video" in page and "poster=" not in page
        log = open(w.log_path).read()
        assert "no thumbnail: the provider sent none and cannot run /nonexistent/ffmpeg" in log, log[-2000:]
    finally:
        w.stop()
    # Once ffmpeg is there, the operator's command makes what is missing; a second run has nothing to do.
    out = subprocess.run([os.environ["PROMPTREEL_BIN"], "media", "posters"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and f"generation {g['id']}: made poster and spritesheet" in out.stdout, out.stdout + out.stderr
    after = api("GET", f"/api/generations/{g['id']}", token).json()
    assert after["thumbnailSource"] == "local" and after["spritesheetSource"] == "local"
    assert Image.open(io.BytesIO(image(token, after["thumbnailUrl"], "image/webp")[0])).size == (320, 180)
    assert Image.open(io.BytesIO(image(token, after["spritesheetUrl"], "image/jpeg")[0])).size == (640, 180)
    assert f'poster="/media/generations/{g["id"]}/thumbnail.webp"' in b.get(f"/dashboard/generations/{g['id']}").text
    again = subprocess.run([os.environ["PROMPTREEL_BIN"], "media", "posters"], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and f"generation {g['id']}:" not in again.stdout, again.stdout
