"""Accounts (issue 26, part 1): the password changed on the account page (every other session ends, tokens
optionally), one-time reset links from an admin or the command line, sessions that end when idle and that
their user lists and ends, read-only API tokens, and deleting an account while keeping what it spent."""
import re
from concurrent.futures import ThreadPoolExecutor

from conftest import PASSWORD, Browser, api, sql, unique_email
from test_accounts import admin_browser, browser_from, cli, random_address
from test_caches import within_a_second

NEW_PASSWORD = "quiet-harbour-lantern-97"


def login(email, password, browser=None):
    b = browser or Browser()
    b.get("/login")
    return b, b.post("/login", {"email": email, "password": password})


def user_id(email):
    return int(sql(f"SELECT id FROM users WHERE lower(email) = lower('{email}')"))


def test_changing_the_password_ends_every_other_session_and_optionally_the_tokens():
    mine = Browser()
    email = mine.signup()
    token = mine.create_token()
    other, r = login(email, PASSWORD)
    assert r.url.endswith("/dashboard")
    mine.get("/account")
    r = mine.post("/account/password", {"current_password": "not-it-at-all-1", "new_password": NEW_PASSWORD})
    assert r.status_code == 403 and "not your current password" in r.text
    r = mine.post("/account/password", {"current_password": PASSWORD, "new_password": "password"})
    assert r.status_code == 422
    r = mine.post("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 200 and r.url.endswith("/account") and "Password changed" in r.text, r.text
    # This browser stays in; the other is out; the token (not asked to go) still works.
    assert mine.get("/account", allow_redirects=False).status_code == 200
    assert other.get("/account", allow_redirects=False).status_code == 303
    assert api("GET", "/api/projects", token).status_code == 200
    assert login(email, PASSWORD)[1].status_code == 401
    again, r = login(email, NEW_PASSWORD)
    assert r.url.endswith("/dashboard")
    # Again, revoking the tokens this time.
    mine.get("/account")
    r = mine.post("/account/password", {"current_password": NEW_PASSWORD, "new_password": PASSWORD, "end_tokens": "on"})
    assert r.status_code == 200 and "API tokens are revoked" in r.text
    assert api("GET", "/api/projects", token).status_code == 401
    assert again.get("/account", allow_redirects=False).status_code == 303
    # The form is refused without its CSRF token.
    r = mine.post("/account/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, csrf=False)
    assert r.status_code == 403


def test_sessions_are_listed_ended_and_end_by_themselves_when_idle():
    mine = Browser()
    email = mine.signup()
    address = random_address()
    other, r = login(email, PASSWORD, browser_from(address))
    assert r.url.endswith("/dashboard")
    page = mine.get("/account").text
    rows = re.findall(r"<tr><td>.*?</tr>", page.split('id="sessions"')[1], re.S)
    assert len(rows) == 2 and sum("this browser" in row for row in rows) == 1, rows
    theirs = next(row for row in rows if "this browser" not in row)
    assert address in theirs
    session = re.search(r'action="/account/sessions/(\d+)/end"', theirs).group(1)
    # Someone else cannot end it: their id is a 404.
    stranger = Browser()
    stranger.signup()
    stranger.get("/account")
    assert stranger.post(f"/account/sessions/{session}/end", {}).status_code == 404
    assert other.get("/account", allow_redirects=False).status_code == 200
    r = mine.post(f"/account/sessions/{session}/end", {})
    assert r.status_code == 200 and "That browser is logged out" in r.text
    assert other.get("/account", allow_redirects=False).status_code == 303
    # Idle past PROMPTREEL_SESSION_IDLE_DAYS (7): the session ends, though its 30 days are not over.
    uid = user_id(email)
    assert sql(f"SELECT count(*) FROM sessions WHERE user_id = {uid} AND last_seen_at > now() - interval '1 minute'") == "1"
    sql(f"UPDATE sessions SET last_seen_at = now() - interval '7 days 1 minute' WHERE user_id = {uid}")
    within_a_second(lambda: mine.get("/account", allow_redirects=False).status_code == 303, "the idle session's end")
    # Ending this browser's own session logs it out.
    fresh, _ = login(email, PASSWORD)
    own = re.search(r'action="/account/sessions/(\d+)/end"', fresh.get("/account").text).group(1)
    r = fresh.post(f"/account/sessions/{own}/end", {})
    assert r.url.endswith("/login") and "You are logged out" in r.text


def test_read_only_tokens_read_and_are_refused_every_change():
    b = Browser()
    email = b.signup()
    b.get("/account")
    r = b.post("/account/tokens", {"name": "dashboards", "scope": "read"})
    assert r.status_code == 201 and "read only" in r.text
    read = re.search(r"pr_[A-Za-z0-9_-]{43}", r.text).group(0)
    assert b.post("/account/tokens", {"name": "x", "scope": "owner"}).status_code == 422
    full = b.create_token()
    project = api("POST", "/api/projects", full, json={"name": "Shared"}).json()["id"]
    assert api("GET", "/api/projects", read).status_code == 200
    assert api("GET", f"/api/projects/{project}", read).status_code == 200
    for method, path, body in [("POST", "/api/projects", {"name": "no"}),
                               ("PATCH", f"/api/projects/{project}", {"name": "no"}),
                               ("DELETE", f"/api/projects/{project}", None),
                               ("POST", f"/api/projects/{project}/videos", {"title": "no", "final_prompt": "no"})]:
        r = api(method, path, read, json=body)
        assert r.status_code == 403 and r.json()["error"]["code"] == "read_only_token", (method, path, r.text)
    assert api("GET", f"/api/projects/{project}", full).json()["name"] == "Shared"
    # From the command line too; tokens made before scopes are full.
    out = cli("token", "create", "--email", email, "--scope", "read")
    assert out.returncode == 0
    assert api("POST", "/api/projects", out.stdout.strip(), json={"name": "no"}).status_code == 403
    assert cli("token", "create", "--email", email, "--scope", "admin").returncode != 0
    assert sql("SELECT column_default FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'api_tokens' AND column_name = 'scope'") \
        == "'full'::text"


def test_a_reset_link_sets_the_password_once_within_the_hour():
    user = Browser()
    email = user.signup()
    admin, _ = admin_browser()
    uid = user_id(email)
    r = admin.post(f"/admin/users/{uid}", {"action": "reset-link"})
    assert r.status_code == 201, r.text
    link = re.search(r"http://[^<\s]+/password-reset\?token=([A-Za-z0-9_-]+)", r.text)
    assert link, r.text
    token = link.group(1)
    assert sql(f"SELECT count(*) FROM password_resets WHERE user_id = {uid} AND token_hash = sha256('{token}'::bytea)") == "1"
    visitor = Browser()
    page = visitor.get(f"/password-reset?token={token}")
    assert page.status_code == 200 and email in page.text and page.headers["Referrer-Policy"] == "same-origin"
    assert visitor.post("/password-reset", {"token": token, "password": "password"}).status_code == 422
    r = visitor.post("/password-reset", {"token": token, "password": NEW_PASSWORD})
    assert r.url.endswith("/login") and "Your password is set" in r.text, r.text
    r = visitor.get(f"/password-reset?token={token}")
    assert r.status_code == 404 and "This link does not work" in r.text  # used: dead for good
    assert sql(f"SELECT count(*) FROM password_resets WHERE user_id = {uid} AND used_at IS NOT NULL") == "1"
    assert user.get("/account", allow_redirects=False).status_code == 303  # every session ended
    assert login(email, PASSWORD)[1].status_code == 401
    assert login(email, NEW_PASSWORD)[1].url.endswith("/dashboard")
    # From the command line; an expired link and an unknown one get the same page as a used one.
    out = cli("user", "reset-link", "--email", email, "--base-url", "https://reels.example.test/")
    assert out.returncode == 0 and out.stdout.startswith("https://reels.example.test/password-reset?token="), out.stdout
    late = out.stdout.strip().split("token=")[1]
    sql(f"UPDATE password_resets SET expires_at = now() - interval '1 second' WHERE user_id = {uid} AND used_at IS NULL")
    for t in (late, "not-a-token"):
        r = Browser().get(f"/password-reset?token={t}")
        assert r.status_code == 404 and "This link does not work" in r.text
    assert cli("user", "reset-link", "--email", unique_email()).returncode != 0
    # "Forgot your password?" (with and without a mail relay: test_mail.py).
    assert 'href="/forgot-password"' in Browser().get("/login").text


def test_concurrent_uses_of_one_link_set_the_password_once():
    email = Browser().signup()
    out = cli("user", "reset-link", "--email", email)
    token = out.stdout.strip().split("token=")[1]
    browsers = []
    for _ in range(4):
        b = Browser()
        b.get(f"/password-reset?token={token}")
        browsers.append(b)
    with ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(
            lambda b: b.post("/password-reset", {"token": token, "password": NEW_PASSWORD}, allow_redirects=False).status_code,
            browsers))
    assert codes == [303, 404, 404, 404], codes


def test_deleting_an_account_deletes_its_projects_and_keeps_what_it_spent():
    b = Browser()
    email = b.signup()
    token = b.create_token()
    uid = user_id(email)
    project = api("POST", "/api/projects", token, json={"name": "Leaving"}).json()["id"]
    video = api("POST", f"/api/projects/{project}/videos", token,
                json={"title": "Last", "final_prompt": "A lighthouse at dusk"}).json()["id"]
    # What was spent: a finished generation (arranged; no worker runs on this site).
    gid = sql(f"""INSERT INTO generations (video_id, user_id, settings, prompt, model, seconds, size, resolution,
                                           estimated_cost, actual_cost, status, phase, completed_at)
                  VALUES ({video}, {uid}, '{{}}', 'A lighthouse at dusk', 'sora-2', 4, '1280x720', '720p', 0.40, 0.40,
                          'completed', 'done', now()) RETURNING id""")
    # A click still waiting blocks the deletion, with the reason.
    click = api("POST", f"/api/videos/{video}/generate-sora", token, json={})
    assert click.status_code == 200 and click.json()["status"] == "queued", click.text
    page = b.get("/account/delete")
    assert page.status_code == 200 and "cannot be undone" in page.text
    assert b.post("/account/delete", {"password": "not-it-at-all-1"}).status_code == 403
    r = b.post("/account/delete", {"password": PASSWORD})
    assert r.status_code == 409 and "still has work running" in r.text, r.text
    assert api("POST", f"/api/generations/{click.json()['generationId']}/cancel", token).status_code == 200
    b.get("/account/delete")
    r = b.post("/account/delete", {"password": PASSWORD})
    assert r.status_code == 200 and r.url.endswith("/login") and "Your account is deleted" in r.text, r.text
    assert sql(f"SELECT email LIKE 'deleted-user-%@deleted.invalid' AND deleted_at IS NOT NULL FROM users WHERE id = {uid}") == "t"
    assert sql(f"SELECT count(*) FROM projects WHERE user_id = {uid}") == "0"
    assert sql(f"SELECT actual_cost FROM generations WHERE id = {gid} AND user_id = {uid}") == "0.40"
    assert sql(f"SELECT count(*) FROM sessions WHERE user_id = {uid}") == "0"
    assert api("GET", "/api/projects", token).status_code == 401
    assert login(email, PASSWORD)[1].status_code == 401
    # The address is free again; an admin sees the row as "deleted user".
    Browser().signup(email)
    admin, _ = admin_browser()
    assert f"deleted user (#{uid})" in admin.get("/admin/users").text


def test_an_admin_deletes_another_account_but_not_their_own_here():
    victim = Browser()
    email = victim.signup()
    uid = user_id(email)
    admin, admin_email = admin_browser()
    admin.get("/admin/users")
    r = admin.post(f"/admin/users/{user_id(admin_email)}", {"action": "delete"})
    assert r.status_code == 422 and "your own account" in r.text
    # The first click asks again; only the confirmation deletes.
    r = admin.post(f"/admin/users/{uid}", {"action": "delete"})
    assert r.status_code == 200 and f"Delete the account {email}?" in r.text and "cannot be undone" in r.text
    from test_pages_valid import assert_valid
    assert_valid(r.text, "the admin's deletion confirmation")
    assert victim.get("/account", allow_redirects=False).status_code == 200
    r = admin.post(f"/admin/users/{uid}", {"action": "delete", "confirm": "yes"})
    assert r.status_code == 200 and "Account deleted" in r.text
    assert victim.get("/account", allow_redirects=False).status_code == 303
    # A deleted account cannot be brought back, promoted or given a link: it is no account any more.
    for change in ({"action": "delete"}, {"action": "delete", "confirm": "yes"}, {"action": "enable"}, {"action": "role", "role": "admin"}, {"action": "reset-link"}):
        assert admin.post(f"/admin/users/{uid}", change).status_code == 404, change
