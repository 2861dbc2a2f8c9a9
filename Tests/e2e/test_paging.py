"""Paged lists through real nginx, the real binary and PostgreSQL: walking a list page by page while rows
are inserted neither repeats nor skips a row, `limit` and the cursor are range-checked (422 with the JSON
envelope), a cursor of another list, project or user is refused, and other users' rows never show."""
import base64
import html
import re

from conftest import Browser, api, sql
from test_pages_valid import assert_valid


def user():
    b = Browser()
    b.signup()
    return b, b.create_token()


def new_project(token, name="Films"):
    r = api("POST", "/api/projects", token, json={"name": name})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def new_video(token, project, title):
    r = api("POST", f"/api/projects/{project}/videos", token, json={"title": title, "brief": "", "final_prompt": "A lake"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def insert_videos(project, n):
    """`n` videos straight into the table (faster than the API for long lists)."""
    sql(f"INSERT INTO videos (project_id, title, brief, final_prompt) "
        f"SELECT {project}, 'Seeded ' || i, '', '' FROM generate_series(1, {n}) i")


def insert_generations(video, n):
    """`n` finished (failed, unbilled) generations of a video, as the history lists them."""
    sql(f"""INSERT INTO generations (video_id, user_id, settings, prompt, model, seconds, size, resolution, estimated_cost,
                                     phase, status, actual_cost, completed_at, error_code)
            SELECT v.id, p.user_id, '{{"model":"sora-2"}}', 'A lake', 'sora-2', 4, '1280x720', '720p', 0.40,
                   'done', 'failed', 0, now(), 'seeded'
            FROM videos v JOIN projects p ON p.id = v.project_id, generate_series(1, {n}) i WHERE v.id = {video}""")


def ids_in_db(query):
    return [int(x) for x in sql(query).split()]


def walk(token, path, key, limit, between=None):
    """Every page of a list from the first: the ids in order, and the pages' sizes. `between(i)` runs
    after page i is read (to insert rows while the walk goes on)."""
    ids, sizes, cursor, i = [], [], None, 0
    while True:
        params = {"limit": limit} | ({"after": cursor} if cursor else {})
        r = api("GET", path, token, params=params)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["data"] == doc[key]
        assert len(doc["data"]) <= limit
        page = [item["id"] for item in doc["data"]]
        ids += page
        sizes.append(len(page))
        assert doc["has_more"] == (doc["next"] is not None)
        if between:
            between(i)
        i += 1
        if not doc["has_more"]:
            return ids, sizes
        cursor = doc["next"]
        assert isinstance(cursor, str) and cursor


def error_code(r, status=422):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    return r.json()["error"]["code"]


def test_walking_videos_while_inserting_neither_repeats_nor_skips(no_worker):
    b, token = user()
    project = new_project(token)
    insert_videos(project, 23)
    before = ids_in_db(f"SELECT id FROM videos WHERE project_id = {project} ORDER BY id DESC")
    added = []

    def insert(i):
        added.append(new_video(token, project, f"Added after page {i}"))

    ids, sizes = walk(token, f"/api/projects/{project}/videos", "videos", 5, between=insert)
    assert len(ids) == len(set(ids)), "a row was listed twice"
    assert ids == before, "the walk must list exactly the rows there when it started, newest first"
    assert sizes == [5, 5, 5, 5, 3]
    assert not set(added) & set(ids)
    # A fresh walk sees everything, newest first.
    again, _ = walk(token, f"/api/projects/{project}/videos", "videos", 7)
    assert again == sorted(before + added, reverse=True)


def test_default_and_maximum_page_sizes(no_worker):
    b, token = user()
    project = new_project(token)
    insert_videos(project, 205)
    path = f"/api/projects/{project}/videos"
    doc = api("GET", path, token).json()
    assert len(doc["videos"]) == 50 and doc["has_more"] is True
    doc = api("GET", path, token, params={"limit": 200}).json()
    assert len(doc["videos"]) == 200 and doc["has_more"] is True
    rest = api("GET", path, token, params={"limit": 200, "after": doc["next"]}).json()
    assert len(rest["videos"]) == 5 and rest["has_more"] is False and rest["next"] is None
    exact = api("GET", path, token, params={"limit": 5, "after": doc["next"]}).json()
    assert len(exact["videos"]) == 5 and exact["has_more"] is False, "exactly a page left is the last page"
    for bad in ["0", "201", "-1", "1.5", "abc", "", "99999999999999999999", " 5"]:
        assert error_code(api("GET", path, token, params={"limit": bad})) == "invalid_limit", bad


def test_bad_tampered_and_foreign_cursors_are_refused(no_worker):
    b, token = user()
    project = new_project(token)
    other_project = new_project(token, "Other")
    for p in (project, other_project):
        insert_videos(p, 4)
    path = f"/api/projects/{project}/videos"
    cursor = api("GET", path, token, params={"limit": 2}).json()["next"]
    assert api("GET", path, token, params={"after": cursor}).status_code == 200

    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    flipped = base64.urlsafe_b64encode(raw[:-13] + bytes([raw[-13] ^ 1]) + raw[-12:]).decode().rstrip("=")
    forged_payload = raw[:-12].replace(str(project).encode(), str(other_project).encode())
    forged = base64.urlsafe_b64encode(forged_payload + raw[-12:]).decode().rstrip("=")
    bad = ["", "x", "!!!!", cursor[:-3], cursor + "A", flipped, forged, cursor[:5] + "+" + cursor[6:], cursor + "=", "A" * 500]
    for text in bad:
        r = api("GET", path, token, params={"after": text})
        assert error_code(r) == "invalid_cursor", text
        assert "error" in r.json() and r.json()["error"]["message"]

    # A cursor of another project, another list, another user: refused, not a page of this list.
    assert error_code(api("GET", f"/api/projects/{other_project}/videos", token, params={"after": cursor})) == "invalid_cursor"
    projects_cursor = api("GET", "/api/projects", token, params={"limit": 1}).json()["next"]
    assert projects_cursor
    assert error_code(api("GET", path, token, params={"after": projects_cursor})) == "invalid_cursor"
    b2, token2 = user()
    theirs = new_project(token2)
    new_project(token2, "Second")
    their_cursor = api("GET", "/api/projects", token2, params={"limit": 1}).json()["next"]
    assert error_code(api("GET", "/api/projects", token, params={"after": their_cursor})) == "invalid_cursor"
    # Someone else's project stays a 404 whatever the query says.
    assert error_code(api("GET", f"/api/projects/{theirs}/videos", token, params={"after": cursor}), 404) == "not_found"
    assert error_code(api("GET", f"/api/projects/{theirs}/videos", token, params={"limit": 0}), 404) == "not_found"


def test_projects_walk_lists_only_the_users_own(no_worker):
    b, token = user()
    b2, token2 = user()
    mine = [new_project(token, f"Mine {i}") for i in range(7)]
    theirs = [new_project(token2, f"Theirs {i}") for i in range(3)]
    ids, sizes = walk(token, "/api/projects", "projects", 3,
                      between=lambda i: theirs.append(new_project(token2, f"Theirs late {i}")))
    assert ids == sorted(mine, reverse=True)
    assert sizes == [3, 3, 1]
    assert not set(ids) & set(theirs)


def test_generations_walk_newest_first(no_worker):
    b, token = user()
    project = new_project(token)
    video = new_video(token, project, "Lake")
    insert_generations(video, 11)
    expected = ids_in_db(f"SELECT id FROM generations WHERE video_id = {video} ORDER BY id DESC")
    ids, sizes = walk(token, f"/api/videos/{video}/generations", "generations", 4,
                      between=lambda i: insert_generations(video, 1))
    assert ids == expected and sizes == [4, 4, 3]
    # The cursor is bound to this video: another video's list refuses it.
    other = new_video(token, project, "Other")
    cursor = api("GET", f"/api/videos/{video}/generations", token, params={"limit": 4}).json()["next"]
    assert error_code(api("GET", f"/api/videos/{other}/generations", token, params={"after": cursor})) == "invalid_cursor"
    b2, token2 = user()
    assert error_code(api("GET", f"/api/videos/{video}/generations", token2), 404) == "not_found"


def walk_pages(b, path, link_pattern, convert=int):
    """Follows "Older" links from the first page to the last, then "Newer" links back: the ids each way,
    every page checked as strict HTML."""
    def read(url):
        r = b.get(url)
        assert r.status_code == 200, (url, r.status_code)
        assert_valid(r.text, url)
        ids = [convert(x) for x in re.findall(link_pattern, r.text)]
        older = re.search(r'<a rel="next" href="([^"]+)">Older', r.text)
        newer = re.search(r'<a rel="prev" href="([^"]+)">← Newer', r.text)
        return ids, older and html.unescape(older.group(1)), newer and html.unescape(newer.group(1))

    pages, url = [], path
    while url:
        ids, url, newer = read(url)
        assert (newer is None) == (len(pages) == 0), "only the first page has no Newer link"
        pages.append(ids)
        back = newer
    backwards = []
    while back:
        ids, _, back = read(back)
        backwards.append(ids)
    return pages, backwards


def test_pages_walk_with_newer_and_older_links(no_worker):
    b, token = user()
    project = new_project(token)
    insert_videos(project, 120)
    expected = ids_in_db(f"SELECT id FROM videos WHERE project_id = {project} ORDER BY id DESC")
    pages, backwards = walk_pages(b, f"/dashboard/projects/{project}", r'<a href="/dashboard/videos/(\d+)">')
    assert [len(p) for p in pages] == [50, 50, 20]
    assert sum(pages, []) == expected
    assert backwards == pages[-2::-1], "Newer from the last page walks back through the same pages"

    for _ in range(52):
        new_project(token)
    mine = ids_in_db(f"SELECT id FROM projects WHERE user_id = (SELECT user_id FROM projects WHERE id = {project}) ORDER BY id DESC")
    pages, _ = walk_pages(b, "/dashboard", r'<a href="/dashboard/projects/(\d+)">')
    assert sum(pages, []) == mine and [len(p) for p in pages] == [50, 3]

    video = new_video(token, project, "Lake")
    insert_generations(video, 60)
    gens = ids_in_db(f"SELECT id FROM generations WHERE video_id = {video} ORDER BY id DESC")
    pages, _ = walk_pages(b, f"/dashboard/videos/{video}", r'<td><a href="/dashboard/generations/(\d+)">')
    assert sum(pages, []) == gens and [len(p) for p in pages] == [50, 10]

    # A bad position is a readable 422 page, not a crash.
    r = b.get(f"/dashboard/projects/{project}?after=nonsense")
    assert r.status_code == 422 and "<!DOCTYPE html>" in r.text
    assert_valid(r.text, "bad cursor page")


def test_account_tokens_are_paged(no_worker):
    b, token = user()
    for i in range(51):
        r = b.post("/account/tokens", {"name": f"t{i}"})
        assert r.status_code == 201, r.text
    names = sql(f"SELECT name FROM api_tokens WHERE user_id = "
                f"(SELECT user_id FROM api_tokens WHERE name = 't0' ORDER BY id DESC LIMIT 1) ORDER BY id DESC").split()
    pages, backwards = walk_pages(b, "/account", r"<tr><td>(e2e|t\d+)</td>", convert=str)
    assert [len(p) for p in pages] == [50, 2] and backwards == [pages[0]]
    assert sum(pages, []) == names and len(names) == 52
    # A cursor of the dashboard's list is not a position in the tokens list.
    project_cursor = re.search(r'href="/dashboard\?after=([^"]+)"', b.get("/dashboard").text)
    assert project_cursor is None  # one page of projects: no link at all
    for _ in range(51):
        new_project(token)
    project_cursor = re.search(r'href="/dashboard\?after=([^"]+)"', b.get("/dashboard").text).group(1)
    assert b.get(f"/account?after={project_cursor}").status_code == 422
