"""Budgets (issue 12, part 2) through nginx, the real binary, real workers and the simulator: a click
reserves its estimate in the transaction that records it, completion settles, an unbilled failure
releases, a possibly billed one stays; 20 parallel clicks with budget for 3 start exactly 3 provider jobs;
months are UTC calendar months by the time of the click; the instance cap; roundtables; the CLI."""
import os
import subprocess
import threading
from decimal import Decimal

import html5lib

from conftest import Browser, api, sim_stats, sql, wait_until
from test_generations import generate, status, wait_status

SETTINGS = {"duration": 4, "aspect_ratio": "16:9", "resolution": "720p", "model": "sora-2"}  # $0.40


def promptreel(*args):
    return subprocess.run([os.environ["PROMPTREEL_BIN"], *args], capture_output=True, text=True, env=os.environ)


def set_budget(*args):
    r = promptreel("budget", "set", *args)
    assert r.returncode == 0, r.stderr
    return r.stdout


def user_with_videos(n, prompt="A paper boat on a pond [sim:seconds=1]", brief=""):
    b = Browser()
    email = b.signup()
    token = b.create_token()
    project = api("POST", "/api/projects", token, json={"name": "Budget"}).json()["id"]
    videos = []
    for i in range(n):
        r = api("POST", f"/api/projects/{project}/videos", token, json={"title": f"Clip {i}", "brief": brief, "final_prompt": prompt})
        assert r.status_code == 201, r.text
        videos.append(r.json()["id"])
    return b, email, token, videos


def refused(r, remaining):
    assert r.status_code == 402, r.text
    error = r.json()["error"]
    assert error["code"] == "budget_exceeded" and error["message"] and error["remaining"] == remaining, error
    return error


def spend(email):
    return Decimal(sql(f"""SELECT budget_spend(u.id, m.month_start, m.month_end) FROM users u, budget_month(now()) m
                           WHERE u.email = '{email}'"""))


def test_budget_twenty_parallel_clicks_with_budget_for_three(worker):
    _, email, token, videos = user_with_videos(20)
    set_budget("--email", email, "--monthly", "1.30")
    before = sim_stats()["create"]
    barrier = threading.Barrier(20)
    answers = []

    def click(video):
        barrier.wait()
        answers.append(generate(token, video, SETTINGS, expectedCost=0.4))
    threads = [threading.Thread(target=click, args=(v,)) for v in videos]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] * 3 + [402] * 17, codes
    for r in answers:
        if r.status_code == 402:
            refused(r, "0.10")
    assert sql(f"SELECT count(*) FROM generations g JOIN users u ON u.id = g.user_id WHERE u.email = '{email}'") == "3"
    started = [r.json()["generationId"] for r in answers if r.status_code == 200]
    wait_until(lambda: sql(f"SELECT count(*) FROM generations WHERE id IN ({','.join(map(str, started))}) AND status = 'completed'") == "3",
               timeout=60, what="the three accepted clicks to complete")
    assert sim_stats()["create"] - before == 3
    assert spend(email) == Decimal("1.20")
    # Settled at the actual cost: still $0.10 left, so the next click is refused with that.
    refused(generate(token, videos[0], SETTINGS, expectedCost=0.4), "0.10")


def test_budget_settle_release_and_possibly_billed(worker):
    _, email, token, videos = user_with_videos(1, "[sim:fail=moderation_blocked][sim:seconds=1] a forbidden thing")
    video = videos[0]
    set_budget("--email", email, "--monthly", "0.40")
    # The provider refuses it: the reservation is released, so the full budget is back.
    assert generate(token, video, SETTINGS, expectedCost=0.4).status_code == 200
    failed, _ = wait_status(token, video, "failed")
    assert failed["cost"] == 0 and failed["possiblyBilled"] is False
    assert spend(email) == 0
    # Reserved while in flight: a second click on another video is refused meanwhile.
    api_video = api("POST", f"/api/projects/{sql(f'SELECT project_id FROM videos WHERE id = {video}')}/videos", token,
                    json={"title": "Fine", "final_prompt": "[sim:seconds=2] a calm lake"}).json()["id"]
    other = api("POST", f"/api/projects/{sql(f'SELECT project_id FROM videos WHERE id = {video}')}/videos", token,
                json={"title": "Other", "final_prompt": "a quiet street"}).json()["id"]
    r = generate(token, api_video, SETTINGS, expectedCost=0.4)
    assert r.status_code == 200, r.text
    gid = r.json()["generationId"]
    assert sql(f"SELECT status IN ('queued', 'in_progress') FROM generations WHERE id = {gid}") == "t"
    refused(generate(token, other, SETTINGS, expectedCost=0.4), "0.00")
    # Completed: settled to the actual cost.
    done, _ = wait_status(token, api_video, "completed")
    assert done["cost"] == 0.4 and spend(email) == Decimal("0.40")
    # Settlement follows the row: an actual cost below the estimate frees the difference.
    sql(f"UPDATE generations SET actual_cost = 0.25 WHERE id = {gid}")
    refused(generate(token, other, SETTINGS, expectedCost=0.4), "0.15")
    sql(f"UPDATE generations SET actual_cost = 0.40 WHERE id = {gid}")
    # Possibly billed (a lost create answer): it stays reserved at the estimate.
    set_budget("--email", email, "--monthly", "0.80")
    sql(f"""UPDATE generations SET status = 'failed', phase = 'unconfirmed', possibly_billed = true, actual_cost = estimated_cost,
                   error_code = 'unconfirmed', completed_at = now()
            WHERE video_id = {video}""")
    assert spend(email) == Decimal("0.80")
    refused(generate(token, other, SETTINGS, expectedCost=0.4), "0.00")
    sql(f"UPDATE generations SET phase = 'done' WHERE video_id = {video} AND phase = 'unconfirmed'")


def test_budget_month_boundary_is_utc_and_by_the_click(no_worker):
    _, email, token, videos = user_with_videos(3)
    set_budget("--email", email, "--monthly", "0.40")
    assert generate(token, videos[0], SETTINGS, expectedCost=0.4).status_code == 200
    refused(generate(token, videos[1], SETTINGS, expectedCost=0.4), "0.00")
    start = "(date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"
    # At the first instant of this UTC month it counts; one second before, it is last month's.
    sql(f"UPDATE generations SET created_at = {start} WHERE video_id = {videos[0]}")
    refused(generate(token, videos[1], SETTINGS, expectedCost=0.4), "0.00")
    sql(f"UPDATE generations SET created_at = {start} - interval '1 second' WHERE video_id = {videos[0]}")
    assert spend(email) == 0
    r = generate(token, videos[1], SETTINGS, expectedCost=0.4)
    assert r.status_code == 200, r.text
    refused(generate(token, videos[2], SETTINGS, expectedCost=0.4), "0.00")
    # The session's time zone does not move the month: the same rows under a far-off zone.
    assert sql(f"""SET TIME ZONE 'Pacific/Kiritimati';
                   SELECT budget_spend(u.id, m.month_start, m.month_end) FROM users u, budget_month(now()) m
                   WHERE u.email = '{email}'""") == "0.40"
    sql(f"UPDATE generations SET status = 'failed', phase = 'done', actual_cost = 0, completed_at = now() "
        f"WHERE user_id = (SELECT id FROM users WHERE email = '{email}') AND status = 'queued'")


def test_budget_instance_cap(no_worker):
    _, email, token, videos = user_with_videos(3)
    try:
        spent = Decimal(sql("SELECT budget_spend(NULL, m.month_start, m.month_end) FROM budget_month(now()) m"))
        set_budget("--instance", "--monthly", str((spent + Decimal("0.50")).quantize(Decimal("0.01"), rounding="ROUND_CEILING")))
        assert generate(token, videos[0], SETTINGS, expectedCost=0.4).status_code == 200
        error = refused(generate(token, videos[1], SETTINGS, expectedCost=0.4), "0.10")
        assert "server" in error["message"] and "$0.10 is left" in error["message"]
        # A user budget with more room does not lift the cap; the tighter remainder is shown.
        set_budget("--email", email, "--monthly", "100")
        refused(generate(token, videos[1], SETTINGS, expectedCost=0.4), "0.10")
        shown = promptreel("budget", "show")
        assert shown.returncode == 0 and "instance: limit $" in shown.stdout and f"{email}: limit $100.00, spent $0.40" in shown.stdout
    finally:
        set_budget("--instance", "--monthly", "none")
    assert generate(token, videos[1], SETTINGS, expectedCost=0.4).status_code == 200
    sql(f"UPDATE generations SET status = 'failed', phase = 'done', actual_cost = 0, completed_at = now() "
        f"WHERE user_id = (SELECT id FROM users WHERE email = '{email}') AND status = 'queued'")


def test_budget_roundtable_refused_when_over_and_settled_to_its_messages(worker):
    b, email, token, videos = user_with_videos(2, brief="A lighthouse keeper's last night on duty.")
    video = videos[0]
    set_budget("--email", email, "--monthly", "0.01")
    r = api("POST", f"/api/videos/{video}/roundtable", token, json={})
    refused(r, "0.01")
    b.get(f"/dashboard/videos/{video}")
    page = b.post(f"/dashboard/videos/{video}/roundtables", {"preset": ""})
    assert page.status_code == 200 and "monthly budget" in page.text and page.url.endswith(f"/dashboard/videos/{video}")
    assert sql(f"SELECT count(*) FROM roundtables WHERE video_id = {video}") == "0"
    set_budget("--email", email, "--monthly", "5")
    r = api("POST", f"/api/videos/{video}/roundtable", token, json={})
    assert r.status_code == 202, r.text
    rid = r.json()["roundtableId"]
    reserved = Decimal(sql(f"SELECT reserved_cost FROM roundtables WHERE id = {rid}"))
    assert reserved > Decimal("0.01")
    wait_until(lambda: api("GET", f"/api/roundtables/{rid}", token).json()["status"] == "completed", timeout=60, what="the roundtable")
    messages = Decimal(sql(f"SELECT sum(cost) FROM roundtable_messages WHERE roundtable_id = {rid}"))
    assert 0 < messages < reserved and spend(email) == messages
    # A video click that would pass what is left is refused like any other.
    set_budget("--email", email, "--monthly", "0.40")
    refused(generate(token, videos[1], SETTINGS, expectedCost=0.4), str((Decimal("0.40") - messages).quantize(Decimal("0.01"), rounding="ROUND_DOWN")))


def test_budget_pages_show_what_is_left_and_disable_the_button(no_worker):
    b, email, token, videos = user_with_videos(2)
    page = b.get(f"/dashboard/videos/{videos[0]}/generate")
    assert page.status_code == 200 and "Budget left" not in page.text
    set_budget("--email", email, "--monthly", "0.30")
    page = b.get(f"/dashboard/videos/{videos[0]}/generate?model=sora-2&duration=4&aspect_ratio=16:9&resolution=720p")
    assert page.status_code == 200 and "Budget left this month (UTC): <strong>$0.30</strong>" in page.text
    assert 'disabled aria-describedby="budget-note"' in page.text and "cannot start" in page.text
    html5lib.HTMLParser(strict=True).parse(page.text)
    # Posting anyway (the button is only a hint): refused with a readable page, nothing recorded.
    r = b.post(f"/dashboard/videos/{videos[0]}/generate", {**SETTINGS, "takes": "1", "expected_cost": "0.40", "image_fit": "crop"})
    assert r.status_code == 402 and "monthly budget" in r.text
    assert sql(f"SELECT count(*) FROM generations WHERE video_id = {videos[0]}") == "0"
    account = b.get("/account")
    assert "Budget left: <strong>$0.30</strong>" in account.text
    set_budget("--email", email, "--monthly", "1")
    page = b.get(f"/dashboard/videos/{videos[0]}/generate?model=sora-2&duration=4&aspect_ratio=16:9&resolution=720p")
    assert "$1.00" in page.text and "budget-note\"" in page.text and "disabled aria" not in page.text


def test_budget_cli_refuses_bad_input():
    assert promptreel("budget", "set", "--monthly", "5").returncode != 0
    assert promptreel("budget", "set", "--instance", "--email", "a@b.c", "--monthly", "5").returncode != 0
    bad = promptreel("budget", "set", "--instance", "--monthly", "-3")
    assert bad.returncode != 0
    bad = promptreel("budget", "set", "--instance", "--monthly", "1.234")
    assert bad.returncode != 0 and "2 decimals" in bad.stderr
    nobody = promptreel("budget", "set", "--email", "nobody@example.test", "--monthly", "5")
    assert nobody.returncode != 0 and "no user" in nobody.stderr
    assert sql("SELECT monthly_limit IS NULL FROM instance_budget") == "t"


def test_budget_admin_page_sets_budgets_and_is_404_to_members(no_worker):
    from test_accounts import admin_browser
    from test_pages_valid import assert_valid
    admin, _ = admin_browser()
    member, member_email, token, videos = user_with_videos(1)
    assert member.get("/admin/budgets").status_code == 404
    assert member.post("/admin/budgets", {"monthly": "1"}).status_code == 404
    page = admin.get("/admin/budgets")
    assert page.status_code == 200 and member_email in page.text
    assert_valid(page.text, "the admin budgets page")
    member_id = sql(f"SELECT id FROM users WHERE email = '{member_email}'")
    # Without the CSRF token nothing changes; with it the member's budget is set (to $0.50: one click fits).
    assert admin.post("/admin/budgets", {"user_id": member_id, "monthly": "0.50"}, csrf=False, allow_redirects=False).status_code == 403
    r = admin.post("/admin/budgets", {"user_id": member_id, "monthly": "0.50"}, allow_redirects=False)
    assert r.status_code == 303, r.text
    assert sql(f"SELECT monthly_limit FROM user_budgets WHERE user_id = {member_id}") == "0.50"
    assert admin.post("/admin/budgets", {"user_id": member_id, "monthly": "-3"}).status_code == 422
    assert admin.post("/admin/budgets", {"user_id": "987654321", "monthly": "5"}).status_code == 404
    assert generate(token, videos[0], SETTINGS).status_code == 200
    sql(f"UPDATE generations SET status = 'failed', phase = 'done', possibly_billed = true, completed_at = now() WHERE video_id = {videos[0]}")
    refused(generate(token, videos[0], SETTINGS), "0.10")
    # Empty means no limit again.
    assert admin.post("/admin/budgets", {"user_id": member_id, "monthly": ""}, allow_redirects=False).status_code == 303
    assert sql(f"SELECT monthly_limit IS NULL FROM user_budgets WHERE user_id = {member_id}") == "t"
    assert generate(token, videos[0], SETTINGS).status_code == 200
