"""Mail through a real SMTP relay (issue 26, part 4): "Forgot password" mails a one-time link, invitations are
mailed, what the relay refuses is tried again (4xx) or given up (5xx), `promptreel mail test` checks the settings,
and without a relay the page says to ask an administrator. scripts/test runs the listener (Tests/e2e/smtp_listener.py,
aiosmtpd on loopback, AUTH required) and points PROMPTREEL_SMTP_URL at it; the session's worker sends."""
import email
import email.policy
import glob
import hashlib
import json
import os
import re
import subprocess
import time

import pytest

from conftest import BASE, ROOT_DIR, Browser, api, sql, unique_email, wait_until
from test_caches import SecondSite

MAIL_DIR = os.environ.get("PROMPTREEL_TEST_SMTP_DIR", "")
PUBLIC_URL = os.environ.get("PROMPTREEL_PUBLIC_URL", "")
NEW_PASSWORD = "a brand new lighthouse keeper"


def mails_to(address):
    """What the listener took for `address`: (envelope record, parsed message), oldest first."""
    found = []
    for path in sorted(glob.glob(os.path.join(MAIL_DIR, "*.json"))):
        record = json.load(open(path))
        if address.lower() in (r.lower() for r in record["rcpt_tos"]):
            found.append((record, email.message_from_string(record["data"], policy=email.policy.default)))
    return found


def wait_for_mails(address, count=1):
    wait_until(lambda: len(mails_to(address)) >= count, timeout=20, interval=0.1, what=f"{count} mail(s) to {address}")
    return mails_to(address)


def outbox(address):
    return sql(f"SELECT kind, status, attempts, coalesce(last_code, 0) FROM mail_outbox "
               f"WHERE lower(recipient) = lower('{address}') ORDER BY id").splitlines()


def ask_for_link(address, headers=None):
    visitor = Browser()
    page = visitor.get("/forgot-password", headers=headers or {})
    assert page.status_code == 200 and 'name="email"' in page.text and "Mail me a link" in page.text
    return visitor.post("/forgot-password", {"email": address}, headers=headers or {})


def reset_link(message):
    return re.search(r"(\S+/password-reset\?token=([A-Za-z0-9_-]+))", message.get_content()).groups()


@pytest.fixture(autouse=True)
def fresh_address_quota():
    """Every request from 127.0.0.1 counts toward the address's hourly limit (the authorization table's too)."""
    sql("DELETE FROM address_attempts WHERE action = 'password_reset'")
    yield
    sql("DELETE FROM address_attempts WHERE action = 'password_reset'")


def test_forgot_password_mails_a_one_time_link_and_says_the_same_for_unknown_addresses(worker):
    address = Browser().signup()
    stranger = unique_email("nobody")
    # A forged Host header changes nothing: the link is built on PROMPTREEL_PUBLIC_URL.
    known = ask_for_link(address.upper(), headers={"Host": "evil.example.test"})
    unknown = ask_for_link(stranger)
    for r, asked in ((known, address.upper()), (unknown, stranger)):
        assert r.status_code == 200 and r.url.endswith("/login"), r.text
        assert f"If an account uses {asked}, a link to choose a new password is on its way" in r.text
    def same(text, asked):
        return re.sub(r'name="_csrf" value="[^"]+"', "", text.replace(asked, "X"))
    assert same(known.text, address.upper()) == same(unknown.text, stranger)

    [(record, message)] = wait_for_mails(address)
    assert record["auth_user"] == "promptreel"  # the URL's credentials were used (the listener requires AUTH)
    assert record["mail_from"] == "promptreel@127.0.0.1" and record["rcpt_tos"] == [address]
    assert message["Subject"] == "Choose a new PromptReel password"
    assert message["From"] == "PromptReel <promptreel@127.0.0.1>" and message["To"] == address
    assert message["Message-ID"].endswith("@127.0.0.1>") and message["Date"]
    link, token = reset_link(message)
    assert link == f"{PUBLIC_URL}/password-reset?token={token}" and "evil" not in message.get_content()
    # Only the link's hash is kept; the outbox row says what was mailed, never the text.
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert sql(f"SELECT count(*) FROM password_resets WHERE token_hash = '\\x{digest}'::bytea AND used_at IS NULL") == "1"
    # The listener keeps the message before it answers 250: the sender records it a moment later.
    wait_until(lambda: outbox(address) == ["password_reset|sent|1|250"], timeout=10, what="the mail recorded as sent")
    assert token not in sql("SELECT coalesce(string_agg(t::text, ' '), '') FROM mail_outbox t")
    assert outbox(stranger) == []  # nothing was even queued for an address without an account

    visitor = Browser()
    page = visitor.get(link[len(PUBLIC_URL):])
    assert page.status_code == 200 and f"For <strong>{address}</strong>" in page.text
    r = visitor.post("/password-reset", {"token": token, "password": NEW_PASSWORD})
    assert r.status_code == 200 and r.url.endswith("/login"), r.text
    r = visitor.post("/login", {"email": address, "password": NEW_PASSWORD})
    assert r.status_code == 200 and r.url.endswith("/dashboard")
    assert Browser().get(link[len(PUBLIC_URL):]).status_code == 404  # used once


def test_reset_mails_are_capped_per_account_and_requests_per_address(worker):
    address = Browser().signup()
    for _ in range(4):
        assert ask_for_link(address).status_code == 200
    mails = wait_for_mails(address, 3)
    assert len(outbox(address)) == 3  # the fourth request queued nothing
    # Each mail made a new link and ended the one before.
    tokens = [reset_link(m)[1] for _, m in mails]
    assert len(set(tokens)) == 3
    assert Browser().get(f"/password-reset?token={tokens[0]}").status_code == 404
    assert Browser().get(f"/password-reset?token={tokens[-1]}").status_code == 200

    # Ten requests an hour from one address (four made above), whatever they ask for; then 429 with Retry-After.
    for _ in range(6):
        assert ask_for_link(unique_email("nobody")).status_code == 200
    r = ask_for_link(unique_email("nobody"))
    assert r.status_code == 429 and "Too many password links" in r.text and int(r.headers["Retry-After"]) > 0
    # A malformed address is a readable 422 on the form (its attempt counts too).
    sql("DELETE FROM address_attempts WHERE action = 'password_reset'")
    r = ask_for_link("not an address")
    assert r.status_code == 422 and 'name="email"' in r.text


def test_an_invitation_is_mailed_once_to_the_invitee(worker):
    owner = Browser()
    owner_email = owner.signup()
    token = owner.create_token()
    project = api("POST", "/api/projects", token, json={"name": "Café ☕ storyboard"}).json()["id"]
    invitee = unique_email("invitee")
    for _ in range(2):  # inviting again renews the invitation; it is not mailed twice within ten minutes
        r = api("POST", f"/api/projects/{project}/members", token, json={"email": invitee, "role": "editor"})
        assert r.status_code == 202, r.text
    [(record, message)] = wait_for_mails(invitee)
    assert message["Subject"] == f"{owner_email} shared the project “Café ☕ storyboard” with you on PromptReel"
    assert "=?UTF-8?B?" in record["data"]  # the subject went out as RFC 2047 encoded words
    body = message.get_content()
    assert f"{owner_email} invited {invitee}" in body and "as editor" in body
    assert f"{PUBLIC_URL}/dashboard" in body and f"{PUBLIC_URL}/signup" in body
    # One row: the second invitation queued no mail.
    wait_until(lambda: outbox(invitee) == ["invitation|sent|1|250"], timeout=10, what="the invitation recorded")
    assert len(mails_to(invitee)) == 1
    # The page says it was mailed.
    owner.get(f"/dashboard/projects/{project}/members")
    r = owner.post(f"/dashboard/projects/{project}/members", {"email": unique_email("second"), "role": "viewer"})
    assert r.status_code == 200 and "Invitation mailed to" in r.text


def test_the_relay_s_temporary_refusals_are_retried_and_its_final_ones_given_up(worker):
    later = Browser().signup(unique_email("tempfail"))
    never = Browser().signup(unique_email("reject"))
    ask_for_link(later)
    ask_for_link(never)
    # 451 twice (retried after 0.5 s, then 2 s here), then taken.
    [(_, message)] = wait_for_mails(later)
    assert message["Subject"] == "Choose a new PromptReel password"
    wait_until(lambda: outbox(later) == ["password_reset|sent|3|250"], timeout=10, what="the retried mail recorded")
    # 550: failed at once, never tried again.
    wait_until(lambda: outbox(never) == ["password_reset|failed|1|550"], timeout=10, what="the refusal recorded")
    time.sleep(1.5)
    assert outbox(never) == ["password_reset|failed|1|550"] and mails_to(never) == []
    log = open(worker.log_path).read()
    assert "smtp-test-secret" not in log and "attempt 1: refused (SMTP 550" in log


def test_promptreel_mail_test_checks_the_relay_settings():
    to = unique_email("probe")
    out = promptreel("mail", "test", "--to", to)
    assert out.returncode == 0 and "took the mail" in out.stdout, out.stderr
    assert "smtp-test-secret" not in out.stdout + out.stderr
    [(_, message)] = wait_for_mails(to)
    assert message["Subject"] == "PromptReel mail test"
    url = os.environ["PROMPTREEL_SMTP_URL"]
    out = promptreel("mail", "test", "--to", to, PROMPTREEL_SMTP_URL=url.replace("smtp-test-secret", "not-the-secret"))
    assert out.returncode == 1 and "SMTP 535" in out.stderr and "not-the-secret" not in out.stderr
    # STARTTLS required (the default for a relay that is not on loopback): this listener offers none, so nothing
    # (not the credentials either) is sent in clear.
    out = promptreel("mail", "test", "--to", to, PROMPTREEL_SMTP_TLS="required")
    assert out.returncode == 1 and "STARTTLS" in out.stderr
    out = promptreel("mail", "test", "--to", to, PROMPTREEL_SMTP_URL="http://relay.example.test")
    assert out.returncode == 2 and "must start with smtp:// or smtps://" in out.stderr
    out = promptreel("mail", "test", "--to", to, PROMPTREEL_PUBLIC_URL="")
    assert out.returncode == 2 and "PROMPTREEL_PUBLIC_URL must be the site's address" in out.stderr
    # A setting that cannot work stops serve (and worker) at start; commands without mail go on.
    out = promptreel("serve", "--socket", os.path.join(MAIL_DIR, "never.sock"), PROMPTREEL_SMTP_URL="smtp://")
    assert out.returncode == 2 and "has no host" in out.stderr
    out = promptreel("migrate", "--migrations", os.path.join(ROOT_DIR, "Migrations"), PROMPTREEL_SMTP_URL="smtp://")
    assert out.returncode == 0 and "up to date" in out.stdout, out.stderr
    assert len(mails_to(to)) == 1


def promptreel(*args, **env):
    return subprocess.run([os.environ["PROMPTREEL_BIN"], *args], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=60)


def test_without_a_relay_forgot_password_says_to_ask_an_administrator():
    site = SecondSite(unset=("PROMPTREEL_SMTP_URL",))
    try:
        visitor = Browser()
        r = visitor.s.get(site.base + "/forgot-password", timeout=10)
        assert r.status_code == 200 and "Ask an administrator" in r.text and 'name="email"' not in r.text
        csrf = re.search(r'name="_csrf" value="([^"]+)"', visitor.s.get(site.base + "/login", timeout=10).text).group(1)
        address = Browser().signup()
        r = visitor.s.post(site.base + "/forgot-password", data={"email": address, "_csrf": csrf}, timeout=10)
        assert r.status_code == 200 and "Ask an administrator" in r.text
        assert outbox(address) == []
    finally:
        site.stop()


def test_waiting_mail_shows_on_the_instance_metrics(no_worker):
    from test_metrics import scrape, value
    address = Browser().signup()
    ask_for_link(address)
    samples, families = scrape(BASE + "/metrics")
    pending = float(sql("SELECT count(*) FROM mail_outbox WHERE status = 'pending'"))
    assert value(samples, "promptreel_mail_pending") == pending >= 1
    assert families["promptreel_mail_pending"].documentation
    # The session's worker comes back after the test and sends it.
