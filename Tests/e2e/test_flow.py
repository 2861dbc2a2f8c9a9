"""The first half of the user's flow, over HTTP through nginx and the real binary."""
import json
import os
import subprocess

from conftest import BASE, PASSWORD, Browser, api, unique_email


def test_signup_login_project_video_and_api_read_back(browser):
    email = browser.signup()
    project = browser.create_project("Launch film")
    video = browser.save_video(project, title="Opening", prompt="Slow dolly over a neon street")
    page = browser.get(f"/dashboard/videos/{video}")
    assert page.status_code == 200 and "Slow dolly over a neon street" in page.text

    # Log out and back in.
    browser.post("/logout", {})
    assert browser.get("/dashboard", allow_redirects=False).status_code == 303
    browser.get("/login")
    r = browser.post("/login", {"email": email, "password": PASSWORD})
    assert r.url.endswith("/dashboard") and "Launch film" in r.text

    token = browser.create_token()
    r = api("GET", f"/api/videos/{video}", token)
    assert r.status_code == 200
    body = r.json()
    assert body["title"] == "Opening" and body["final_prompt"] == "Slow dolly over a neon street"
    assert body["project_id"] == project
    assert [p["name"] for p in api("GET", "/api/projects", token).json()["projects"]] == ["Launch film"]


def test_cli_token_create_authenticates():
    email = Browser().signup()
    out = subprocess.run([os.environ["PROMPTREEL_BIN"], "token", "create", "--email", email],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out.startswith("pr_")
    assert api("GET", "/api/projects", out).status_code == 200


def test_someone_elses_records_are_404():
    alice, bob = Browser(), Browser()
    alice.signup()
    project = alice.create_project("Private")
    video = alice.save_video(project, title="Secret")
    bob.signup()
    bob_token = bob.create_token()
    assert bob.get(f"/dashboard/videos/{video}").status_code == 404
    assert bob.get(f"/dashboard/projects/{project}").status_code == 404
    foreign = api("GET", f"/api/videos/{video}", bob_token)
    missing = api("GET", "/api/videos/987654321", bob_token)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    r = api("POST", f"/api/projects/{project}/videos", bob_token, json={"title": "Intrusion"})
    assert r.status_code == 404
    assert api("GET", f"/api/projects/{project}/videos", bob_token).status_code == 404


def test_form_post_without_csrf_is_403_and_saves_nothing(browser):
    browser.signup()
    token = browser.create_token()
    for fields in ({}, {"_csrf": "forged"}):
        r = browser.post("/dashboard/projects", {"name": "Forged", **fields}, csrf=False)
        assert r.status_code == 403
    assert api("GET", "/api/projects", token).json()["projects"] == []
    # A token from another visitor's cookie does not work either.
    other = Browser()
    other.get("/login")
    r = browser.post("/dashboard/projects", {"name": "Forged", "_csrf": other.csrf}, csrf=False)
    assert r.status_code == 403
    assert api("GET", "/api/projects", token).json()["projects"] == []


def test_html_is_escaped_everywhere(browser):
    hostile = "<script>alert(1)</script>\"'&"
    browser.signup()
    project = browser.create_project(hostile)
    video = browser.save_video(project, title=hostile, prompt=hostile, brief=hostile)
    for path in ("/dashboard", f"/dashboard/projects/{project}", f"/dashboard/videos/{video}"):
        text = browser.get(path).text
        assert "<script>" not in text, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;" in text, path


def test_security_headers_on_pages_static_and_errors():
    for path in ("/login", "/static/style.css", "/nope", "/api/nope"):
        r = api("GET", path)
        csp = r.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp and "script-src" not in csp and "default-src 'none'" in csp, path
        assert r.headers.get("X-Content-Type-Options") == "nosniff"
        assert r.headers.get("Referrer-Policy")
    login = api("GET", "/login")
    cookie = login.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_session_cookie_flags(browser):
    email = unique_email()
    browser.get("/signup")
    r = browser.post("/signup", {"email": email, "password": PASSWORD}, allow_redirects=False)
    assert not [c for c in r.raw.headers.getlist("Set-Cookie") if c.startswith("pr_session=")]  # sign-up: no session
    browser.get("/login")
    r = browser.post("/login", {"email": email, "password": PASSWORD}, allow_redirects=False)
    session = [c for c in r.raw.headers.getlist("Set-Cookie") if c.startswith("pr_session=")]
    assert session and "HttpOnly" in session[0] and "SameSite=Lax" in session[0] and "Secure" not in session[0]


def test_login_failures_are_throttled_per_account_and_address(browser):
    email = Browser().signup()
    browser.get("/login")
    codes = [browser.post("/login", {"email": email, "password": "wrong-password"}).status_code for _ in range(5)]
    assert codes == [401] * 5
    r = browser.post("/login", {"email": email, "password": PASSWORD})
    assert r.status_code == 429 and "Too many failed attempts" in r.text


def test_media_location_is_internal():
    assert api("GET", "/_media/anything.mp4").status_code == 404


def test_json_validation_errors_name_the_field(browser):
    browser.signup()
    token = browser.create_token()
    r = api("POST", "/api/projects", token, json={"name": ""})
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("name:")
    project = api("POST", "/api/projects", token, json={"name": "ok"}).json()["id"]
    r = api("POST", f"/api/projects/{project}/videos", token, json={"title": "x" * 201})
    assert r.status_code == 422 and "title: must be at most 200 characters" in r.json()["error"]["message"]
    r = api("POST", f"/api/projects/{project}/videos", token, json={"title": "t", "final_prompt": "p" * 32001})
    assert r.status_code == 422 and "final_prompt" in r.json()["error"]["message"]
    raw = b'{"title":"\xff\xfe"}'
    r = api("POST", f"/api/projects/{project}/videos", token, data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "title: must be valid UTF-8" in r.json()["error"]["message"]
    r = api("POST", f"/api/projects/{project}/videos", token, json={"title": "t", "final_prompt": "p" * 32000})
    assert r.status_code == 201
