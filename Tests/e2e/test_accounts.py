"""Account hardening and roles (issue 12, parts 1 and 6): wrong passwords from one address never lock the
right one out elsewhere, weak passwords and malformed addresses are refused, sign-up is throttled per
address, admin pages are 404 to members, and a disabled user's sessions and tokens stop at once."""
import os
import random
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import requests
from requests.adapters import HTTPAdapter

from conftest import BASE, PASSWORD, Browser, api, sql, unique_email, wait_until
from test_caches import SecondSite, second, within_a_second  # noqa: F401 (second is a fixture)


class FromAddress(HTTPAdapter):
    """Connects from a given loopback address, so nginx sees another client."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def random_address():
    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def browser_from(address):
    b = Browser()
    b.s.mount("http://", FromAddress(address))
    return b


def cli(*args, password=None):
    env = dict(os.environ)
    if password is not None:
        env["PROMPTREEL_PASSWORD"] = password
    return subprocess.run([os.environ["PROMPTREEL_BIN"], *args], capture_output=True, text=True, env=env, timeout=30)


def test_lockout_no_longer_blocks_the_right_password_from_another_address():
    email = Browser().signup()
    attacker = browser_from(random_address())
    attacker.get("/login")
    codes = [attacker.post("/login", {"email": email, "password": "wrong-password"}).status_code for _ in range(5)]
    assert codes == [401] * 5
    r = attacker.post("/login", {"email": email, "password": PASSWORD})
    assert r.status_code == 429 and "Too many failed attempts" in r.text
    assert 1 <= int(r.headers["Retry-After"]) <= 30
    # Parallel guesses cannot all slip under the limit: each is counted before its password is checked.
    burst_email = Browser().signup()
    burst = browser_from(random_address())
    burst.get("/login")
    csrf = burst.csrf

    def guess(_):
        return burst.s.post(BASE + "/login", data={"email": burst_email, "password": "wrong-password", "_csrf": csrf},
                            allow_redirects=False, timeout=10).status_code
    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(guess, range(12)))
    assert codes.count(401) == 5 and codes.count(429) == 7, codes
    owner = browser_from(random_address())
    owner.get("/login")
    r = owner.post("/login", {"email": email, "password": PASSWORD})
    assert r.status_code == 200 and r.url.endswith("/dashboard"), r.text


def test_weak_passwords_are_refused(browser):
    browser.get("/signup")
    for weak in ["password", "12345678", " " * 8, "password123", "aaaaaaaaaaaa", "short-pw1"]:
        r = browser.post("/signup", {"email": unique_email(), "password": weak})
        assert r.status_code == 422 and "password: " in r.text, weak
    r = browser.post("/signup", {"email": unique_email(), "password": "violet tractor umbrella 7"})
    assert r.status_code == 200 and r.url.endswith("/login")


def test_sign_up_tells_nothing_about_existing_accounts():
    """Issue 22: an existing address gets the same answer as a new one, and never a session."""
    email = Browser().signup()
    answers = []
    for address in (email, unique_email()):
        b = Browser()
        b.get("/signup")
        r = b.post("/signup", {"email": address, "password": PASSWORD}, allow_redirects=False)
        assert "pr_session" not in b.s.cookies
        answers.append((r.status_code, r.headers["Location"], r.text))
    assert answers[0] == answers[1] and answers[0][:2] == (303, "/login")


def test_malformed_addresses_are_refused(browser):
    browser.get("/signup")
    for bad in ["x@.", "x@example", "a\n@example.test", "a@example.test\r\nBcc: b@example.test", "a@@example.test",
                "a@example..test", "a @example.test"]:
        r = browser.post("/signup", {"email": bad, "password": PASSWORD})
        assert r.status_code == 422 and "email: must be an email address" in r.text, repr(bad)


def test_sign_up_is_throttled_per_address(monkeypatch):
    monkeypatch.setenv("PROMPTREEL_SIGNUPS_PER_ADDRESS_PER_HOUR", "3")
    site = SecondSite()
    try:
        address = random_address()

        def signup(address):
            s = requests.Session()
            s.mount("http://", FromAddress(address))
            page = s.get(site.base + "/signup", timeout=10).text
            csrf = re.search(r'name="_csrf" value="([^"]+)"', page).group(1)
            return s.post(site.base + "/signup", data={"email": unique_email("throttle"), "password": PASSWORD, "_csrf": csrf},
                          allow_redirects=False, timeout=10)

        assert [signup(address).status_code for _ in range(3)] == [303] * 3
        r = signup(address)
        assert r.status_code == 429 and "Too many accounts" in r.text
        assert 3500 <= int(r.headers["Retry-After"]) <= 3600
        assert signup(random_address()).status_code == 303
        # In parallel from one new address: the limit still holds (counted in the creating transaction).
        burst = random_address()
        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = sorted(pool.map(lambda _: signup(burst).status_code, range(8)))
        assert codes == [303] * 3 + [429] * 5, codes
    finally:
        site.stop()


def admin_browser():
    email = unique_email("admin")
    out = cli("user", "create", "--admin", "--email", email, password=PASSWORD)
    assert out.returncode == 0 and "(admin)" in out.stdout, out.stderr
    b = Browser()
    b.get("/login")
    r = b.post("/login", {"email": email, "password": PASSWORD})
    assert r.url.endswith("/dashboard"), r.text
    return b, email


def test_admin_pages_are_404_to_members_and_set_role_changes_that(browser):
    email = browser.signup()
    assert browser.get("/admin/users").status_code == 404
    admin, _ = admin_browser()
    page = admin.get("/admin/users")
    assert page.status_code == 200 and email in page.text
    assert cli("user", "set-role", "--email", email, "--role", "admin").returncode == 0
    within_a_second(lambda: browser.get("/admin/users").status_code == 200, "the promotion")
    assert cli("user", "set-role", "--email", email, "--role", "member").returncode == 0
    within_a_second(lambda: browser.get("/admin/users").status_code == 404, "the demotion")
    bad = cli("user", "set-role", "--email", email, "--role", "owner")
    assert bad.returncode != 0 and "admin or member" in bad.stderr


def test_a_disabled_users_sessions_and_tokens_stop_at_once(second):
    member = Browser()
    email = member.signup()
    token = member.create_token()
    for _ in range(3):  # warm the caches of both processes
        assert member.get("/account").status_code == 200
        assert api("GET", "/api/projects", token).status_code == 200
        assert second.api("GET", "/api/projects", token).status_code == 200
    # A click not yet sent (no worker runs here) is cancelled by the disabling: nothing sent, nothing charged.
    project = api("POST", "/api/projects", token, json={"name": "Disabled"}).json()["id"]
    video = api("POST", f"/api/projects/{project}/videos", token, json={"title": "x", "final_prompt": "A kite"}).json()["id"]
    click = api("POST", f"/api/videos/{video}/generate-sora", token, json={})
    assert click.status_code == 200 and click.json()["status"] == "queued", click.text
    admin, _ = admin_browser()
    page = admin.get("/admin/users").text
    user_id = re.search(r'<td>' + re.escape(email) + r'</td>.*?action="/admin/users/(\d+)"', page, re.S).group(1)
    r = admin.post(f"/admin/users/{user_id}", {"action": "disable"})
    assert r.status_code == 200 and "User disabled" in r.text
    assert sql(f"SELECT status || ' ' || phase || ' ' || error_code || ' ' || actual_cost FROM generations WHERE video_id = {video}") \
        == "failed done cancelled 0.00"
    # The process that disabled the user answers at once; the other within a second.
    assert member.get("/account", allow_redirects=False).status_code == 303
    assert api("GET", "/api/projects", token).status_code == 401
    within_a_second(lambda: second.api("GET", "/api/projects", token).status_code == 401, "the disabling")
    member.get("/login")
    r = member.post("/login", {"email": email, "password": PASSWORD})
    assert r.status_code == 403 and "disabled" in r.text
    # Enabled again from the command line: the token works again, sessions were ended for good.
    assert cli("user", "enable", "--email", email).returncode == 0
    within_a_second(lambda: second.api("GET", "/api/projects", token).status_code == 200, "the enabling")
    assert member.get("/account", allow_redirects=False).status_code == 303
    assert cli("user", "disable", "--email", email).returncode == 0
    within_a_second(lambda: api("GET", "/api/projects", token).status_code == 401
                    and second.api("GET", "/api/projects", token).status_code == 401, "the disabling by the command line")


def test_admin_page_is_valid_and_escapes_emails():
    from test_pages_valid import assert_valid
    hostile = Browser()
    email = hostile.signup(f"<b>x</b>\"'&{random.randint(0, 10**9)}@example.test")
    admin, admin_email = admin_browser()
    page = admin.get("/admin/users")
    assert_valid(page.text, "admin users")
    assert "<b>x</b>" not in page.text and "&lt;b&gt;x&lt;/b&gt;&quot;&#39;&amp;" in page.text
    own_id = re.search(r'<td>' + re.escape(admin_email) + r'</td>', page.text)
    assert own_id and "you" in page.text
    account = admin.get("/account")
    assert_valid(account.text, "admin account")
    assert 'href="/admin/users"' in account.text
    assert 'href="/admin/users"' not in hostile.get("/account").text
    assert_valid(hostile.get("/signup").text, "signup")
    assert email
