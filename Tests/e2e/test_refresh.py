"""Pages that refresh themselves (issue 14, WCAG 2.2.1), over HTTP through nginx and the real binary:
every such page — a generation's progress, its takes, a running roundtable, a webhook log with pending
deliveries — keeps its meta refresh, offers "Stop updating" (`?refresh=off`: no refresh, "Check again"),
holds its changing text in one role="status" region, and follows the account preference "Refresh pages
automatically" (CSRF-checked, 422 on a bad value, remembered in PostgreSQL)."""
import re

from conftest import Browser, api, sql, wait_until
from test_pages_valid import assert_valid
from test_webhooks import Receiver, add_endpoint, deliveries, generate, new_video

META = re.compile(r'<meta http-equiv="refresh" content="(\d+)">')


def refreshing(html, path, seconds):
    """The page refreshes itself every `seconds` and offers to stop."""
    assert META.findall(html) == [str(seconds)], path
    assert f'<a href="{path}?refresh=off">Stop updating</a>' in html, path
    assert "Check again" not in html, path
    assert html.count('role="status"') == 1, path


def still(html, path, why):
    """The page does not refresh itself and offers Check again (a GET form that keeps refresh=off)."""
    assert META.findall(html) == [], path
    assert "Stop updating" not in html, path
    assert re.search(rf'<form method="get" action="{re.escape(path)}" class="inline">'
                     r'<input type="hidden" name="refresh" value="off"><button type="submit" class="secondary">Check again</button></form>',
                     html), path
    assert why in html, path
    assert html.count('role="status"') == 1, path


def set_preference(b, value, status=303):
    b.get("/account")
    r = b.post("/account/preferences", {"refresh_pages": value}, allow_redirects=False)
    assert r.status_code == status, r.text
    return r


def test_running_generation_takes_and_roundtable_pages(no_worker):
    b = Browser()
    email = b.signup()
    token = b.create_token()
    project = api("POST", "/api/projects", token, json={"name": "Refresh"}).json()["id"]
    video = api("POST", f"/api/projects/{project}/videos", token,
                json={"title": "Lanterns", "brief": "Lanterns over a night market", "final_prompt": "Lanterns [sim:seconds=1]"}).json()["id"]
    gid = generate(token, video)
    r = api("POST", f"/api/videos/{video}/roundtable", token, json={})
    assert r.status_code == 202, r.text
    rid = r.json()["roundtableId"]
    # No worker runs: both stay queued, so each page follows something running.
    pages = {f"/dashboard/generations/{gid}": 5, f"/dashboard/videos/{video}/takes": 5, f"/dashboard/roundtables/{rid}": 3}

    for path, seconds in pages.items():
        page = b.get(path)
        assert page.status_code == 200, path
        assert_valid(page.text, path)
        refreshing(page.text, path, seconds)
        stopped = b.get(path + "?refresh=off")
        assert stopped.status_code == 200 and stopped.url.endswith(path + "?refresh=off")
        assert_valid(stopped.text, path + "?refresh=off")
        still(stopped.text, path, f'<a href="{path}">Update automatically again</a>')
        # Any other value of the parameter leaves the refresh on.
        refreshing(b.get(path + "?refresh=yes").text, path, seconds)
    status = re.search(r'<div role="status">(.*?)</div>', b.get(f"/dashboard/generations/{gid}").text, re.S).group(1)
    assert "Waiting" in status and "running for" in status

    # The preference: shown on the account page, on by default, remembered per user.
    account = b.get("/account").text
    assert_valid(account, "account with preferences")
    assert re.search(r'<input type="radio" name="refresh_pages" value="on" checked>', account)
    assert sql(f"SELECT refresh_pages FROM users WHERE email = '{email}'") == "t"
    assert b.post("/account/preferences", {"refresh_pages": "off"}, csrf=False).status_code == 403
    for bad in ({"refresh_pages": "maybe"}, {}):
        refused = b.post("/account/preferences", bad)
        assert refused.status_code == 422 and "on or off" in refused.text
        assert_valid(refused.text, "account, refused preference")
    assert sql(f"SELECT refresh_pages FROM users WHERE email = '{email}'") == "t"

    saved = set_preference(b, "off")
    assert saved.headers["Location"] == "/account"
    assert sql(f"SELECT refresh_pages FROM users WHERE email = '{email}'") == "f"
    account = b.get("/account").text
    assert "Pages no longer refresh themselves" in account
    assert re.search(r'<input type="radio" name="refresh_pages" value="off" checked>', account)
    # At once, on the very next page of every refreshing kind (the cached session carries the choice).
    for path in pages:
        page = b.get(path)
        assert_valid(page.text, path + " with the preference off")
        still(page.text, path, "automatic updates are off in your")
    # Someone else keeps theirs.
    other = Browser()
    other.signup()
    assert 'value="on" checked' in other.get("/account").text

    set_preference(b, "on")
    for path, seconds in pages.items():
        refreshing(b.get(path).text, path, seconds)
    api("POST", f"/api/generations/{gid}/cancel", token)


def test_webhook_log_refreshes_while_a_delivery_is_pending(worker):
    receiver = Receiver(answers=[500] * 10000)  # never accepts: the delivery stays pending, retried
    try:
        b = Browser()
        b.signup()
        token = b.create_token()
        project = api("POST", "/api/projects", token, json={"name": "Hooks"}).json()["id"]
        endpoint = add_endpoint(token, receiver.url)["id"]
        path = f"/account/webhooks/{endpoint}"
        assert META.findall(b.get(path).text) == []  # nothing pending yet: nothing to follow
        generate(token, new_video(token, project, "A red kite [sim:seconds=1]"))
        receiver.wait_for(1)
        wait_until(lambda: deliveries(token, endpoint)[0]["attempts"] >= 1, what="a failed attempt")
        page = b.get(path).text
        assert_valid(page, "webhook log, pending")
        refreshing(page, path, 5)
        assert '<p role="status">1 delivery is pending.</p>' in page
        still(b.get(path + "?refresh=off").text, path, "Update automatically again")
        set_preference(b, "off")
        still(b.get(path).text, path, "automatic updates are off in your")
    finally:
        receiver.close()
