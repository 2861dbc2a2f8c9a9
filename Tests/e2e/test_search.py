"""Search, filters and sorts through real nginx, the real binary and PostgreSQL, checked against an
independent computation over rows this test seeds: words (with English stemming), phrases, exclusions,
"or", no match; the latest generation's status and model; four orders walked page by page; other users'
videos never in results; hostile text escaped and the matches marked in the pages; bad filters 422."""
import html
import os
import random
import re
import subprocess

from conftest import Browser, api, sql
from test_pages_valid import assert_valid

# Words whose English stems are plain: plural and -ing forms fold together, nothing is a stop word.
WORDS = ["fox", "foxes", "lake", "lakes", "river", "red", "blue", "dawn", "night", "forest", "running", "runs", "harbor", "glacier"]
STEM = {"foxes": "fox", "lakes": "lake", "running": "run", "runs": "run"}
MODELS = ["sora-2", "sora-2-pro", "veo-3"]
# The latest generation's status for i % 5, as the generations below leave it (None: never generated).
HISTORIES = [[], ["completed"], ["completed", "failed"], ["failed", "in_progress"], ["completed", "queued"]]


def stems(text):
    return [STEM.get(w, w) for w in re.findall(r"[a-z0-9]+", text.lower())]


def seed(project, user_id, count, rng, prefix):
    """`count` videos with texts from WORDS, distinct edit times (some tied) and generation histories.
    Returns the rows as dicts, with what the filters and orders need."""
    rows = []
    for i in range(count):
        title = f"{rng.choice(['Alpha', 'beta', 'Gamma', 'delta', 'Echo'])}{rng.randint(0, 9)} {rng.choice(WORDS)}"
        brief = " ".join(rng.choice(WORDS) for _ in range(3))
        prompt = " ".join(rng.choice(WORDS) for _ in range(5))
        edited = "2026-01-01T00:00:00Z"
        minutes = rng.randint(0, count // 3)  # ties on purpose: the id breaks them
        video = int(sql(f"""INSERT INTO videos (project_id, title, brief, final_prompt, updated_at)
                            VALUES ({project}, '{prefix} {title}', '{brief}', '{prompt}',
                                    timestamptz '{edited}' + {minutes} * interval '1 minute' + interval '0.000123 seconds')
                            RETURNING id""").split()[0])
        history = HISTORIES[i % 5]
        model = MODELS[i % 3]
        latest = None
        for status in history:
            phase = {"completed": "done", "failed": "done", "in_progress": "submitted", "queued": "waiting"}[status]
            latest = int(sql(f"""INSERT INTO generations (video_id, user_id, settings, prompt, model, seconds, size, resolution,
                                                          estimated_cost, phase, status, actual_cost, provider_job_id, completed_at)
                                 VALUES ({video}, {user_id}, '{{}}', 'seeded', '{model}', 4, '1280x720', '720p', 0.40, '{phase}',
                                         '{status}', {'0.40' if status == 'completed' else '0' if status == 'failed' else 'NULL'},
                                         {f"'video_search_seed_{video}'" if phase == 'submitted' else 'NULL'},
                                         {'now()' if phase == 'done' else 'NULL'})
                                 RETURNING id""").split()[0])
        rows.append({"id": video, "title": f"{prefix} {title}", "minutes": minutes, "latest": latest,
                     "status": history[-1] if history else None, "model": model if history else None,
                     "tokens": stems(f"{prefix} {title}") + stems(prompt) + stems(brief)})
    return rows


def walk(token, path, params, limit=7):
    """Every page from the first, following `next`: the ids in order (asserting each page's shape)."""
    ids, cursor = [], None
    while True:
        r = api("GET", path, token, params=params | {"limit": limit} | ({"after": cursor} if cursor else {}))
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["data"] == doc["videos"] and len(doc["data"]) <= limit
        ids += [v["id"] for v in doc["data"]]
        if not doc["has_more"]:
            assert doc["next"] is None
            return ids
        cursor = doc["next"]


def expected_order(rows, sort):
    if sort == "created":
        return [r["id"] for r in sorted(rows, key=lambda r: -r["id"])]
    if sort == "edited":
        return [r["id"] for r in sorted(rows, key=lambda r: (-r["minutes"], -r["id"]))]
    if sort == "generated":
        return [r["id"] for r in sorted(rows, key=lambda r: (-(r["latest"] or 0), -r["id"]))]
    return [r["id"] for r in sorted(rows, key=lambda r: (r["title"].lower(), r["id"]))]


def matches_status(row, status):
    return {"never": row["status"] is None, "active": row["status"] in ("queued", "in_progress"),
            "completed": row["status"] == "completed", "failed": row["status"] == "failed"}[status]


def has_phrase(tokens, phrase):
    return any(tokens[i:i + len(phrase)] == phrase for i in range(len(tokens)))


def test_search_filters_and_sorts_match_an_independent_computation(no_worker):
    rng = random.Random(13)
    b = Browser()
    email = b.signup()
    token = b.create_token()
    user_id = int(sql(f"SELECT id FROM users WHERE email = '{email}'"))
    first = api("POST", "/api/projects", token, json={"name": "Coast"}).json()["id"]
    second = api("POST", "/api/projects", token, json={"name": "Mountains"}).json()["id"]
    # Someone else's videos use the same words: they must never show.
    other = Browser()
    other_email = other.signup()
    other_token = other.create_token()
    other_id = int(sql(f"SELECT id FROM users WHERE email = '{other_email}'"))
    other_project = api("POST", "/api/projects", other_token, json={"name": "Theirs"}).json()["id"]
    try:
        rows_first = seed(first, user_id, 45, rng, "Coast")
        rows_second = seed(second, user_id, 20, rng, "Peak")
        theirs = seed(other_project, other_id, 15, rng, "Theirs")
        everyone = rows_first + rows_second
        # The database counts each project's videos as they come and go.
        assert api("GET", f"/api/projects/{first}", token).json()["video_count"] == 45
        gone = next(r for r in rows_second if r["status"] is None)
        rows_second.remove(gone)
        everyone.remove(gone)
        assert api("DELETE", f"/api/videos/{gone['id']}", token).status_code == 204
        assert [p["video_count"] for p in api("GET", "/api/projects", token).json()["data"]] == [19, 45]
        # Moved by plain SQL, the counts follow.
        moved = rows_second[0]
        sql(f"UPDATE videos SET project_id = {first} WHERE id = {moved['id']}")
        assert [p["video_count"] for p in api("GET", "/api/projects", token).json()["data"]] == [18, 46]
        sql(f"UPDATE videos SET project_id = {second} WHERE id = {moved['id']}")

        searches = {
            "fox": lambda t: "fox" in t,
            "foxes running": lambda t: "fox" in t and "run" in t,          # stemming: fox/foxes, run/running/runs
            '"red fox"': lambda t: has_phrase(t, ["red", "fox"]),
            "fox -red": lambda t: "fox" in t and "red" not in t,
            "glacier or harbor": lambda t: "glacier" in t or "harbor" in t,
            "volcano": lambda t: False,
        }
        for q, wanted in searches.items():
            for path, rows in [(f"/api/projects/{first}/videos", rows_first), ("/api/videos", everyone)]:
                got = walk(token, path, {"q": q})
                want = [i for i in expected_order(rows, "created") if wanted(next(r for r in rows if r["id"] == i)["tokens"])]
                assert got == want, (q, path)
            # The other user's search never returns this user's videos either.
            theirs_got = walk(other_token, "/api/videos", {"q": q})
            assert set(theirs_got) <= {r["id"] for r in theirs}, q

        for sort in ["created", "edited", "generated", "title"]:
            for status in [None, "never", "active", "completed", "failed"]:
                for model in [None, "sora-2-pro"]:
                    params = {"sort": sort} | ({"status": status} if status else {}) | ({"model": model} if model else {})
                    rows = [r for r in everyone if (status is None or matches_status(r, status))
                            and (model is None or r["model"] == model)]
                    assert walk(token, "/api/videos", params) == expected_order(rows, sort), params
            # Within a project, with a search on top, and the default page size.
            rows = [r for r in rows_first if "lake" in r["tokens"] and r["status"] == "completed"]
            got = api("GET", f"/api/projects/{first}/videos", token, params={"sort": sort, "q": "lakes", "status": "completed"}).json()
            assert [v["id"] for v in got["data"]] == expected_order(rows, sort)[:50], sort

        # The latest generation as the API reports it, kept by the database as statuses change.
        probe = next(r for r in rows_first if r["status"] == "in_progress")
        doc = api("GET", f"/api/videos/{probe['id']}", token).json()
        assert doc["latest_generation"] == {"id": probe["latest"], "status": "in_progress", "model": probe["model"],
                                            "created_at": doc["latest_generation"]["created_at"]}
        sql(f"UPDATE generations SET status = 'completed', phase = 'done', actual_cost = 0.40, provider_job_id = NULL, completed_at = now() "
            f"WHERE id = {probe['latest']}")
        assert api("GET", f"/api/videos/{probe['id']}", token).json()["latest_generation"]["status"] == "completed"
        assert probe["id"] in walk(token, "/api/videos", {"status": "completed"})
        assert probe["id"] not in walk(token, "/api/videos", {"status": "active"})
        never = next(r for r in rows_first if r["status"] is None)
        assert api("GET", f"/api/videos/{never['id']}", token).json()["latest_generation"] is None
    finally:
        # Nothing seeded stays in flight for the workers of later tests.
        sql(f"""UPDATE generations SET status = 'failed', phase = 'done', actual_cost = 0, provider_job_id = NULL, completed_at = now()
                WHERE user_id IN ({user_id}, {other_id}) AND status IN ('queued', 'in_progress')""")


def test_pages_search_mark_matches_and_escape_hostile_text():
    b = Browser()
    b.signup()
    project = b.create_project("Harbor <b>films</b>")
    hostile = b.save_video(project, title='<script>alert("fox")</script> Fox at dawn', prompt="A fox & a <i>lake</i> at dawn")
    plain = b.save_video(project, title="Quiet river", prompt="Water and stones")
    other_project = b.create_project("Elsewhere")
    elsewhere = b.save_video(other_project, title="A fox elsewhere", prompt="Snow")

    page = b.get(f"/dashboard/projects/{project}?q=fox")
    assert page.status_code == 200
    assert_valid(page.text, "project search")
    assert f"/dashboard/videos/{hostile}" in page.text and f"/dashboard/videos/{plain}" not in page.text
    assert f"/dashboard/videos/{elsewhere}" not in page.text  # another project
    assert "&lt;script&gt;alert(&quot;<mark>fox</mark>&quot;)&lt;/script&gt; <mark>Fox</mark> at dawn" in page.text
    assert "A <mark>fox</mark> &amp; a &lt;i&gt;lake&lt;/i&gt; at dawn" in page.text
    assert 'value="fox"' in page.text  # the search stays in its box

    # Across projects, from the dashboard, with the project named.
    page = b.get("/dashboard?q=fox&sort=title")
    assert_valid(page.text, "dashboard search")
    assert f"/dashboard/videos/{hostile}" in page.text and f"/dashboard/videos/{elsewhere}" in page.text
    assert "Harbor &lt;b&gt;films&lt;/b&gt;" in page.text and "<b>films</b>" not in page.text
    # By title: "<script…" sorts before "A fox…" ("<" comes before letters).
    assert page.text.index(f"/dashboard/videos/{hostile}\"") < page.text.index(f"/dashboard/videos/{elsewhere}\"")
    # A hostile query is escaped where it is echoed, and finds nothing.
    page = b.get("/dashboard", params={"q": '"><script>x</script>'})
    assert_valid(page.text, "hostile query")
    assert "No videos match" in page.text and 'value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in page.text
    # Stop words alone search for nothing, and say so.
    assert "Very common words" in b.get("/dashboard?q=the").text
    # Filters without words.
    page = b.get(f"/dashboard/projects/{project}?status=never&sort=edited")
    assert f"/dashboard/videos/{hostile}" in page.text and f"/dashboard/videos/{plain}" in page.text
    assert "No videos match" in b.get(f"/dashboard/projects/{project}?status=completed").text
    # A bad filter is a readable 422 page.
    bad = b.get(f"/dashboard/projects/{project}?status=sideways")
    assert bad.status_code == 422 and "status" in html.unescape(bad.text)


def page_walk(b, url, rel):
    """Follows the pages' `rel` ("next" or "prev") links from `url`: the titles listed, page after page."""
    titles = []
    while url:
        page = b.get(url)
        assert page.status_code == 200, page.text
        titles.append(re.findall(r'<a href="/dashboard/videos/\d+">([^<]+)</a>', page.text))
        link = re.search(rf'<a rel="{rel}" href="([^"]+)">', page.text)
        url = html.unescape(link.group(1)) if link else None
    return titles


def test_pages_walk_every_order_both_ways_keeping_the_filter():
    b = Browser()
    email = b.signup()
    project = b.create_project("Many")
    user_id = int(sql(f"SELECT id FROM users WHERE email = '{email}'"))
    # 130 videos, edit times repeating every 7 (ties broken by id), titles unique; half mention a heron.
    sql(f"""INSERT INTO videos (project_id, title, final_prompt, updated_at)
            SELECT {project}, 'Clip ' || lpad(((i * 37) % 131)::text, 3, '0'),
                   CASE WHEN i % 2 = 0 THEN 'a heron at dawn' ELSE 'a crow at night' END, now() - (i % 7) * interval '1 hour'
            FROM generate_series(1, 130) i""")
    rows = [dict(zip(["id", "title", "hours", "heron"], line.split("|"))) for line in sql(
        f"SELECT id, title, round(extract(epoch FROM now() - updated_at) / 3600), final_prompt LIKE '%heron%' FROM videos "
        f"WHERE project_id = {project}").splitlines()]
    for r in rows:
        r["id"], r["hours"], r["heron"] = int(r["id"]), int(r["hours"]), r["heron"] == "t"
    # Generations in one statement, several per video (as a click of takes makes them): the latest is the last.
    sql(f"""INSERT INTO generations (video_id, user_id, settings, prompt, model, seconds, size, resolution, estimated_cost,
                                     phase, status, actual_cost, completed_at, error_code)
            SELECT v.id, {user_id}, '{{}}', 'x', 'sora-2', 4, '1280x720', '720p', 0.40, 'done', 'failed', 0, now(), 'seeded'
            FROM videos v, generate_series(1, 3) k WHERE v.project_id = {project} AND v.id % 3 <> 0 ORDER BY (v.id * 7919) % 1000, k""")
    latest = dict(map(int, line.split("|")) for line in sql(
        f"SELECT video_id, max(id) FROM generations WHERE video_id IN (SELECT id FROM videos WHERE project_id = {project}) "
        f"GROUP BY video_id").splitlines())
    herons = [r for r in rows if r["heron"]]
    orders = {
        "edited": sorted(herons, key=lambda r: (r["hours"], -r["id"])),
        "generated": sorted(herons, key=lambda r: (-latest.get(r["id"], 0), -r["id"])),
        "title": sorted(herons, key=lambda r: r["title"]),
        "created": sorted(herons, key=lambda r: -r["id"]),
    }
    for sort, want in orders.items():
        want = [r["title"] for r in want]
        forward = page_walk(b, f"/dashboard/projects/{project}?q=heron&sort={sort}", "next")
        assert [t for page in forward for t in page] == want, sort
        assert [len(p) for p in forward] == [50, 15], sort
        # Back from the last page by the "Previous"/"Newer" links: the same pages in reverse.
        last = b.get(f"/dashboard/projects/{project}?q=heron&sort={sort}")
        older = html.unescape(re.search(r'<a rel="next" href="([^"]+)">', last.text).group(1))
        assert "q=heron" in older and f"sort={sort}" in older
        backward = page_walk(b, older, "prev")
        assert backward == forward[::-1], sort
    # The API agrees about the latest generations a multi-row insert left.
    token = b.create_token()
    doc = api("GET", f"/api/projects/{project}/videos", token, params={"sort": "generated", "limit": 200}).json()
    assert [v["latest_generation"]["id"] if v["latest_generation"] else None for v in doc["data"]] == \
        [latest.get(r["id"]) for r in sorted(rows, key=lambda r: (-latest.get(r["id"], 0), -r["id"]))]


def test_dashboard_search_pages_on_through_all_videos():
    b = Browser()
    b.signup()
    project = b.create_project("Plenty")
    sql(f"INSERT INTO videos (project_id, title) SELECT {project}, 'Take ' || lpad(i::text, 3, '0') FROM generate_series(1, 60) i")
    # The form sent empty, default order: every video, newest first, paged on as videos (not projects).
    pages = page_walk(b, "/dashboard?q=&status=&model=&sort=created", "next")
    assert [t for page in pages for t in page] == [f"Take {i:03d}" for i in range(60, 0, -1)]


def test_bad_filters_and_cursors_are_422_with_the_envelope():
    b = Browser()
    b.signup()
    token = b.create_token()
    project = api("POST", "/api/projects", token, json={"name": "P"}).json()["id"]
    for i in range(3):
        api("POST", f"/api/projects/{project}/videos", token, json={"title": f"V{i}", "brief": "", "final_prompt": "x"})
    for params in [{"status": "done"}, {"sort": "price"}, {"q": "x" * 201}, {"model": "m" * 101}]:
        for path in ["/api/videos", f"/api/projects/{project}/videos"]:
            r = api("GET", path, token, params=params)
            assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_filter", (params, r.text)
    by_title = api("GET", "/api/videos", token, params={"sort": "title", "limit": 1}).json()["next"]
    r = api("GET", "/api/videos", token, params={"sort": "edited", "after": by_title})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_cursor"
    # A cursor of the project list is no position across projects, and the reverse.
    in_project = api("GET", f"/api/projects/{project}/videos", token, params={"limit": 1}).json()["next"]
    assert api("GET", "/api/videos", token, params={"after": in_project}).status_code == 422
    assert api("GET", "/api/videos", token).status_code == 200
    assert api("GET", "/api/videos").status_code == 401


def test_the_search_language_is_configurable():
    b = Browser()
    b.signup()
    token = b.create_token()
    project = api("POST", "/api/projects", token, json={"name": "Lang"}).json()["id"]
    video = api("POST", f"/api/projects/{project}/videos", token,
                json={"title": "Herons running", "brief": "", "final_prompt": "x"}).json()["id"]

    def found(q):
        return video in walk(token, "/api/videos", {"q": q})

    def cli(*args):
        out = subprocess.run([os.environ["PROMPTREEL_BIN"], "search-language", *args], capture_output=True, text=True, timeout=60)
        return out.returncode, out.stdout + out.stderr

    assert cli() == (0, "english\n")
    assert found("run") and found("heron")
    try:
        code, out = cli("simple")  # no stemming: only the words as written
        assert code == 0 and "search language: simple" in out, out
        assert not found("run") and found("running")
        code, out = cli("klingon")
        assert code != 0 and "no text-search configuration" in out
        assert cli() == (0, "simple\n")
    finally:
        assert cli("english")[0] == 0
    assert found("run")
