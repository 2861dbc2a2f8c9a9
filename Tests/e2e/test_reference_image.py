"""Reference images (image-to-video) through nginx, the binary, libvips and the simulator: uploads are
checked by their bytes, bad ones get a 4xx and never reach the provider, good ones are fitted to the
exact size, the simulator receives exactly one image of that size, the model's image rules, and the
per-route body limits."""
import hashlib
import io
import os
import random
import re
import struct
import subprocess
import time
import uuid
import zlib

import requests
from PIL import Image

from conftest import BASE, SIM, Browser, api, sql, wait_until
from test_pages_valid import assert_valid


def encoded(fmt, size, mode="RGB", color=(200, 30, 30)):
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, format=fmt)
    return buf.getvalue()


def noisy_jpeg(size=(800, 600)):
    buf = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(side=12000):
    """A valid PNG of side×side black pixels (144 megapixels) in a few hundred KB."""
    z = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + one grey byte per pixel
    data = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")


def jpeg_claiming(width, height):
    """A small real JPEG whose frame header claims another size (30000×30000): only the header says so."""
    data = bytearray(encoded("JPEG", (64, 64)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def setup_video(prompt="A red kite over the dunes [sim:seconds=1]"):
    b = Browser()
    b.signup()
    token = b.create_token()
    project = b.create_project("Images")
    video = b.save_video(project, title="From a picture", prompt=prompt)
    return b, token, video


def put_image(token, video, data, content_type):
    return api("PUT", f"/api/videos/{video}/reference-image", token, data=data, headers={"Content-Type": content_type})


def sim_references():
    return requests.get(SIM + "/_sim/last-reference", timeout=5).json()


def media(token, url):
    r = api("GET", url, token)
    assert r.status_code == 200, (url, r.status_code, r.text[:200])
    return r


def test_bad_images_get_a_clear_4xx_and_are_never_stored():
    _, token, video = setup_video()
    before = sim_references()["received"]
    bad = [
        ("not an image", b"<html><body>hello</body></html>", "image/png", 415, "unsupported_image"),
        ("a GIF", b"GIF89a" + b"\x00" * 64, "image/png", 415, "unsupported_image"),
        ("1x1", encoded("PNG", (1, 1)), "image/png", 422, "image_too_small"),
        ("30000x30000", jpeg_claiming(30000, 30000), "image/jpeg", 422, "image_dimensions_too_large"),
        ("PNG bomb", png_bomb(), "image/png", 422, "image_dimensions_too_large"),
        ("truncated JPEG", noisy_jpeg()[:40000], "image/jpeg", 422, "image_unreadable"),
        ("truncated PNG", encoded("PNG", (300, 300), color=(1, 2, 3))[:-40], "image/png", 422, "image_unreadable"),
        ("empty", b"", "image/png", 422, "image_missing"),
    ]
    for label, data, ctype, status, code in bad:
        r = put_image(token, video, data, ctype)
        assert r.status_code == status, (label, r.status_code, r.text)
        assert r.json()["error"]["code"] == code, (label, r.text)
        assert r.json()["error"]["message"], label
    # Declared as something else than an image: refused before looking.
    r = put_image(token, video, encoded("PNG", (64, 64)), "text/plain")
    assert r.status_code == 415
    # Too large: the app's body limit on this route is exactly 20 MiB.
    r = put_image(token, video, b"\x89PNG\r\n\x1a\n" + b"\x00" * (20 * 1024 * 1024 - 7), "image/png")
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large", r.text[:200]
    assert api("GET", f"/api/videos/{video}/reference-image", token).status_code == 404
    assert sql(f"SELECT count(*) FROM video_reference_images WHERE video_id = {video}") == "0"
    # Nothing reached the provider, and a generation starts from the prompt alone.
    r = api("POST", f"/api/videos/{video}/generate-sora", token, json={})
    assert r.status_code == 200, r.text
    assert sim_references()["received"] == before


def test_body_limits_are_per_route():
    _, token, video = setup_video()
    # 2 MB anywhere else: the app's 1 MiB limit, in the API's JSON envelope.
    r = api("POST", "/api/projects", token, data=b'{"name":"' + b"x" * 2_000_000 + b'"}', headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
    # 21 MiB to the image route: over its 20 MiB, also answered by the app in JSON.
    r = put_image(token, video, b"\xff\xd8\xff" + b"\x00" * (21 * 1024 * 1024 - 3), "image/jpeg")
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
    # Far over: nginx refuses it before the app sees it.
    r = put_image(token, video, b"\x00" * (23 * 1024 * 1024), "image/jpeg")
    assert r.status_code == 413
    # A 1.5 MB image is fine on the image route (over the 1 MiB elsewhere).
    big = noisy_jpeg((1200, 900))
    assert len(big) > 1_100_000
    r = put_image(token, video, big, "image/jpeg")
    assert r.status_code == 200, r.text
    assert (r.json()["width"], r.json()["height"], r.json()["contentType"]) == (1200, 900, "image/jpeg")


def generation(token, generation_id):
    return api("GET", f"/api/generations/{generation_id}", token).json()


def test_good_images_are_fitted_to_the_exact_size_and_sent_once(worker):
    cases = [
        ("JPEG", "image/jpeg", (640, 480), "RGB", "crop", {}),
        ("PNG", "image/png", (1000, 1000), "RGBA", "letterbox", {"model": "sora-2-pro", "aspect_ratio": "9:16", "resolution": "1080p"}),
        ("WEBP", "image/webp", (333, 777), "RGB", "letterbox", {}),
    ]
    for fmt, ctype, size, mode, fit, settings in cases:
        _, token, video = setup_video()
        color = (200, 30, 30, 255) if mode == "RGBA" else (200, 30, 30)
        r = put_image(token, video, encoded(fmt, size, mode, color), ctype)
        assert r.status_code == 200, (fmt, r.text)
        facts = r.json()
        assert (facts["width"], facts["height"], facts["contentType"]) == (*size, ctype), facts
        assert api("GET", f"/api/videos/{video}/reference-image", token).json()["sha256"] == facts["sha256"]

        before = sim_references()["received"]
        r = api("POST", f"/api/videos/{video}/generate-sora", token, json={"settings": settings, "imageFit": fit})
        assert r.status_code == 200, r.text
        gid = r.json()["generationId"]
        g = generation(token, gid)
        want = tuple(int(n) for n in g["size"].split("x"))
        ref = g["referenceImage"]
        assert ref["fit"] == fit and ref["width"] == size[0] and ref["contentType"] == ctype

        # The fitted frame: exactly the video's size, read back from the file the app serves.
        fitted = Image.open(io.BytesIO(media(token, ref["fittedUrl"]).content))
        assert fitted.format == "PNG" and fitted.size == want and fitted.mode == "RGB", (fmt, fitted.size, want)
        # The original, byte for byte.
        assert media(token, ref["url"]).headers["Content-Type"] == ctype
        w, h = want
        centre = fitted.getpixel((w // 2, h // 2))
        assert centre[0] > 150 and centre[1] < 80, centre  # the red picture
        edge = fitted.getpixel((2, h // 2)) if size[0] / size[1] < w / h else fitted.getpixel((w // 2, 2))
        if fit == "letterbox":
            assert max(edge) < 20, (fmt, edge)  # black bars where the picture does not reach
        else:
            assert edge[0] > 150, (fmt, edge)  # cropped: the picture fills the frame

        # The simulator received exactly one image, of exactly that size, once.
        wait_until(lambda: generation(token, gid)["status"] in ("completed", "failed"), timeout=60, what="the generation")
        assert generation(token, gid)["status"] == "completed", generation(token, gid)
        seen = sim_references()
        assert seen["received"] == before + 1
        assert seen["last"]["files"] == 1 and (seen["last"]["width"], seen["last"]["height"]) == want
        assert seen["last"]["content_type"] == "image/png" and seen["last"]["format"] == "png"


def test_simulator_validates_input_reference_like_the_api():
    headers = {"Authorization": "Bearer sim-test-key"}
    fields = {"prompt": "ref check", "model": "sora-2", "seconds": "4", "size": "1280x720"}

    def create(files):
        return requests.post(SIM + "/v1/videos", data=fields, files=files, headers=headers, timeout=10)

    for files, why in [
        ([("input_reference", ("a.png", encoded("PNG", (1280, 719)), "image/png"))], "wrong size"),
        ([("input_reference", ("a.png", b"not an image at all", "image/png"))], "not an image"),
        ([("input_reference", ("a.png", encoded("PNG", (1280, 720)), "image/png"))] * 2, "two images"),
    ]:
        r = create(files)
        assert r.status_code == 400, (why, r.text)
        error = r.json()["error"]
        assert error["type"] == "invalid_request_error" and error["param"] == "input_reference" and error["message"], why
    for fmt in ("PNG", "JPEG", "WEBP"):
        r = create([("input_reference", ("a", encoded(fmt, (1280, 720)), "image/" + fmt.lower()))])
        assert r.status_code == 200, (fmt, r.text)
        last = sim_references()["last"]
        assert (last["width"], last["height"], last["format"]) == (1280, 720, fmt.lower())


def cli(*args):
    return subprocess.run([os.environ["PROMPTREEL_BIN"], "models", *args], capture_output=True, text=True)


def test_model_image_flags_from_the_command_line_to_the_api():
    only_image, text_only = f"e2e-img-{uuid.uuid4().hex[:8]}", f"e2e-txt-{uuid.uuid4().hex[:8]}"
    common = ["--duration", "4", "--price", "720p=0.05", "--size", "16:9=720p=1280x720", "--position", "900"]
    try:
        r = cli("add", "--name", only_image, "--display-name", "Image only", "--requires-image", *common)
        assert r.returncode == 0, r.stderr
        r = cli("add", "--name", text_only, "--display-name", "Text only", *common)
        assert r.returncode == 0, r.stderr
        r = cli("set", "--name", text_only, "--no-accepts-image")
        assert r.returncode == 0, r.stderr
        bad = cli("add", "--name", "e2e-contradiction", "--display-name", "X", "--no-accepts-image", "--requires-image", *common)
        assert bad.returncode != 0

        _, token, video = setup_video()
        models = {m["name"]: m for m in api("GET", "/api/models", token).json()["models"]}
        assert (models[only_image]["accepts_image"], models[only_image]["requires_image"]) == (True, True)
        assert (models[text_only]["accepts_image"], models[text_only]["requires_image"]) == (False, False)
        assert models["sora-2"]["accepts_image"] is True and models["sora-2"]["requires_image"] is False

        r = api("POST", f"/api/videos/{video}/generate-sora", token, json={"settings": {"model": only_image}})
        assert r.status_code == 422 and r.json()["error"]["code"] == "reference_image_required", r.text
        assert "image" in r.json()["error"]["message"]
        assert put_image(token, video, encoded("JPEG", (640, 360)), "image/jpeg").status_code == 200
        r = api("POST", f"/api/videos/{video}/generate-sora", token, json={"settings": {"model": text_only}})
        assert r.status_code == 422 and r.json()["error"]["code"] == "reference_image_not_supported", r.text
        r = api("POST", f"/api/videos/{video}/generate-sora", token, json={"imageFit": "stretch"})
        assert r.status_code == 422 and "imageFit" in r.json()["error"]["message"]
        assert sql(f"SELECT count(*) FROM generations WHERE video_id = {video}") == "0"

        # The settings page says why, and offers no Generate button for these.
        b = Browser()
        b.signup()
        p = b.create_project()
        v = b.save_video(p)
        page = b.get(f"/dashboard/videos/{v}/generate?model={only_image}")
        assert "needs a reference image" in page.text and "Generate video (" not in page.text
        assert_valid(page.text, "the settings page of a model that needs an image")

        # Flags change back.
        assert cli("set", "--name", only_image, "--no-requires-image").returncode == 0
        models = {m["name"]: m for m in api("GET", "/api/models", token).json()["models"]}
        assert models[only_image]["requires_image"] is False
        assert "image=accepted" in cli("list").stdout
    finally:
        cli("disable", "--name", only_image)
        cli("disable", "--name", text_only)


def test_page_upload_with_csrf_preview_and_ownership():
    b, token, video = setup_video()
    page = b.get(f"/dashboard/videos/{video}")
    assert 'enctype="multipart/form-data"' in page.text and "No reference image" in page.text
    png = encoded("PNG", (500, 500), color=(20, 180, 40))
    url = f"/dashboard/videos/{video}/reference-image"
    # Without the CSRF token: refused, nothing stored.
    base = BASE
    r = b.s.post(base + url, files={"image": ("a.png", png, "image/png")}, allow_redirects=False, timeout=10)
    assert r.status_code == 403
    # A bad image through the form: the video page again, with the reason and a 4xx.
    r = b.s.post(base + url, data={"_csrf": b.csrf}, files={"image": ("photo.png", b"GIF89a not really", "image/png")}, timeout=10)
    assert r.status_code == 415 and "not a JPEG, PNG or WebP" in r.text
    assert_valid(r.text, "the video page with a refused upload")
    # A good one.
    r = b.s.post(base + url, data={"_csrf": b.csrf}, files={"image": ("photo.png", png, "image/png")}, allow_redirects=False, timeout=10)
    assert r.status_code == 303, r.text[:300]
    page = b.get(f"/dashboard/videos/{video}")
    assert "Reference image saved." in page.text and "PNG, 500×500" in page.text
    assert_valid(page.text, "the video page with a reference image")
    original = b.s.get(base + url, timeout=10)
    assert original.status_code == 200 and original.content == png
    # Over 20 MiB through the page's form too: a readable 413 page, and the stored image is unchanged.
    r = b.s.post(base + url, data={"_csrf": b.csrf}, files={"image": ("huge.jpg", b"\xff\xd8\xff" + b"\x00" * (20 * 1024 * 1024 + 200_000), "image/jpeg")},
                 allow_redirects=False, timeout=30)
    assert r.status_code == 413 and "text/html" in r.headers["Content-Type"], r.text[:200]
    assert b.s.get(base + url, timeout=10).content == png
    # The settings page previews the fitted frame for the chosen size and fit.
    settings = b.get(f"/dashboard/videos/{video}/generate?image_fit=letterbox")
    assert 'name="image_fit"' in settings.text and "letterboxed" in settings.text
    assert_valid(settings.text, "the settings page with a preview")
    preview = re.search(r'src="(/dashboard/videos/\d+/reference-image/preview\?[^"]+)"', settings.text).group(1).replace("&amp;", "&")
    r = b.s.get(base + preview, timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/jpeg"
    thumb = Image.open(io.BytesIO(r.content))
    assert thumb.size == (320, 180)
    assert max(thumb.getpixel((3, 90))) < 30  # letterbox bars
    # Kept after the first request (the same bytes again), and only for the catalog's sizes.
    assert b.s.get(base + preview, timeout=10).content == r.content
    odd = re.sub(r"size=[0-9x]+", "size=333x333", preview)
    assert b.s.get(base + odd, timeout=10).status_code == 422
    # Someone else sees none of it.
    other = Browser()
    other.signup()
    other_token = other.create_token()
    assert other.get(url).status_code == 404
    assert api("GET", f"/api/videos/{video}/reference-image", other_token).status_code == 404
    assert put_image(other_token, video, png, "image/png").status_code == 404
    assert api("DELETE", f"/api/videos/{video}/reference-image", other_token).status_code == 404
    # Remove (page form), then the API says there is none.
    b.get(f"/dashboard/videos/{video}")
    r = b.post(f"/dashboard/videos/{video}/reference-image/delete", {})
    assert "Reference image removed." in r.text
    assert api("GET", f"/api/videos/{video}/reference-image", token).status_code == 404
    assert put_image(token, video, png, "image/png").status_code == 200
    assert api("DELETE", f"/api/videos/{video}/reference-image", token).json() == {"deleted": True}


def test_history_keeps_the_frame_each_take_started_from(worker):
    b, token, video = setup_video()
    first = encoded("JPEG", (640, 480), color=(200, 30, 30))
    assert put_image(token, video, first, "image/jpeg").status_code == 200
    g1 = api("POST", f"/api/videos/{video}/generate-sora", token, json={}).json()["generationId"]
    wait_until(lambda: generation(token, g1)["status"] == "completed", timeout=60, what="the first take")
    # A new image replaces the video's, but the first take still shows (and serves) its own.
    second = encoded("PNG", (800, 800), color=(20, 30, 200))
    assert put_image(token, video, second, "image/png").status_code == 200
    g2 = api("POST", f"/api/videos/{video}/generate-sora", token, json={}).json()["generationId"]
    ref1, ref2 = generation(token, g1)["referenceImage"], generation(token, g2)["referenceImage"]
    assert ref1["sha256"] != ref2["sha256"]
    assert media(token, ref1["url"]).content == first
    assert media(token, ref2["url"]).content == second
    page = b.get(f"/dashboard/generations/{g1}")
    assert "Started from" in page.text and f"/media/generations/{g1}/reference-fitted.png" in page.text
    assert_valid(page.text, "a generation page with its reference frame")
    history = b.get(f"/dashboard/videos/{video}").text
    assert "from an image (crop)" in history
    assert_valid(history, "the video page's history with reference frames")
    # Removing the video's image keeps the files the takes started from.
    assert api("DELETE", f"/api/videos/{video}/reference-image", token).status_code == 200
    assert media(token, ref2["url"]).content == second
    # Another user cannot fetch them.
    other = Browser()
    other.signup()
    assert api("GET", ref1["fittedUrl"], other.create_token()).status_code == 404


def shared_files(sha):
    """The files kept for these bytes: the original and the frames fitted from it (issue 22: shared by content)."""
    folder = os.path.join(os.environ["PROMPTREEL_MEDIA_DIR"], "references", "shared", sha[:2])
    return sorted(os.path.join(folder, f) for f in (os.listdir(folder) if os.path.isdir(folder) else []) if f.startswith(sha))


def age(paths, seconds=7200):
    for path in paths:
        os.utime(path, (time.time() - seconds, time.time() - seconds))


def test_deleting_the_video_leaves_its_files_to_the_sweep_which_also_cleans_after_a_crash(worker):
    media_dir = os.environ["PROMPTREEL_MEDIA_DIR"]
    _, token, video = setup_video()
    png = encoded("PNG", (640 + random.randint(0, 999), 480), color=(random.randint(0, 255), 40, 40))
    assert put_image(token, video, png, "image/png").status_code == 200
    sha = hashlib.sha256(png).hexdigest()
    r = api("POST", f"/api/videos/{video}/generate-sora", token, json={})
    assert r.status_code == 200, r.text
    gid = r.json()["generationId"]
    wait_until(lambda: api("GET", f"/api/generations/{gid}", token).json()["status"] == "completed", what="completion")
    files = shared_files(sha)
    assert len(files) == 2, files  # the original and the fitted frame
    assert api("DELETE", f"/api/videos/{video}", token).status_code == 204
    # The money record stays; it no longer points at the frames.
    assert sql(f"SELECT reference_path IS NULL AND reference_fitted_path IS NULL AND reference_sha256 IS NOT NULL "
               f"AND estimated_cost > 0 FROM generations WHERE id = {gid}") == "t"
    # Nothing names the bytes any more: the sweep removes them once they are an hour old, not before.
    sweep = [os.environ["PROMPTREEL_BIN"], "media", "sweep"]
    assert subprocess.run(sweep, capture_output=True, text=True, timeout=30).returncode == 0
    assert shared_files(sha) == files
    age(files)

    # A crash between a delete's commit and the removal leaves a folder no video owns (the per-video layout
    # of older installs): the sweep takes it too, and leaves a live video's files alone however old.
    _, token2, live = setup_video()
    live_png = encoded("PNG", (800, 600 + random.randint(0, 999)), color=(40, random.randint(0, 255), 40))
    assert put_image(token2, live, live_png, "image/png").status_code == 200
    live_files = shared_files(hashlib.sha256(live_png).hexdigest())
    age(live_files)
    ghost = os.path.join(media_dir, "references", "987654321")
    os.makedirs(ghost, exist_ok=True)
    open(os.path.join(ghost, "x.png"), "wb").write(b"orphan")
    out = subprocess.run(sweep, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "removed local: references/987654321/x.png " in out.stdout and "the video 987654321 was deleted" in out.stdout
    assert not os.path.exists(ghost)
    assert shared_files(sha) == [] and all(f"removed local: {os.path.relpath(f, media_dir)} " in out.stdout for f in files)
    assert shared_files(hashlib.sha256(live_png).hexdigest()) == live_files


def test_copies_share_one_file_and_uploads_count_against_the_quota():
    b, token, video = setup_video()
    png = encoded("PNG", (700 + random.randint(0, 999), 400), color=(30, 30, random.randint(0, 255)))
    assert put_image(token, video, png, "image/png").status_code == 200
    copies = [api("POST", f"/api/videos/{video}/copy", token).json()["id"] for _ in range(3)]
    sha = hashlib.sha256(png).hexdigest()
    assert len(shared_files(sha)) == 1  # four videos, one file
    paths = sql(f"SELECT count(DISTINCT path) || ' ' || count(*) FROM video_reference_images WHERE video_id IN ({video}, {', '.join(map(str, copies))})")
    assert paths == "1 4"
    email = sql(f"SELECT u.email FROM users u JOIN projects p ON p.user_id = u.id JOIN videos v ON v.project_id = p.id WHERE v.id = {video}")
    quota = [os.environ["PROMPTREEL_BIN"], "user", "quota", "--email", email]
    subprocess.run(quota + ["--bytes", str(len(png) + 10)], check=True, capture_output=True, timeout=30)
    other = encoded("PNG", (300, 200 + random.randint(0, 999)), color=(90, 90, random.randint(0, 255)))
    r = put_image(token, copies[0], other, "image/png")
    assert r.status_code == 422 and r.json()["error"]["code"] == "storage_quota_exceeded", r.text
    assert put_image(token, copies[1], png, "image/png").status_code == 200  # the same bytes take no more room
    account = b.get("/account").text
    assert "storage quota" in account
    subprocess.run(quota + ["--reset"], check=True, capture_output=True, timeout=30)
    assert put_image(token, copies[0], other, "image/png").status_code == 200


def test_save_as_new_video_brings_the_reference_image_along():
    _, token, video = setup_video()
    png = encoded("PNG", (640, 360), color=(10, 90, 200))
    assert put_image(token, video, png, "image/png").status_code == 200
    r = api("POST", f"/api/videos/{video}/copy", token)
    assert r.status_code == 201, r.text
    copy = r.json()["id"]
    mine = api("GET", f"/api/videos/{copy}/reference-image", token)
    assert mine.status_code == 200 and (mine.json()["width"], mine.json()["height"]) == (640, 360)
    assert mine.json()["sha256"] == api("GET", f"/api/videos/{video}/reference-image", token).json()["sha256"]
    # Each video owns its file: removing the copy's image leaves the original's.
    assert api("DELETE", f"/api/videos/{copy}/reference-image", token).status_code == 200
    assert api("GET", f"/api/videos/{video}/reference-image", token).status_code == 200
