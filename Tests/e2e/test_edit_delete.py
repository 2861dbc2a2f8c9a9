"""Editing, copying and deleting videos and projects over the pages and the API, through real nginx, the
real binary, workers and the simulator: partial PATCH with named 422s, other users' ids 404, 409 while a
generation is active or unconfirmed, files gone after a delete while spend stays the same, the history
marking generations made with an earlier prompt, and `promptreel media sweep`."""
import os
import re
import subprocess
import threading
import time

from conftest import Browser, api, sql, wait_until
from test_pages_valid import ESCAPED, HOSTILE, assert_valid

MEDIA = os.environ.get("PROMPTREEL_MEDIA_DIR", "")


def setup(prompt="A red kite over green hills [sim:seconds=1]", title="Kite"):
    """A signed-in browser, its API token, a project and a video in it."""
    b = Browser()
    b.signup()
    token = b.create_token()
    project = api("POST", "/api/projects", token, json={"name": "Films", "description": "Autumn"}).json()["id"]
    video = api("POST", f"/api/projects/{project}/videos", token,
                json={"title": title, "brief": "kites", "final_prompt": prompt}).json()["id"]
    return b, token, project, video


def generate_and_finish(token, video):
    r = api("POST", f"/api/videos/{video}/generate-sora", token, json={})
    assert r.status_code == 200, r.text
    gid = r.json()["generationId"]
    wait_until(lambda: api("GET", f"/api/generations/{gid}", token).json()["status"] == "completed", what="completion")
    return api("GET", f"/api/generations/{gid}", token).json()


def patch(token, path, body=None, **kw):
    return api("PATCH", path, token, json=body, **kw) if body is not None else api("PATCH", path, token, **kw)


def error(r, status, code="validation_failed"):
    assert r.status_code == status, (r.status_code, r.text)
    e = r.json()["error"]
    assert e["code"] == code, r.text
    return e["message"]


def month_spend_sql(email):
    """The dashboard's figure by the budgets' rule, straight from the rows: generations and roundtables of
    clicks this UTC month, settled at their actual cost, in flight or possibly billed at the estimate."""
    return sql(f"""WITH u AS (SELECT id FROM users WHERE lower(email) = lower('{email}')),
                        m AS (SELECT date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS s)
                   SELECT (SELECT coalesce(sum(coalesce(g.actual_cost, g.estimated_cost)), 0) FROM generations g, m
                           WHERE g.user_id = (SELECT id FROM u) AND g.created_at >= m.s)
                        + (SELECT coalesce(sum(CASE WHEN r.status IN ('queued', 'running')
                                                    THEN greatest(r.reserved_cost, coalesce(x.c, 0)) ELSE coalesce(x.c, 0) END), 0)
                           FROM roundtables r, m, LATERAL (SELECT sum(cost) AS c FROM roundtable_messages WHERE roundtable_id = r.id) x
                           WHERE r.user_id = (SELECT id FROM u) AND r.created_at >= m.s)""")


def decimal_size(n):
    """What the pages say for n bytes: "41 MB", "4.2 MB", "980 KB" (Views.bytes; its unit test pins the rules)."""
    for unit, name in ((10**9, "GB"), (10**6, "MB"), (1000, "KB")):
        if n >= unit or name == "KB":
            tenths = (n * 10 + unit // 2) // unit
            return f"{tenths // 10}.{tenths % 10} {name}" if tenths < 100 else f"{(n + unit // 2) // unit} {name}"


def dashboard_spend(b):
    return re.search(r"Spent this month: <strong>([^<]+)</strong>", b.get("/dashboard").text).group(1)


def test_patch_video_and_project_partially(worker):
    _, token, project, video = setup()
    r = patch(token, f"/api/videos/{video}", {"title": "Kite, take two"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["title"] == "Kite, take two" and body["brief"] == "kites" and body["final_prompt"].startswith("A red kite")
    assert "sora_generation_status" in body  # the same shape as GET
    r = patch(token, f"/api/videos/{video}", {"brief": "  windy  ", "final_prompt": "A blue kite", "preset": "cinematic"})
    assert r.status_code == 200 and r.json()["brief"] == "windy" and r.json()["final_prompt"] == "A blue kite"
    assert r.json()["preset"] == "cinematic" and r.json()["title"] == "Kite, take two"
    assert patch(token, f"/api/videos/{video}", {"preset": None}).json()["preset"] is None
    assert api("GET", f"/api/videos/{video}", token).json()["final_prompt"] == "A blue kite"
    # Every final prompt is kept: the written one, then the edit; an unchanged prompt adds nothing.
    patch(token, f"/api/videos/{video}", {"final_prompt": "A blue kite"})
    assert sql(f"SELECT string_agg(source, ',' ORDER BY id) FROM video_prompt_versions WHERE video_id = {video}") == "written,edited"

    r = patch(token, f"/api/projects/{project}", {"name": "Films 2025"})
    assert r.status_code == 200 and r.json()["name"] == "Films 2025" and r.json()["description"] == "Autumn"
    r = patch(token, f"/api/projects/{project}", {"description": ""})
    assert r.status_code == 200 and r.json()["description"] == "" and r.json()["name"] == "Films 2025"
    assert api("GET", f"/api/projects/{project}", token).json()["name"] == "Films 2025"


def test_patch_refuses_bad_bodies_by_name(worker):
    _, token, project, video = setup()
    v, p = f"/api/videos/{video}", f"/api/projects/{project}"
    assert "body" in error(patch(token, v, headers={"Content-Type": "application/json"}), 422)
    assert "body" in error(patch(token, v, {}), 422)
    assert error(patch(token, v, {"titel": "x"}), 422).startswith("titel:")
    assert error(patch(token, v, {"title": "ok", "id": 5}), 422).startswith("id:")
    assert error(patch(token, v, {"title": ""}), 422).startswith("title:")
    assert error(patch(token, v, {"title": None}), 422).startswith("title:")
    assert error(patch(token, v, {"title": 5}), 422).startswith("title:")
    assert error(patch(token, v, {"title": "x" * 201}), 422).startswith("title:")
    assert error(patch(token, v, {"brief": "x" * 10001}), 422).startswith("brief:")
    assert error(patch(token, v, {"final_prompt": "x" * 32001}), 422).startswith("final_prompt:")
    assert error(patch(token, v, {"preset": "no-such"}), 422).startswith("preset:")
    assert error(patch(token, v, {"final_prompt": "a\u0000b"}), 422).startswith("final_prompt:")
    bad_utf8 = patch(token, v, data=b'{"brief": "\xff"}', headers={"Content-Type": "application/json"})
    assert error(bad_utf8, 422).startswith("brief:")
    assert error(patch(token, v, data=b"{bad", headers={"Content-Type": "application/json"}), 400, "invalid_json")
    assert patch(token, v, data=b"title=x", headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 415
    assert error(patch(token, v, [1]), 400, "invalid_json")
    assert error(patch(token, p, {"name": " "}), 422).startswith("name:")
    assert error(patch(token, p, {"description": "x" * 10001}), 422).startswith("description:")
    assert error(patch(token, p, {"video_count": 3}), 422).startswith("video_count:")
    assert "body" in error(patch(token, p, {}), 422)
    # Nothing changed.
    assert api("GET", v, token).json()["title"] == "Kite" and api("GET", p, token).json()["name"] == "Films"


def test_other_users_ids_are_404_and_change_nothing(worker):
    alice, token, project, video = setup()
    bob, other, _, _ = setup()
    for method, path, body in (("PATCH", f"/api/videos/{video}", {"title": "Mine"}), ("DELETE", f"/api/videos/{video}", None),
                               ("POST", f"/api/videos/{video}/copy", None), ("PATCH", f"/api/projects/{project}", {"name": "Mine"}),
                               ("DELETE", f"/api/projects/{project}", None), ("DELETE", "/api/videos/999999999", None),
                               ("PATCH", "/api/projects/999999999", {"name": "x"})):
        r = api(method, path, other, json=body) if body else api(method, path, other)
        assert error(r, 404, "not_found"), (method, path)
    bob.get("/dashboard")
    for path in (f"/dashboard/videos/{video}/edit", f"/dashboard/videos/{video}/delete",
                 f"/dashboard/projects/{project}/edit", f"/dashboard/projects/{project}/delete"):
        assert bob.get(path).status_code == 404, path
    assert bob.post(f"/dashboard/videos/{video}/edit", {"title": "Mine", "brief": "", "final_prompt": "x"}).status_code == 404
    assert bob.post(f"/dashboard/videos/{video}/delete", {}).status_code == 404
    assert bob.post(f"/dashboard/videos/{video}/copy", {}).status_code == 404
    assert bob.post(f"/dashboard/projects/{project}/edit", {"name": "Mine"}).status_code == 404
    assert bob.post(f"/dashboard/projects/{project}/delete", {}).status_code == 404
    assert api("GET", f"/api/videos/{video}", token).json()["title"] == "Kite"
    assert api("GET", f"/api/projects/{project}", token).json()["name"] == "Films"
    assert api("GET", f"/api/projects/{project}/videos", token).json()["videos"][0]["id"] == video
    # Anonymous and without the form token: refused.
    assert api("DELETE", f"/api/videos/{video}").status_code == 401
    assert alice.post(f"/dashboard/videos/{video}/delete", {}, csrf=False).status_code == 403
    assert api("GET", f"/api/videos/{video}", token).status_code == 200


def test_edit_pages_save_and_show_errors(worker):
    b, token, project, video = setup(prompt="Line one\nline two")
    page = b.get(f"/dashboard/videos/{video}/edit")
    assert page.status_code == 200 and 'value="Kite"' in page.text and "Line one\nline two</textarea>" in page.text
    assert_valid(page.text, "edit video")
    # A browser sends the untouched textarea back with CRLF: not a new prompt.
    r = b.post(f"/dashboard/videos/{video}/edit", {"title": "Kite 2", "brief": "kites", "final_prompt": "Line one\r\nline two",
                                                   "preset": ""}, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"] == f"/dashboard/videos/{video}"
    assert sql(f"SELECT count(*) FROM video_prompt_versions WHERE video_id = {video}") == "1"
    shown = b.get(f"/dashboard/videos/{video}")
    assert "Saved." in shown.text and "<h1>Kite 2</h1>" in shown.text
    b.post(f"/dashboard/videos/{video}/edit", {"title": "Kite 2", "brief": HOSTILE, "final_prompt": "A new prompt", "preset": "documentary"})
    v = api("GET", f"/api/videos/{video}", token).json()
    assert v["final_prompt"] == "A new prompt" and v["brief"] == HOSTILE and v["preset"] == "documentary"
    bad = b.post(f"/dashboard/videos/{video}/edit", {"title": "", "brief": HOSTILE, "final_prompt": "x", "preset": ""})
    assert bad.status_code == 422 and "title: must not be empty" in bad.text and ESCAPED in bad.text
    assert_valid(bad.text, "edit video error")
    assert api("GET", f"/api/videos/{video}", token).json()["title"] == "Kite 2"

    page = b.get(f"/dashboard/projects/{project}/edit")
    assert page.status_code == 200 and 'value="Films"' in page.text
    assert_valid(page.text, "edit project")
    r = b.post(f"/dashboard/projects/{project}/edit", {"name": HOSTILE, "description": "Winter"}, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"] == f"/dashboard/projects/{project}"
    shown = b.get(f"/dashboard/projects/{project}")
    assert ESCAPED in shown.text and "Winter" in shown.text
    assert_valid(shown.text, "project")
    bad = b.post(f"/dashboard/projects/{project}/edit", {"name": "x" * 201, "description": ""})
    assert bad.status_code == 422 and "name: must be at most 200 characters" in bad.text
    # The rename shows at once on a page this process had cached (the generation page carries the name).
    gen = generate_and_finish(token, video)
    assert ESCAPED in b.get(f"/dashboard/generations/{gen['id']}").text
    b.post(f"/dashboard/projects/{project}/edit", {"name": "Renamed", "description": ""})
    assert "Renamed" in b.get(f"/dashboard/generations/{gen['id']}").text


def test_history_marks_generations_made_with_an_earlier_prompt(worker):
    old = "A <b>red</b> kite [sim:seconds=1]"
    b, token, _, video = setup(prompt=old)
    first = generate_and_finish(token, video)
    page = b.get(f"/dashboard/videos/{video}")
    assert "Made with an earlier prompt" not in page.text
    patch(token, f"/api/videos/{video}", {"final_prompt": "A green kite [sim:seconds=1]"})
    second = generate_and_finish(token, video)
    page = b.get(f"/dashboard/videos/{video}")
    assert page.text.count("Made with an earlier prompt") == 1
    assert "A &lt;b&gt;red&lt;/b&gt; kite" in page.text and "<b>red</b>" not in page.text
    assert_valid(page.text, "video with an earlier prompt")
    older = b.get(f"/dashboard/generations/{first['id']}")
    assert "Made with an earlier prompt" in older.text and "A &lt;b&gt;red&lt;/b&gt; kite" in older.text
    assert_valid(older.text, "generation with an earlier prompt")
    assert "Made with an earlier prompt" not in b.get(f"/dashboard/generations/{second['id']}").text
    # The past generation keeps the prompt it was made with (the API says which).
    assert sql(f"SELECT prompt FROM generations WHERE id = {first['id']}") == old
    history = api("GET", f"/api/videos/{video}/generations", token).json()["generations"]
    assert [g["prompt"] for g in history] == ["A green kite [sim:seconds=1]", old]


def test_save_as_new_video_copies_without_touching_the_original(worker):
    b, token, project, video = setup(prompt="A calm lake")
    generate_and_finish(token, video)
    b.get(f"/dashboard/videos/{video}")
    r = b.post(f"/dashboard/videos/{video}/copy", {}, allow_redirects=False)
    assert r.status_code == 303
    copy = int(r.headers["Location"].rsplit("/", 1)[1])
    assert copy != video
    c = api("GET", f"/api/videos/{copy}", token).json()
    assert c["title"] == "Kite (copy)" and c["brief"] == "kites" and c["final_prompt"] == "A calm lake"
    assert c["project_id"] == project and c["sora_generation_status"] is None
    assert api("GET", f"/api/videos/{copy}/generations", token).json()["generations"] == []
    patch(token, f"/api/videos/{copy}", {"final_prompt": "A stormy lake"})
    assert api("GET", f"/api/videos/{video}", token).json()["final_prompt"] == "A calm lake"
    assert len(api("GET", f"/api/videos/{video}/generations", token).json()["generations"]) == 1
    long = api("POST", f"/api/projects/{project}/videos", token, json={"title": "é" * 200}).json()["id"]
    r = api("POST", f"/api/videos/{long}/copy", token)
    assert r.status_code == 201 and r.headers["Location"] == f"/api/videos/{r.json()['id']}"
    assert r.json()["title"] == "é" * 193 + " (copy)"


def test_delete_video_removes_files_and_keeps_spend(worker):
    b, token, project, video = setup()
    email = sql(f"SELECT u.email FROM projects p JOIN users u ON u.id = p.user_id WHERE p.id = {project}")
    keep = api("POST", f"/api/projects/{project}/videos", token, json={"title": "Keep", "final_prompt": "A dog [sim:seconds=1]"}).json()["id"]
    gens = [generate_and_finish(token, video), generate_and_finish(token, video)]
    kept = generate_and_finish(token, keep)
    dirs = [os.path.join(MEDIA, str(g["id"])) for g in gens]
    assert all(os.path.isfile(os.path.join(d, "video.mp4")) for d in dirs)
    size = sum(os.path.getsize(os.path.join(d, f)) for d in dirs for f in os.listdir(d))
    spend_page, spend_rows = dashboard_spend(b), month_spend_sql(email)
    assert spend_page == "$1.20" and spend_rows == "1.20"
    # sora-status is answered (and cached by this process) before the delete.
    assert api("GET", f"/api/videos/{video}/sora-status", token).json()["status"] == "completed"

    confirm = b.get(f"/dashboard/videos/{video}/delete")
    assert confirm.status_code == 200 and "Delete this video" in confirm.text
    assert f"2 generations, {decimal_size(size)} of media" in confirm.text, (size, confirm.text)
    assert_valid(confirm.text, "delete video")
    r = b.post(f"/dashboard/videos/{video}/delete", {}, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"] == f"/dashboard/projects/{project}"
    landed = b.get(r.headers["Location"])
    assert "Deleted “Kite”: 2 generations" in landed.text and "Keep" in landed.text and ">Kite<" not in landed.text

    # The files go after the commit, removed by a worker (never on the request thread).
    wait_until(lambda: not any(os.path.exists(d) for d in dirs), timeout=15, what="the deleted video's files removed")
    assert os.path.isfile(os.path.join(MEDIA, str(kept["id"]), "video.mp4"))
    assert error(api("GET", f"/api/videos/{video}", token), 404, "not_found")
    assert error(api("GET", f"/api/videos/{video}/sora-status", token), 404, "not_found")
    assert error(api("GET", f"/api/videos/{video}/generations", token), 404, "not_found")
    assert error(patch(token, f"/api/videos/{video}", {"title": "x"}), 404, "not_found")
    assert b.get(f"/dashboard/videos/{video}").status_code == 404
    for g in gens:
        assert api("GET", g["videoUrl"], token).status_code == 404
        assert b.get(f"/dashboard/generations/{g['id']}").status_code == 404
        # The money record stays, says what it was for, and points at no file.
        record = api("GET", f"/api/generations/{g['id']}", token).json()
        assert record["videoId"] is None and record["videoDeleted"] is True and record["videoTitle"] == "Kite"
        assert record["cost"] == 0.4 and record["status"] == "completed" and record["videoUrl"] is None
        assert record["thumbnailUrl"] is None and record["thumbnailSource"] is None
    assert sql(f"SELECT count(*) FROM generations WHERE id IN ({gens[0]['id']}, {gens[1]['id']}) AND video_title = 'Kite' "
               "AND video_path IS NULL AND video_deleted_at IS NOT NULL") == "2"
    assert sql(f"SELECT count(*) FROM video_prompt_versions WHERE video_id = {video}") == "0"
    assert dashboard_spend(b) == spend_page and month_spend_sql(email) == spend_rows
    assert api("DELETE", f"/api/videos/{video}", token).status_code == 404  # gone is gone
    assert api("GET", f"/media/generations/{kept['id']}/video.mp4", token).status_code == 200


def test_delete_project_over_the_api(worker):
    b, token, project, video = setup()
    email = sql(f"SELECT u.email FROM projects p JOIN users u ON u.id = p.user_id WHERE p.id = {project}")
    second = api("POST", f"/api/projects/{project}/videos", token, json={"title": "Second", "final_prompt": "x"}).json()["id"]
    gen = generate_and_finish(token, video)
    spend = dashboard_spend(b), month_spend_sql(email)
    confirm = b.get(f"/dashboard/projects/{project}/delete")
    assert "2 videos, 1 generation, " in confirm.text and "Delete this project" in confirm.text
    assert_valid(confirm.text, "delete project")
    r = api("DELETE", f"/api/projects/{project}", token)
    assert r.status_code == 204 and r.content == b""
    assert api("GET", f"/api/projects/{project}", token).status_code == 404
    assert api("GET", f"/api/videos/{video}", token).status_code == 404 and api("GET", f"/api/videos/{second}", token).status_code == 404
    assert error(api("GET", f"/api/videos/{video}/sora-status", token), 404, "not_found")
    wait_until(lambda: not os.path.exists(os.path.join(MEDIA, str(gen["id"]))), timeout=15,
               what="the deleted project's files removed")
    assert api("GET", f"/api/generations/{gen['id']}", token).json()["videoTitle"] == "Kite"
    assert (dashboard_spend(b), month_spend_sql(email)) == spend
    assert api("GET", "/api/projects", token).json()["projects"] == []


def test_delete_project_over_the_pages_redirects_to_the_dashboard(worker):
    b, token, project, _ = setup()
    b.get(f"/dashboard/projects/{project}/delete")
    r = b.post(f"/dashboard/projects/{project}/delete", {}, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"] == "/dashboard"
    assert "Deleted “Films”: 1 video, 0 generations, no media files" in b.get("/dashboard").text
    assert api("GET", f"/api/projects/{project}", token).status_code == 404


def insert_generation(video, phase="waiting", status="queued"):
    billed = "true" if phase == "unconfirmed" else "false"
    return sql(f"""
        INSERT INTO generations (video_id, user_id, settings, prompt, model, seconds, size, resolution, estimated_cost,
                                 phase, status, possibly_billed, actual_cost, completed_at, error_code)
        SELECT v.id, p.user_id, '{{"model":"sora-2"}}', v.final_prompt, 'sora-2', 4, '1280x720', '720p', 0.40,
               '{phase}', '{status}', {billed}, CASE WHEN {billed} THEN 0.40 END, CASE WHEN {billed} THEN now() END,
               CASE WHEN {billed} THEN 'unconfirmed' END
        FROM videos v JOIN projects p ON p.id = v.project_id WHERE v.id = {video} RETURNING id""").splitlines()[0]


def test_delete_is_refused_while_a_generation_is_active_or_unconfirmed(no_worker):
    b, token, project, video = setup()
    email = sql(f"SELECT u.email FROM projects p JOIN users u ON u.id = p.user_id WHERE p.id = {project}")
    r = api("POST", f"/api/videos/{video}/generate-sora", token, json={})
    gid = r.json()["generationId"]  # waits: no worker runs
    assert error(api("DELETE", f"/api/videos/{video}", token), 409, "generation_in_progress")
    assert error(api("DELETE", f"/api/projects/{project}", token), 409, "generation_in_progress")
    page = b.get(f"/dashboard/videos/{video}/delete")
    assert page.status_code == 200 and "cannot be deleted now" in page.text and "Delete this video" not in page.text
    assert_valid(page.text, "delete refused")
    refused = b.post(f"/dashboard/videos/{video}/delete", {})
    assert refused.status_code == 409 and "queued or in progress" in refused.text
    assert b.post(f"/dashboard/projects/{project}/delete", {}).status_code == 409
    assert api("GET", f"/api/videos/{video}", token).status_code == 200

    # Sent and in flight at the provider: still refused.
    sql(f"UPDATE generations SET phase = 'submitted', status = 'in_progress', provider_job_id = 'video_e2e_{gid}' WHERE id = {gid}")
    assert error(api("DELETE", f"/api/videos/{video}", token), 409, "generation_in_progress")
    sql(f"UPDATE generations SET phase = 'done', status = 'failed', actual_cost = 0, completed_at = now() WHERE id = {gid}")

    # Unconfirmed (possibly billed, an operator may still adopt it): refused too.
    insert_generation(video, phase="unconfirmed", status="failed")
    assert error(api("DELETE", f"/api/videos/{video}", token), 409, "generation_unconfirmed")
    assert "cannot be deleted now" in b.get(f"/dashboard/projects/{project}/delete").text
    assert b.post(f"/dashboard/videos/{video}/delete", {}).status_code == 409
    spend = month_spend_sql(email)
    assert spend == "0.40"

    # Settled; but a roundtable (paid chat calls) is queued: refused until it ends.
    sql(f"UPDATE generations SET phase = 'done' WHERE video_id = {video} AND phase = 'unconfirmed'")
    started = api("POST", f"/api/videos/{video}/roundtable", token, json={})
    assert started.status_code == 202, started.text
    table = started.json()["roundtableId"]
    assert error(api("DELETE", f"/api/videos/{video}", token), 409, "roundtable_in_progress")
    sql(f"UPDATE roundtables SET status = 'failed', error_message = 'e2e', completed_at = now() WHERE id = {table}")

    # Now it goes; the possibly billed amount stays in spend, the roundtable row stays too (its chat costs).
    assert api("DELETE", f"/api/videos/{video}", token).status_code == 204
    assert month_spend_sql(email) == spend
    assert sql(f"SELECT video_id IS NULL AND video_title = 'Kite' FROM roundtables WHERE id = {table}") == "t"
    assert api("GET", f"/api/roundtables/{table}", token).status_code == 404
    assert api("POST", f"/api/roundtables/{table}/retry", token).status_code == 404
    assert sql(f"SELECT status FROM roundtables WHERE id = {table}") == "failed"
    # The database itself refuses an active generation without a video.
    assert "generations_deleted_video_check" in subprocess.run(
        ["psql", os.environ["DATABASE_URL"], "-Atqc", f"UPDATE generations SET phase = 'waiting', status = 'queued' WHERE id = {gid}"],
        capture_output=True, text=True).stderr


def test_a_click_racing_a_delete_never_leaves_a_job_without_its_video(no_worker):
    _, token, project, _ = setup()
    for round_ in range(8):
        video = api("POST", f"/api/projects/{project}/videos", token, json={"title": f"Race {round_}", "final_prompt": "x"}).json()["id"]
        results = {}
        barrier = threading.Barrier(3)

        def click(i):
            barrier.wait()
            results[f"click{i}"] = api("POST", f"/api/videos/{video}/generate-sora", token, json={}).status_code

        def delete():
            barrier.wait()
            time.sleep(0.002 * round_)  # from a dead heat to the clicks landing first
            results["delete"] = api("DELETE", f"/api/videos/{video}", token).status_code

        threads = [threading.Thread(target=click, args=(i,)) for i in range(2)] + [threading.Thread(target=delete)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        clicks = [results["click0"], results["click1"]]
        assert results["delete"] in (204, 409), results
        assert all(c in (200, 404, 409) for c in clicks), results
        if results["delete"] == 204:
            assert clicks == [404, 404], results  # the video went first: there is nothing to generate
        else:
            assert clicks.count(200) == 1, results
            sql(f"UPDATE generations SET phase = 'done', status = 'failed', actual_cost = 0, completed_at = now() WHERE video_id = {video}")
    assert sql("SELECT count(*) FROM generations WHERE video_id IS NULL AND phase <> 'done'") == "0"


def test_media_sweep_removes_orphans_and_keeps_live_media(worker):
    _, token, project, video = setup()
    live = generate_and_finish(token, video)
    doomed_video = api("POST", f"/api/projects/{project}/videos", token, json={"title": "Doomed", "final_prompt": "x [sim:seconds=1]"}).json()["id"]
    doomed = generate_and_finish(token, doomed_video)
    # A removal that never happened (a store's copy left behind): the row is gone from the video, the files stay.
    sql(f"DELETE FROM videos WHERE id = {doomed_video}; DELETE FROM media_deletions WHERE prefix = '{doomed['id']}/'")
    assert os.path.isfile(os.path.join(MEDIA, str(doomed["id"]), "video.mp4"))
    assert sql(f"SELECT video_path IS NULL AND video_title = 'Doomed' FROM generations WHERE id = {doomed['id']}") == "t"
    orphan = os.path.join(MEDIA, "987654321")
    os.makedirs(orphan, exist_ok=True)
    open(os.path.join(orphan, "video.mp4"), "wb").write(b"orphan")
    stray = os.path.join(MEDIA, str(live["id"]), "video.mp4.download")
    open(stray, "wb").write(b"half")
    # A stray in a finished generation's folder goes once it is an hour old (a poster being made is renamed
    # into place before its row commits): this one is old; a fresh one stays.
    os.utime(stray, (time.time() - 7200, time.time() - 7200))
    fresh = os.path.join(MEDIA, str(live["id"]), "thumbnail.webp.123-abc.local")
    open(fresh, "wb").write(b"being made")
    foreign = os.path.join(MEDIA, "not-a-generation")
    os.makedirs(foreign, exist_ok=True)

    out = subprocess.run([os.environ["PROMPTREEL_BIN"], "media", "sweep"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "removed local: 987654321/video.mp4 " in out.stdout and "no generation 987654321" in out.stdout
    assert f"removed local: {doomed['id']}/video.mp4 " in out.stdout and "was deleted" in out.stdout
    assert f"removed local: {live['id']}/video.mp4.download " in out.stdout
    assert not os.path.exists(orphan) and not os.path.exists(os.path.join(MEDIA, str(doomed["id"]))) and not os.path.exists(stray)
    assert os.path.isdir(foreign) and os.path.isfile(fresh)
    os.remove(fresh)
    for name in ("video.mp4", "thumbnail.webp", "spritesheet.jpg"):
        assert os.path.isfile(os.path.join(MEDIA, str(live["id"]), name)), name
    assert api("GET", live["videoUrl"], token).status_code == 200
    again = subprocess.run([os.environ["PROMPTREEL_BIN"], "media", "sweep"], capture_output=True, text=True, timeout=30)
    assert again.returncode == 0 and "removed 0 items" in again.stdout, again.stdout
    os.rmdir(foreign)
