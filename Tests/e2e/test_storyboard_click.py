"""Issue 23, part 2, through nginx: "Generate shots" — every chosen shot of a project in one click, at one
confirmed total (the sum of the per-generation prices), all or nothing under the budget, and the click's own
page and JSON (a batch)."""
import re
from decimal import Decimal

from conftest import Browser, api, sql, wait_until
from test_budgets import SETTINGS, set_budget
from test_pages_valid import assert_valid


def storyboard(n, prompt="A paper boat, shot {i} [sim:seconds=1]"):
    b = Browser()
    email = b.signup()
    token = b.create_token()
    project = api("POST", "/api/projects", token, json={"name": "Five shots"}).json()["id"]
    ids = [api("POST", f"/api/projects/{project}/videos", token,
               json={"title": f"Shot {i}", "final_prompt": prompt.format(i=i)}).json()["id"] for i in range(1, n + 1)]
    return b, email, token, project, ids


def click(token, project, **body):
    return api("POST", f"/api/projects/{project}/generate", token, json={"settings": SETTINGS, **body})


def cancel(token, started):
    """Cancels a click's generations before any worker sends them (tests after this one count creates)."""
    for g in started["generations"]:
        assert api("POST", f"/api/generations/{g['generationId']}/cancel", token).status_code == 200


def test_one_click_generates_every_shot_at_the_confirmed_total(worker):
    b, _, token, project, ids = storyboard(5)
    # The page: every shot chosen by default, the price per shot and the total on the button.
    page = b.get(f"/dashboard/projects/{project}/generate?model=sora-2&duration=4&aspect_ratio=16:9&resolution=720p")
    assert page.status_code == 200
    assert_valid(page.text, "the generate-shots page")
    assert page.text.count(" checked>") == 5 and "Generate 5 shots ($2.00)" in page.text
    confirm = re.search(rf'<form method="post" action="/dashboard/projects/{project}/generate">(.*?)</form>', page.text, re.S)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', confirm.group(1)))
    assert fields["shots"] == ",".join(map(str, ids)) and fields["expected_cost"] == "2.00"
    r = b.post(f"/dashboard/projects/{project}/generate", fields)
    assert r.status_code == 200 and "/dashboard/batches/" in r.url, r.text
    batch = int(r.url.rsplit("/", 1)[1])
    assert_valid(r.text, "the batch page")
    # The total confirmed is the sum recorded, one generation per shot, all under one click.
    rows = sql(f"SELECT g.video_id, g.estimated_cost FROM generations g JOIN generation_batches b ON b.id = g.batch_id "
               f"WHERE b.storyboard_click_id = {batch} ORDER BY g.video_id").splitlines()
    assert [int(r.split("|")[0]) for r in rows] == ids
    assert sum(Decimal(r.split("|")[1]) for r in rows) == Decimal("2.00")
    assert sql(f"SELECT total_cost FROM storyboard_clicks WHERE id = {batch}") == "2.00"
    # A second press (another tab) starts nothing and shows the running click.
    again = b.post(f"/dashboard/projects/{project}/generate", fields)
    assert again.url.endswith(f"/dashboard/batches/{batch}") and "already being generated" in again.text
    r = click(token, project, videoIds=ids)
    assert r.status_code == 409 and r.json()["error"]["code"] == "generation_in_progress", r.text
    assert sql(f"SELECT count(*) FROM generations WHERE video_id = ANY('{{{','.join(map(str, ids))}}}')") == "5"
    # The batch JSON follows every generation to the end; the page stops refreshing.
    done = wait_until(lambda: (j := api("GET", f"/api/batches/{batch}", token).json())["status"] == "finished" and j,
                      timeout=60, what="the click to finish")
    assert done["kind"] == "storyboard" and [s["videoId"] for s in done["shots"]] == ids
    assert done["counts"] == {"completed": 5} and Decimal(str(done["estimatedCost"])) == Decimal("2.00")
    assert "http-equiv=\"refresh\"" not in b.get(f"/dashboard/batches/{batch}").text
    # Now every shot has a take: the default chooses none; chosen explicitly, they generate again.
    r = click(token, project)
    assert r.status_code == 422 and r.json()["error"]["code"] == "no_shots_chosen", r.text
    r = click(token, project, videoIds=ids[:2], expectedCost="0.80")
    assert r.status_code == 200 and Decimal(str(r.json()["estimatedCost"])) == Decimal("0.80"), r.text
    assert [g["videoId"] for g in r.json()["generations"]] == ids[:2] and r.json()["skipped"] == []
    again = r.json()["batchId"]
    wait_until(lambda: api("GET", f"/api/batches/{again}", token).json()["status"] == "finished", timeout=60,
               what="the second click")
    # A single video's click is a batch too.
    one = sql(f"SELECT batch_id FROM generations WHERE video_id = {ids[0]} ORDER BY id LIMIT 1")
    assert api("GET", f"/api/batches/{one}", token).json()["kind"] == "video"


def test_a_budget_that_fits_three_of_five_shots_starts_none(no_worker):
    b, email, token, project, ids = storyboard(5)
    set_budget("--email", email, "--monthly", "1.20")
    r = click(token, project)
    assert r.status_code == 402 and r.json()["error"]["code"] == "budget_exceeded", r.text
    assert r.json()["error"]["remaining"] == "1.20"
    assert sql(f"SELECT count(*) FROM generations WHERE video_id = ANY('{{{','.join(map(str, ids))}}}')") == "0"
    page = b.get(f"/dashboard/projects/{project}/generate?model=sora-2&duration=4&aspect_ratio=16:9&resolution=720p")
    assert "cannot start" in page.text and re.search(r'<button type="submit" class="primary" disabled', page.text)
    # Three shots fit.
    r = click(token, project, videoIds=ids[:3], expectedCost=1.2)
    assert r.status_code == 200, r.text
    cancel(token, r.json())


def test_bad_clicks_are_refused_plainly(no_worker):
    b, _, token, project, ids = storyboard(2)
    other = Browser()
    other.signup()
    stranger = other.create_token()
    assert click(stranger, project).status_code == 404
    assert click(token, project + 1_000_000).status_code == 404
    theirs = api("POST", "/api/projects", stranger, json={"name": "Theirs"}).json()["id"]
    their_video = api("POST", f"/api/projects/{theirs}/videos", stranger, json={"title": "x", "final_prompt": "y"}).json()["id"]
    assert click(token, project, videoIds=[ids[0], their_video]).status_code == 404
    for bad in [[], [ids[0], ids[0]], ["1"], [1.5], "1,2", list(range(1, 52))]:
        r = click(token, project, videoIds=bad)
        assert r.status_code == 422, (bad, r.text)
    assert "at most 50" in click(token, project, videoIds=list(range(1, 52))).json()["error"]["message"]
    r = click(token, project, settings={"model": "no-such-model"})
    assert r.status_code == 422
    r = click(token, project, expectedCost="0.10")
    assert r.status_code == 409 and r.json()["error"]["code"] == "price_changed"
    empty = api("POST", "/api/projects", token, json={"name": "Empty"}).json()["id"]
    assert click(token, empty).json()["error"]["code"] == "empty_storyboard"
    # A shot without a prompt is skipped and says why.
    bare = api("POST", f"/api/projects/{project}/videos", token, json={"title": "bare"}).json()["id"]
    r = click(token, project)
    assert r.status_code == 200 and r.json()["skipped"] == [{"videoId": bare, "reason": "no_prompt"}], r.text
    assert api("GET", f"/api/batches/{r.json()['batchId']}", stranger).status_code == 404
    assert b.get(f"/dashboard/batches/{r.json()['batchId']}").status_code == 200
    assert other.get(f"/dashboard/batches/{r.json()['batchId']}").status_code == 404
    cancel(token, r.json())
