"""Every page's HTML is valid (html5lib in strict mode raises on any parse error), and every text a
user can type appears escaped wherever it is shown, the generation pages included."""
import re

import html5lib
import pytest

from conftest import BASE, Browser, api, wait_until

HOSTILE = "<script>alert(1)</script>\"'&"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"


def assert_valid(html, where):
    try:
        html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(html)
    except html5lib.html5parser.ParseError as error:
        pytest.fail(f"{where}: invalid HTML: {error}")
    assert html.startswith("<!DOCTYPE html>"), where
    assert "<script" not in html.lower(), f"{where}: a script element"
    assert re.search(r'<html lang="en">', html), where


def test_every_page_is_valid_and_escapes_user_text(worker):
    b = Browser()
    anonymous = {path: b.get(path) for path in ("/login", "/signup", "/login?next=/account")}
    b.signup()
    token = b.create_token()
    b.get("/account")
    assert ESCAPED in b.post("/account/tokens", {"name": HOSTILE}).text  # token names are shown escaped too
    b.get("/dashboard")
    created = b.post("/dashboard/projects", {"name": HOSTILE, "description": HOSTILE}, allow_redirects=False)
    project = int(created.headers["Location"].rsplit("/", 1)[1])
    video = b.save_video(project, title=HOSTILE, brief=HOSTILE, prompt=HOSTILE + " [sim:seconds=1]")
    empty = b.save_video(project, title="No prompt yet", prompt="")
    failing = b.save_video(project, title=HOSTILE, prompt="[sim:fail=moderation_blocked][sim:seconds=0.5]" + HOSTILE)
    started = api("POST", f"/api/videos/{video}/generate-sora", token, json={})
    assert started.status_code == 200
    gid = started.json()["generationId"]
    in_progress = b.get(f"/dashboard/generations/{gid}")
    failed_gid = api("POST", f"/api/videos/{failing}/generate-sora", token, json={}).json()["generationId"]
    wait_until(lambda: api("GET", f"/api/generations/{gid}", token).json()["status"] == "completed", what="completion")
    wait_until(lambda: api("GET", f"/api/generations/{failed_gid}", token).json()["status"] == "failed", what="failure")

    pages = {
        **anonymous,
        "dashboard": b.get("/dashboard"),
        "project": b.get(f"/dashboard/projects/{project}"),
        "new video": b.get(f"/dashboard/projects/{project}/videos/new"),
        "video with history": b.get(f"/dashboard/videos/{video}"),
        "video without prompt": b.get(f"/dashboard/videos/{empty}"),
        "settings": b.get(f"/dashboard/videos/{video}/generate"),
        "settings reviewed": b.get(f"/dashboard/videos/{video}/generate?model=sora-2-pro&duration=12&aspect_ratio=9:16&resolution=1080p"),
        "settings adjusted": b.get(f"/dashboard/videos/{video}/generate?model=sora-2&resolution=1080p&aspect_ratio=1:1"),
        "settings without prompt": b.get(f"/dashboard/videos/{empty}/generate"),
        "in progress": in_progress,
        "completed": b.get(f"/dashboard/generations/{gid}"),
        "failed": b.get(f"/dashboard/generations/{failed_gid}"),
        "account": b.get("/account"),
        "not found": b.get("/dashboard/videos/999999999"),
        "form error": b.post(f"/dashboard/projects/{project}/videos", {"title": "", "brief": HOSTILE}),
    }
    for where, response in pages.items():
        assert response.headers["Content-Type"].startswith("text/html"), where
        assert_valid(response.text, where)
    for where in ("project", "video with history", "settings", "completed", "failed", "form error", "dashboard"):
        text = pages[where].text
        assert "<script>alert(1)" not in text, where
        assert ESCAPED in text, where
    assert 'http-equiv="refresh" content="5"' in pages["in progress"].text
    assert "<progress" in pages["in progress"].text
    assert 'http-equiv="refresh"' not in pages["completed"].text
    assert "not available here" in pages["settings adjusted"].text
    assert "needs a final prompt" in pages["video without prompt"].text and "Generate with Sora" not in pages["video without prompt"].text
    assert pages["settings without prompt"].status_code == 422
    assert "Simulator" in pages["dashboard"].text


def test_confirm_twice_starts_one_job_and_lands_on_progress(worker):
    from conftest import sim_stats
    b = Browser()
    b.signup()
    project = b.create_project("Twice")
    video = b.save_video(project, prompt="double press [sim:seconds=1]")
    page = b.get(f"/dashboard/videos/{video}/generate")
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
    assert form.pop("_csrf") and form["expected_cost"] == "0.40"
    before = sim_stats()["create"]
    first = b.post(f"/dashboard/videos/{video}/generate", form, allow_redirects=False)
    second = b.post(f"/dashboard/videos/{video}/generate", form, allow_redirects=False)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"].startswith("/dashboard/generations/")
    assert second.headers["Location"] == f"/dashboard/videos/{video}/generation"
    landed = b.get(second.headers["Location"])
    assert "already being generated" in landed.text and landed.url.endswith(first.headers["Location"])
    # The worker sends the create after the click commits: wait for it (a loaded machine may take a moment),
    # then, once the job is done, check nothing else was sent.
    wait_until(lambda: sim_stats()["create"] - before >= 1, timeout=10, what="the create")
    # A changed price is refused, not charged.
    stale = dict(form, expected_cost="0.10")
    wait_until(lambda: "Completed" in b.get(f"/dashboard/videos/{video}").text, what="completion")
    assert sim_stats()["create"] - before == 1
    r = b.post(f"/dashboard/videos/{video}/generate", stale, allow_redirects=False)
    assert r.status_code == 409 and "The price for these settings is now $0.40" in r.text
    # Without a CSRF token, nothing starts.
    r = b.post(f"/dashboard/videos/{video}/generate", form, csrf=False, allow_redirects=False)
    assert r.status_code == 403
