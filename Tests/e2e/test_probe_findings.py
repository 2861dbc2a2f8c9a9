"""Issue 22's smaller findings, through nginx: common passwords, control characters and duplicate keys,
webhook addresses in special-purpose ranges, a bad bearer on media, invalid UTF-8 in a form, keyed CSRF
tokens that survive `promptreel secrets rotate`."""
import base64
import hashlib
import os
import subprocess

import requests

from conftest import BASE, Browser, api, unique_email


def user_with_token():
    b = Browser()
    b.signup()
    return b, b.create_token()


def test_common_passwords_and_their_variants_are_refused_at_signup():
    for weak in ["Password2024!", "P@ssw0rd123", "Summer2024!!"]:
        b = Browser()
        b.get("/signup")
        r = b.post("/signup", {"email": unique_email("weak"), "password": weak}, allow_redirects=False)
        assert r.status_code == 422 and "too common" in r.text, (weak, r.status_code)


def test_control_characters_and_duplicate_keys_are_422_everywhere():
    b, token = user_with_token()
    project = api("POST", "/api/projects", token, json={"name": "Probe"}).json()["id"]
    video = api("POST", f"/api/projects/{project}/videos", token, json={"title": "T", "final_prompt": "A lake"}).json()["id"]
    for body in ['{"final_prompt":"a\\u0000b"}', '{"final_prompt":"a\\u001bb"}', '{"brief":"ok","brief":"twice"}']:
        r = api("PATCH", f"/api/videos/{video}", token, data=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed", (body, r.text)
    assert api("GET", f"/api/videos/{video}", token).json()["final_prompt"] == "A lake"  # nothing cut and kept
    assert api("GET", "/api/videos?q=a%00b", token).status_code == 422
    # A page form: the roundtable's feedback with a NUL in it starts nothing and says why.
    b.get(f"/dashboard/videos/{video}")
    r = b.s.post(f"{BASE}/dashboard/videos/{video}/roundtables", data=f"_csrf={b.csrf}&feedback=keep%00DROPPED",
                 headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert r.status_code == 422 and "control characters" in r.text
    assert api("GET", f"/api/videos/{video}/roundtables", token).json()["roundtables"] == []


def test_webhook_addresses_in_special_purpose_ranges_are_refused():
    _, token = user_with_token()
    for url in ["http://[::ffff:0:127.0.0.1]/", "http://[2001::1]/hook", "https://[2001:0:4136:e378::1]/",
                "https://[2001:db8::1]/", "https://192.0.2.10/", "https://198.51.100.1/", "https://203.0.113.9/"]:
        r = api("POST", "/api/webhooks", token, json={"url": url})
        assert r.status_code == 422 and r.json()["error"]["message"].startswith("url"), (url, r.text)


def test_media_with_a_bad_bearer_is_401_and_a_browser_is_sent_to_log_in():
    r = api("GET", "/media/generations/1/video.mp4", "pr_" + "x" * 43)
    assert r.status_code == 401
    r = requests.get(BASE + "/media/generations/1/video.mp4", allow_redirects=False, timeout=10)
    assert r.status_code == 303 and "/login" in r.headers["Location"]


def test_a_form_with_invalid_utf8_is_422_not_403():
    b = Browser()
    b.signup()
    b.get("/dashboard")
    r = b.s.post(f"{BASE}/dashboard/projects", data=f"_csrf={b.csrf}&name=%C3%28".encode(),
                 headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
    assert r.status_code == 422 and "UTF-8" in r.text


def test_csrf_tokens_are_keyed_and_survive_a_rotation():
    b = Browser()
    b.get("/login")
    seed = b.s.cookies["pr_csrf"]
    unkeyed = base64.urlsafe_b64encode(hashlib.sha256(f"csrf:{seed}:".encode()).digest()).decode().rstrip("=")
    assert b.csrf and b.csrf != unkeyed
    forged = b.s.post(f"{BASE}/login", data={"_csrf": unkeyed, "email": "a@b.cd", "password": "x"},
                      allow_redirects=False, timeout=10)
    assert forged.status_code == 403
    on_screen = b.csrf
    subprocess.run([os.environ["PROMPTREEL_BIN"], "secrets", "rotate"], check=True, capture_output=True)
    r = b.s.post(f"{BASE}/login", data={"_csrf": on_screen, "email": unique_email(), "password": "wrong password"},
                 allow_redirects=False, timeout=10)
    assert r.status_code != 403, r.text[:200]  # the form loaded before the rotation still posts


def test_ids_have_one_form():
    _, token = user_with_token()
    project = api("POST", "/api/projects", token, json={"name": "Ids"}).json()["id"]
    assert api("GET", f"/api/projects/{project}", token).status_code == 200
    for other in (f"+{project}", f"0{project}", f"{project}.0", f"%2B{project}"):
        assert api("GET", f"/api/projects/{other}", token).status_code == 404, other

