"""Usage (issue 12, part 3) through nginx and the real binary: /usage, /usage.csv and GET /api/usage against
an independent computation in Python over the rows the test seeds (directly into the test database: past
days, every outcome, roundtables, a deleted video), the chart as valid SVG in a page that passes strict HTML
validation, CSV that parses and defuses formulas, the API's 4xx, other users' work never shown, the
admin-only scope and grouping, and agreement with the budget's spend for this month."""
import csv
import io
import math
import os
import subprocess
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import datetime, timezone
from decimal import Decimal

from conftest import PASSWORD, Browser, api, sql, unique_email, wait_until
from test_pages_valid import assert_valid

MONTH = ("2024-02-01", "2024-02-29")  # a leap February, in the past: only what these tests seed lives there
SVG = "{http://www.w3.org/2000/svg}"


def member():
    b = Browser()
    email = b.signup()
    token = b.create_token()
    uid = int(sql(f"SELECT id FROM users WHERE email = '{email}'"))
    return b, email, token, uid


def admin():
    email = unique_email("usage-admin")
    out = subprocess.run([os.environ["PROMPTREEL_BIN"], "user", "create", "--admin", "--email", email],
                         capture_output=True, text=True, env={**os.environ, "PROMPTREEL_PASSWORD": PASSWORD})
    assert out.returncode == 0, out.stderr
    b = Browser()
    b.get("/login")
    assert b.post("/login", {"email": email, "password": PASSWORD}).url.endswith("/dashboard")
    return b, b.create_token()


def video(token, project, title="Clip"):
    r = api("POST", f"/api/projects/{project}/videos", token, json={"title": title, "final_prompt": "A lighthouse at dusk"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def project(token, name):
    r = api("POST", "/api/projects", token, json={"name": name})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def gen(uid, vid, at, model="sora-2", status="completed", estimated="0.40", actual=None, possibly=False, code=None, seconds=None):
    """One generation row, as the engine leaves it (phase matching status; possibly billed rows unconfirmed)."""
    phase = {"completed": "done", "failed": "unconfirmed" if possibly else "done"}.get(status, "waiting")
    completed = f"timestamptz '{at}' + interval '{seconds} seconds'" if seconds is not None else "NULL"
    sql(f"""INSERT INTO generations (video_id, user_id, settings, prompt, model, seconds, size, resolution, status, phase,
                                     estimated_cost, actual_cost, possibly_billed, error_code, created_at, completed_at, next_attempt_at)
            VALUES ({vid}, {uid}, '{{}}', 'seeded', '{model}', 4, '1280x720', '720p', '{status}', '{phase}', {estimated},
                    {actual if actual is not None else 'NULL'}, {str(possibly).lower()}, {f"'{code}'" if code else 'NULL'},
                    '{at}', {completed}, 'infinity')""")


def roundtable(uid, vid, at, status, reserved="0", costs=(), seconds=None):
    completed = f"timestamptz '{at}' + interval '{seconds} seconds'" if seconds is not None else "NULL"
    rid = sql(f"""INSERT INTO roundtables (video_id, user_id, status, brief, current_prompt, settings, roles, chat_model, proposal,
                                           reserved_cost, created_at, completed_at, next_attempt_at)
                  VALUES ({vid}, {uid}, '{status}', 'b', 'p', '{{}}', '[]', 'gpt-4.1-mini',
                          {"'proposal'" if status == 'completed' else 'NULL'}, {reserved}, '{at}', {completed}, 'infinity')
                  RETURNING id""").splitlines()[0]
    for i, cost in enumerate(costs):
        sql(f"""INSERT INTO roundtable_messages (roundtable_id, round, position, role, content, cost, started_at)
                VALUES ({rid}, 1, {i}, 'Role{i}', 'm', {cost if cost is not None else 'NULL'}, '{at}')""")


def seed(uid, token, tag):
    """A month of mixed work for one user; returns the project ids by name."""
    names = {"formula": f"=HYPERLINK(\"x\") {tag}", "comma": f"Plain, \"quoted\" {tag}"}
    p1, p2 = project(token, names["formula"]), project(token, names["comma"])
    v1, v2, v3, v4 = video(token, p1), video(token, p1), video(token, p2), video(token, p2, "Doomed")
    gen(uid, v1, "2024-01-31 23:59:59+00", actual="0.40", seconds=50)            # the day before: outside
    gen(uid, v1, "2024-02-01 00:00:00+00", actual="0.40", seconds=40)            # the first instant: inside
    gen(uid, v1, "2024-02-01 10:00:00+00", model="sora-2-pro", estimated="1.20", actual="1.10", seconds=100)
    gen(uid, v2, "2024-02-03 12:00:00+00", status="failed", actual="0", code="moderation_blocked")
    gen(uid, v2, "2024-02-03 13:00:00+00", status="failed", estimated="0.80", actual="0.80", possibly=True, code="unconfirmed")
    gen(uid, v3, "2024-02-10 08:00:00+00", model="sora-2-pro", status="failed", estimated="2.00", actual="2.00", possibly=True, code="timeout")
    gen(uid, v3, "2024-02-10 09:00:00+00", status="failed", actual="0", code=None)
    gen(uid, v3, "2024-02-11 09:00:00+00", seconds=61, actual="0.40")
    gen(uid, v3, "2024-02-12 09:00:00+00", seconds=75, actual="0.40")
    gen(uid, v2, "2024-02-29 23:59:59+00", status="queued", estimated="0.80")    # reserved at its estimate
    gen(uid, v4, "2024-02-20 20:00:00+00", model="sora-2-pro", seconds=300, estimated="3.00", actual="3.00")
    gen(uid, v1, "2024-03-01 00:00:00+00", actual="0.40", seconds=10)            # the day after: outside
    roundtable(uid, v1, "2024-02-05 10:00:00+00", "completed", costs=("0.001234", "0.002", None), seconds=20)
    roundtable(uid, v3, "2024-02-05 11:00:00+00", "running", reserved="0.050000", costs=("0.010",))
    roundtable(uid, v4, "2024-02-06 11:00:00+00", "failed", reserved="0.090000", costs=("0.003",))
    assert api("DELETE", f"/api/videos/{v4}", token).status_code == 204  # its rows stay, without a project
    return {names["formula"]: p1, names["comma"]: p2}


def rows(where):
    """The raw rows, read without the usage view: (user, project, model, created, status, spend, possibly billed, finish seconds, failure code)."""
    out = []
    for line in sql(f"""SELECT g.user_id, coalesce(v.project_id::text, ''), g.model, extract(epoch FROM g.created_at), g.status,
                               g.estimated_cost, coalesce(g.actual_cost::text, ''), g.possibly_billed, coalesce(g.error_code, ''),
                               coalesce(extract(epoch FROM g.completed_at)::text, '')
                        FROM generations g LEFT JOIN videos v ON v.id = g.video_id WHERE {where}""").splitlines():
        user, proj, model, created, status, est, actual, possibly, code, completed = line.split("|")
        spend = Decimal(actual) if actual else Decimal(est)
        out.append(dict(user=int(user), project=proj or "deleted", model=model, created=float(created), status=status, spend=spend,
                        possibly=spend if possibly == "t" else Decimal(0), code=(code or "unknown") if status == "failed" else None,
                        finish=float(completed) - float(created) if status == "completed" else None))
    for line in sql(f"""SELECT r.user_id, coalesce(v.project_id::text, ''), r.chat_model, extract(epoch FROM r.created_at), r.status,
                               r.reserved_cost, (SELECT coalesce(sum(cost), 0) FROM roundtable_messages WHERE roundtable_id = r.id),
                               coalesce(extract(epoch FROM r.completed_at)::text, '')
                        FROM roundtables r LEFT JOIN videos v ON v.id = r.video_id WHERE {where.replace('g.', 'r.')}""").splitlines():
        user, proj, model, created, status, reserved, spent, completed = line.split("|")
        spend = max(Decimal(reserved), Decimal(spent)) if status in ("queued", "running") else Decimal(spent)
        out.append(dict(user=int(user), project=proj or "deleted", model="roundtable:" + model, created=float(created), status=status,
                        spend=spend, possibly=Decimal(0), code="roundtable_failed" if status == "failed" else None,
                        finish=float(completed) - float(created) if status == "completed" else None))
    return out


def percentile(values, p):
    """PostgreSQL's percentile_cont: linear between the two nearest ranks."""
    v = sorted(values)
    if not v:
        return None
    pos = p * (len(v) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def expected(items, first, last, key):
    """Groups (and the total) computed here, independently of the app's SQL."""
    day = lambda i: datetime.fromtimestamp(i["created"], timezone.utc).strftime("%Y-%m-%d")
    inside = [i for i in items if first <= day(i) <= last]
    keyf = {"day": day, "model": lambda i: i["model"], "project": lambda i: i["project"], "user": lambda i: str(i["user"])}[key]
    groups = defaultdict(list)
    for i in inside:
        groups[keyf(i)].append(i)

    def figures(members):
        finishes = [i["finish"] for i in members if i["finish"] is not None]
        return {"count": len(members), "completed": sum(i["status"] == "completed" for i in members),
                "failed": sum(i["status"] == "failed" for i in members), "spend": sum((i["spend"] for i in members), Decimal(0)),
                "possiblyBilled": sum((i["possibly"] for i in members), Decimal(0)),
                "p50Seconds": percentile(finishes, 0.5), "p95Seconds": percentile(finishes, 0.95)}
    return {k: figures(m) for k, m in groups.items()}, figures(inside)


def same(got, want, where):
    for field in ("count", "completed", "failed"):
        assert got[field] == want[field], (where, field, got, want)
    for field in ("spend", "possiblyBilled"):
        assert Decimal(str(got[field])) == want[field], (where, field, got, want)
    for field in ("p50Seconds", "p95Seconds"):
        if want[field] is None:
            assert got[field] is None, (where, field, got)
        else:
            assert abs(got[field] - want[field]) <= 0.051, (where, field, got, want)


def usage(token, **params):
    return api("GET", "/api/usage", token, params=params)


def test_usage_api_matches_an_independent_computation_and_shows_only_your_work():
    _, _, token, uid = member()
    _, _, other_token, other = member()
    seed(uid, token, "mine")
    other_projects = seed(other, other_token, "SECRET-OTHER")
    items = rows(f"g.user_id = {uid}")
    for key in ("day", "model", "project"):
        r = usage(token, **{"from": MONTH[0], "to": MONTH[1], "group_by": key})
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["from"], body["to"], body["groupBy"], body["scope"]) == (*MONTH, key, "mine")
        want, total = expected(items, *MONTH, key)
        assert sorted(g["key"] for g in body["groups"]) == sorted(want), key
        for group in body["groups"]:
            assert set(group) == {"key", "label", "count", "completed", "failed", "spend", "possiblyBilled", "p50Seconds", "p95Seconds"}
            same(group, want[group["key"]], f"{key}={group['key']}")
        same(body["total"], total, f"{key} total")
        assert not any(str(p) in [g["key"] for g in body["groups"]] for p in other_projects.values())
    # The totals the seeding implies, written out: boundaries, reservations, roundtables, possibly billed.
    total = usage(token, **{"from": MONTH[0], "to": MONTH[1]}).json()["total"]
    assert total["count"] == 13 and total["completed"] == 6 and total["failed"] == 5
    generations = ["0.40", "1.10", "0", "0.80", "2.00", "0", "0.40", "0.40", "0.80", "3.00"]  # the queued one at its estimate
    chats = ["0.003234", "0.050", "0.003"]  # completed: its messages; running: its reservation; failed: its messages
    assert Decimal(str(total["spend"])) == sum(map(Decimal, generations + chats))
    assert Decimal(str(total["possiblyBilled"])) == Decimal("2.80")
    # The budget counts the same month the same way (Migrations/0014: both read usage_items).
    assert Decimal(sql(f"SELECT budget_spend({uid}, '2024-02-01 00:00+00', '2024-03-01 00:00+00')")) == Decimal(str(total["spend"]))
    # The instance-wide sum (Migrations/0016: generations from a covering index) equals the view's, every user.
    feb = "'2024-02-01 00:00+00', '2024-03-01 00:00+00'"
    assert Decimal(sql(f"SELECT budget_spend(NULL, {feb})")) == Decimal(sql(
        "SELECT coalesce(sum(spend), 0) FROM usage_items WHERE created_at >= '2024-02-01 00:00+00' AND created_at < '2024-03-01 00:00+00'"))
    models = {g["key"]: g for g in usage(token, **{"from": MONTH[0], "to": MONTH[1], "group_by": "model"}).json()["groups"]}
    assert set(models) == {"sora-2", "sora-2-pro", "roundtable:gpt-4.1-mini"}
    projects = {g["key"]: g for g in usage(token, **{"from": MONTH[0], "to": MONTH[1], "group_by": "project"}).json()["groups"]}
    assert projects["deleted"]["label"] == "Deleted videos" and projects["deleted"]["count"] == 2
    # One day, the leap day: only the queued click at 23:59:59.
    leap = usage(token, **{"from": "2024-02-29", "to": "2024-02-29"}).json()
    assert [(g["key"], g["count"], g["spend"]) for g in leap["groups"]] == [("2024-02-29", 1, 0.8)]
    # The other user sees their own numbers, never these.
    theirs = usage(other_token, **{"from": MONTH[0], "to": MONTH[1]}).json()["total"]
    same(theirs, expected(rows(f"g.user_id = {other}"), *MONTH, "day")[1], "the other user's total")


def test_usage_page_is_valid_html_with_a_valid_svg_chart_and_no_one_elses_work():
    b, _, token, uid = member()
    _, _, other_token, other = member()
    seed(uid, token, "<b>mine</b>")
    seed(other, other_token, "SECRET-OTHER")
    page = b.get(f"/usage?from={MONTH[0]}&to={MONTH[1]}")
    assert page.status_code == 200
    html = page.text
    assert_valid(html, "usage page")
    assert "style=" not in html and "<script" not in html
    assert "SECRET-OTHER" not in html and "&lt;b&gt;mine&lt;/b&gt;" in html and "<b>mine</b>" not in html
    assert 'href="/usage"' in html  # linked from the layout's navigation
    svg_text = html[html.index("<svg"):html.index("</svg>") + len("</svg>")]
    svg = ET.fromstring(svg_text)  # well-formed XML, in the SVG namespace
    assert svg.tag == SVG + "svg" and svg.get("role") == "img"
    days = svg.findall(SVG + "g")
    assert len(days) == 29
    titles = [d.find(SVG + "title").text for d in days]
    assert titles[0].startswith("2024-02-01: $1.50") and titles[-1].startswith("2024-02-29: $0.80")
    assert "$0.80 possibly billed" in titles[2]
    heights = {d.find(SVG + "title").text[:10]: float(d.find(SVG + "rect[@class='bar']").get("height")) for d in days}
    assert heights["2024-02-20"] > heights["2024-02-01"] > heights["2024-02-11"] > 0 and heights["2024-02-02"] == 0
    # The table beneath: a row per day with the same numbers as the API.
    table = html[html.index('<table class="usage-days">'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr>") == 30
    assert "<tr><td>2024-02-10</td><td>2</td><td>$2.00</td><td>$2.00</td></tr>" in table
    assert "<tr><td>2024-02-06</td><td>1</td><td>$0.0030</td><td>$0.00</td></tr>" in table  # a chat cost under a cent is not $0.00
    for section in ("By model", "By project", "Failures by code", "moderation_blocked", "roundtable:gpt-4.1-mini", "Possibly billed"):
        assert section in html, section
    assert "By user" not in html
    # The seeded chat call without usage is said, not passed off as $0.
    assert '<p id="unknown-cost">Cost unknown: <strong>1 chat call</strong>' in html
    # A member asking for every user's work, or for an unknown scope.
    assert b.get(f"/usage?from={MONTH[0]}&scope=all").status_code == 404
    bad = b.get("/usage?from=2024-02-30")
    assert bad.status_code == 422 and "from: must be a date" in bad.text
    assert_valid(bad.text, "usage page with a bad date")
    default = b.get("/usage")
    assert default.status_code == 200
    assert_valid(default.text, "usage page, this month")


def test_usage_csv_parses_escapes_and_defuses_formulas():
    b, _, token, uid = member()
    _, _, other_token, other = member()
    names = seed(uid, token, "mine")
    seed(other, other_token, "SECRET-OTHER")
    r = b.get(f"/usage.csv?from={MONTH[0]}&to={MONTH[1]}")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in r.headers["Content-Disposition"]
    assert "SECRET-OTHER" not in r.text and r.text.endswith("\r\n")
    table = list(csv.reader(io.StringIO(r.text, newline="")))
    assert table[0] == ["grouping", "key", "label", "count", "completed", "failed", "spend", "possibly_billed", "p50_seconds", "p95_seconds"]
    assert all(len(row) == 10 for row in table)
    by = defaultdict(dict)
    for row in table[1:]:
        by[row[0]][row[1]] = row
    api_total = usage(token, **{"from": MONTH[0], "to": MONTH[1]}).json()["total"]
    assert Decimal(by["total"][""][6]) == Decimal(str(api_total["spend"])) and int(by["total"][""][3]) == api_total["count"]
    formula = [n for n in names if n.startswith("=")][0]
    comma = [n for n in names if "," in n][0]
    assert by["project"][str(names[formula])][2] == "'" + formula  # never a live formula
    assert by["project"][str(names[comma])][2] == comma            # commas and quotes survive the round trip
    assert set(by["day"]) == {"2024-02-01", "2024-02-03", "2024-02-05", "2024-02-06", "2024-02-10", "2024-02-11",
                              "2024-02-12", "2024-02-20", "2024-02-29"}
    assert by["failure"]["timeout"][3] == "1" and Decimal(by["failure"]["timeout"][7]) == Decimal("2.00")
    assert "user" not in by
    assert b.get("/usage.csv?from=2024-03-01&to=2024-02-01").status_code == 422


def test_usage_api_refuses_bad_ranges_and_admin_only_views_to_members():
    _, _, token, _ = member()
    for params, field in [({"from": "2024-13-01"}, "from"), ({"from": "2024-02-30"}, "from"), ({"to": "yesterday"}, "to"),
                          ({"from": "2024-2-1"}, "from"), ({"from": "２０２４-02-01"}, "from"),
                          ({"from": "2024-03-01", "to": "2024-02-29"}, "to"), ({"from": "2024-01-01", "to": "2025-01-01"}, "to"),
                          ({"group_by": "week"}, "group_by"), ({"scope": "everyone"}, "scope")]:
        r = usage(token, **params)
        assert r.status_code == 422, (params, r.text)
        error = r.json()["error"]
        assert error["code"] == "validation_failed" and error["message"].startswith(field + ":"), (params, error)
    assert usage(token, **{"from": "2024-01-01", "to": "2024-12-31"}).status_code == 200  # 366 days: a leap year fits
    for params in ({"group_by": "user"}, {"scope": "all"}):
        r = usage(token, **params)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", params
    assert api("GET", "/api/usage").status_code == 401
    assert api("POST", "/api/usage", token, json={}).status_code == 405
    this_month = usage(token).json()
    assert this_month["from"].endswith("-01") and this_month["groups"] == [] and this_month["total"]["spend"] == 0


def test_admin_sees_every_user_and_groups_by_user():
    _, _, token, uid = member()
    seed(uid, token, "for-admin")
    ab, admin_token = admin()
    items = rows("true")
    r = usage(admin_token, **{"from": MONTH[0], "to": MONTH[1], "group_by": "user"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == "all"
    want, total = expected(items, *MONTH, "user")
    assert {g["key"] for g in body["groups"]} == set(want)
    for group in body["groups"]:
        same(group, want[group["key"]], f"user {group['key']}")
    same(body["total"], total, "instance total")
    mine = usage(admin_token, **{"from": MONTH[0], "to": MONTH[1]}).json()
    assert mine["scope"] == "mine" and mine["total"]["count"] == 0
    page = ab.get(f"/usage?from={MONTH[0]}&to={MONTH[1]}&scope=all")
    assert page.status_code == 200 and "By user" in page.text and 'value="all" selected' in page.text
    assert_valid(page.text, "usage page, every user")
    assert "user" in {row[0] for row in csv.reader(io.StringIO(ab.get(f"/usage.csv?from={MONTH[0]}&to={MONTH[1]}&scope=all").text))}


def test_usage_this_month_agrees_with_the_budget(worker):
    b, email, token, uid = member()
    p = project(token, "Now")
    v = video(token, p)
    r = api("POST", f"/api/videos/{v}/generate-sora", token, json={"settings": {"model": "sora-2", "duration": 4}})
    assert r.status_code == 200, r.text
    gid = r.json()["generationId"]
    wait_until(lambda: api("GET", f"/api/generations/{gid}", token).json()["status"] == "completed", what="the generation")
    body = usage(token).json()  # no range: this month (UTC)
    budget = Decimal(sql(f"SELECT budget_spend({uid}, m.month_start, m.month_end) FROM budget_month(now()) m"))
    assert body["total"]["count"] == 1 and body["total"]["completed"] == 1
    assert Decimal(str(body["total"]["spend"])) == budget == Decimal(sql(f"SELECT actual_cost FROM generations WHERE id = {gid}"))
    assert body["total"]["p50Seconds"] is not None
