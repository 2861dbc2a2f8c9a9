"""Shared projects (issue 26, part 2): members with roles (viewer, editor, owner), invitations by email with no
existence oracle, every record of a project following the roles (404 for non-members, 403 for a role too low),
spend counted against the clicker, lists of one's own and shared projects, edits guarded by If-Match, per-member
usage for owners, and deleting an account handing its shared projects to the other owners."""
import html
import re
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from conftest import Browser, api, sql, unique_email, wait_until
from test_budgets import set_budget, spend


def person():
    b = Browser()
    email = b.signup()
    return b, email, b.create_token()


def invite(token, project, email, role):
    r = api("POST", f"/api/projects/{project}/members", token, json={"email": email, "role": role})
    assert r.status_code == 202, r.text
    return r.json()["invitationId"]


def join(owner_token, project, role):
    """A new account, invited with `role`, that accepted."""
    b, email, token = person()
    invitation = invite(owner_token, project, email, role)
    r = api("POST", f"/api/invitations/{invitation}/accept", token)
    assert r.status_code == 200 and r.json() == {"projectId": project, "status": "accepted"}, r.text
    return b, email, token


def user_id(email):
    return int(sql(f"SELECT id FROM users WHERE lower(email) = lower('{email}')"))


def error(r, status, code):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.json()["error"]["code"] == code, r.text


def shared_project():
    """An owner's project with one video, an editor and a viewer."""
    ob, owner, otoken = person()
    project = api("POST", "/api/projects", otoken, json={"name": "Shared film"}).json()["id"]
    video = api("POST", f"/api/projects/{project}/videos", otoken,
                json={"title": "Opening", "brief": "dawn", "final_prompt": "A calm lake at dawn"}).json()["id"]
    eb, editor, etoken = join(otoken, project, "editor")
    vb, viewer, vtoken = join(otoken, project, "viewer")
    return dict(ob=ob, owner=owner, otoken=otoken, project=project, video=video, eb=eb, editor=editor,
                etoken=etoken, vb=vb, viewer=viewer, vtoken=vtoken)


def test_an_invitation_answers_the_same_whether_or_not_the_address_has_an_account_and_waits_for_sign_up():
    _, _, otoken = person()
    project = api("POST", "/api/projects", otoken, json={"name": "Invites"}).json()["id"]
    _, existing, etoken = person()
    later = unique_email("later")
    a = api("POST", f"/api/projects/{project}/members", otoken, json={"email": existing, "role": "viewer"})
    b = api("POST", f"/api/projects/{project}/members", otoken, json={"email": later, "role": "viewer"})
    assert (a.status_code, b.status_code) == (202, 202)
    assert set(a.json()) == set(b.json()) == {"invitationId"}
    # Inviting again renews the one pending invitation (its role changes), it does not add another.
    again = invite(otoken, project, existing.upper(), "editor")
    assert again == a.json()["invitationId"]
    listed = api("GET", "/api/invitations", etoken).json()["invitations"]
    assert [(i["projectId"], i["role"]) for i in listed] == [(project, "editor")]
    # The owner sees both pending; the address that signs up later finds its invitation on the dashboard.
    pending = api("GET", f"/api/projects/{project}/members", otoken).json()["invitations"]
    assert {i["email"].lower() for i in pending} == {existing.lower(), later.lower()}
    nb = Browser()
    nb.signup(later)
    page = nb.get("/dashboard").text
    assert "Invitations" in page and "Invites" in page and f"/dashboard/invitations/{b.json()['invitationId']}/accept" in page
    r = nb.post(f"/dashboard/invitations/{b.json()['invitationId']}/accept", {})
    assert r.status_code == 200 and r.url.endswith(f"/dashboard/projects/{project}") and "Your role: viewer" in r.text
    # Someone else cannot answer it; an answered or expired one is gone.
    error(api("POST", f"/api/invitations/{again}/accept", otoken), 404, "not_found")
    error(api("POST", f"/api/invitations/{b.json()['invitationId']}/decline", etoken), 404, "not_found")
    sql(f"UPDATE project_invitations SET expires_at = now() - interval '1 second' WHERE id = {again}")
    assert api("GET", "/api/invitations", etoken).json()["invitations"] == []
    error(api("POST", f"/api/invitations/{again}/accept", etoken), 404, "not_found")
    # Bad input is a clear 422; a viewer or a stranger cannot invite.
    error(api("POST", f"/api/projects/{project}/members", otoken, json={"email": "x", "role": "viewer"}), 422,
          "validation_failed")
    error(api("POST", f"/api/projects/{project}/members", otoken, json={"email": later, "role": "boss"}), 422,
          "validation_failed")


def test_roles_decide_what_each_member_may_do_and_strangers_see_nothing():
    p = shared_project()
    project, video = p["project"], p["video"]
    _, _, stranger = person()
    # Everyone in the project reads it, with their own role in the JSON.
    for token, role in ((p["otoken"], "owner"), (p["etoken"], "editor"), (p["vtoken"], "viewer")):
        got = api("GET", f"/api/projects/{project}", token).json()
        assert got["role"] == role and got["video_count"] == 1
        assert api("GET", f"/api/videos/{video}", token).json()["role"] == role
        assert [v["id"] for v in api("GET", f"/api/projects/{project}/videos", token).json()["videos"]] == [video]
        assert video in [v["id"] for v in api("GET", "/api/videos", token).json()["videos"]]
        assert api("GET", f"/api/projects/{project}/members", token).status_code == 200
    # A stranger: 404 on every record, read or write, even for a method the route lacks.
    for method, path in (("GET", f"/api/projects/{project}"), ("GET", f"/api/videos/{video}"),
                         ("PATCH", f"/api/videos/{video}"), ("DELETE", f"/api/projects/{project}"),
                         ("GET", f"/api/projects/{project}/members"), ("PUT", f"/api/videos/{video}"),
                         ("POST", f"/api/videos/{video}/generate-sora")):
        error(api(method, path, stranger, json={}), 404, "not_found")
    assert video not in [v["id"] for v in api("GET", "/api/videos", stranger).json()["videos"]]
    # The viewer reads but changes nothing: 403 role_forbidden, and a method the route lacks is then a 405.
    error(api("PATCH", f"/api/videos/{video}", p["vtoken"], json={"title": "Mine now"}), 403, "role_forbidden")
    error(api("POST", f"/api/videos/{video}/generate-sora", p["vtoken"], json={}), 403, "role_forbidden")
    error(api("POST", f"/api/projects/{project}/videos", p["vtoken"], json={"title": "x"}), 403, "role_forbidden")
    error(api("POST", f"/api/videos/{video}/roundtable", p["vtoken"], json={}), 403, "role_forbidden")
    error(api("PUT", f"/api/videos/{video}/chosen-take", p["vtoken"], json={"generationId": 1}), 403, "role_forbidden")
    error(api("POST", f"/api/projects/{project}/films", p["vtoken"], json={}), 403, "role_forbidden")
    assert api("PUT", f"/api/videos/{video}", p["vtoken"], json={}).status_code == 405
    # The editor edits but does not manage the project.
    r = api("PATCH", f"/api/videos/{video}", p["etoken"], json={"brief": "dawn, mist"})
    assert r.status_code == 200 and r.json()["brief"] == "dawn, mist"
    created = api("POST", f"/api/projects/{project}/videos", p["etoken"], json={"title": "Second"})
    assert created.status_code == 201 and created.json()["role"] == "editor"
    error(api("PATCH", f"/api/projects/{project}", p["etoken"], json={"name": "Renamed"}), 403, "role_forbidden")
    error(api("DELETE", f"/api/projects/{project}", p["etoken"]), 403, "role_forbidden")
    error(api("POST", f"/api/projects/{project}/members", p["etoken"], json={"email": unique_email(), "role": "owner"}),
          403, "role_forbidden")
    # A read-only token of the owner is refused before the role is looked at.
    p["ob"].get("/account")
    r = p["ob"].post("/account/tokens", {"name": "read", "scope": "read"})
    read = re.search(r"pr_[A-Za-z0-9_-]{43}", r.text).group(0)
    error(api("PATCH", f"/api/projects/{project}", read, json={"name": "x"}), 403, "read_only_token")
    assert api("PATCH", f"/api/projects/{project}", p["otoken"], json={"name": "Renamed"}).json()["role"] == "owner"


def test_lists_split_owned_and_shared_projects_and_the_dashboard_shows_both():
    p = shared_project()
    own = api("POST", "/api/projects", p["etoken"], json={"name": "Editor own"}).json()["id"]
    def ids(scope):
        return [x["id"] for x in api("GET", f"/api/projects?scope={scope}", p["etoken"]).json()["projects"]]
    assert ids("mine") == [own] and ids("shared") == [p["project"]]
    assert ids("all") == [own, p["project"]] or set(ids("all")) == {own, p["project"]}
    error(api("GET", "/api/projects?scope=everyone", p["etoken"]), 422, "validation_failed")
    page = p["eb"].get("/dashboard").text
    assert page.index("Your projects") < page.index("Editor own") < page.index("Shared with you") < page.index("Shared film")
    # The search across projects covers the shared ones (and only those the user is in).
    found = api("GET", "/api/videos?q=lake", p["etoken"]).json()["videos"]
    assert [v["id"] for v in found] == [p["video"]]


def test_spend_is_the_clickers_and_history_says_who_started_it(worker):
    p = shared_project()
    set_budget("--email", p["editor"], "--monthly", "0.40")
    r = api("POST", f"/api/videos/{p['video']}/generate-sora", p["etoken"], json={})
    assert r.status_code == 200, r.text
    gid = r.json()["generationId"]
    wait_until(lambda: api("GET", f"/api/generations/{gid}", p["otoken"]).json()["status"] == "completed",
               what="the editor's generation")
    assert spend(p["editor"]) == Decimal("0.40") and spend(p["owner"]) == Decimal("0")
    # Against the editor's budget: a second click is refused for them, not for the owner.
    error(api("POST", f"/api/videos/{p['video']}/generate-sora", p["etoken"], json={}), 402, "budget_exceeded")
    # Every member sees the take and who started it; the viewer can play and download it.
    page = p["ob"].get(f"/dashboard/videos/{p['video']}").text
    assert "Started by" in page and p["editor"] in page
    g = api("GET", f"/api/generations/{gid}", p["vtoken"]).json()
    assert api("GET", g["videoUrl"], p["vtoken"]).status_code == 200
    viewer_page = p["vb"].get(f"/dashboard/videos/{p['video']}").text
    assert "You are a viewer" in viewer_page and "/edit" not in viewer_page and "Remix" not in viewer_page
    assert "Generate with Sora" not in viewer_page and "Generate again" not in viewer_page
    # The owner's usage for the project has a row per member; an editor may not ask for it, a stranger sees none.
    usage = api("GET", f"/api/usage?project={p['project']}&group_by=user", p["otoken"])
    assert usage.status_code == 200 and usage.json()["scope"] == "project", usage.text
    rows = {g["label"]: Decimal(str(g["spend"])) for g in usage.json()["groups"]}
    assert rows == {p["editor"]: Decimal("0.40")}
    error(api("GET", f"/api/usage?project={p['project']}&group_by=user", p["etoken"]), 403, "role_forbidden")
    _, _, stranger = person()
    error(api("GET", f"/api/usage?project={p['project']}", stranger), 404, "not_found")
    error(api("GET", "/api/usage?group_by=user", p["etoken"]), 404, "not_found")
    assert p["editor"] in p["ob"].get(f"/usage?project={p['project']}").text


def test_if_match_refuses_an_edit_made_from_an_older_version():
    p = shared_project()
    path = f"/api/videos/{p['video']}"
    r = api("GET", path, p["etoken"])
    etag = r.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{16}"', etag), etag
    # The owner changes it first; the editor's edit from the older version is refused, and nothing changes.
    assert api("PATCH", path, p["otoken"], json={"final_prompt": "Owner's prompt"}).status_code == 200
    r = api("PATCH", path, p["etoken"], json={"final_prompt": "Editor's prompt"}, headers={"If-Match": etag})
    error(r, 412, "precondition_failed")
    current = r.headers["ETag"]
    assert current != etag and api("GET", path, p["etoken"]).json()["final_prompt"] == "Owner's prompt"
    r = api("PATCH", path, p["etoken"], json={"final_prompt": "Editor's prompt"}, headers={"If-Match": current})
    assert r.status_code == 200 and r.json()["final_prompt"] == "Editor's prompt"
    # A move alone does not change the version; `*` and no header always pass.
    assert api("PATCH", path, p["etoken"], json={"title": "T"}, headers={"If-Match": "*"}).status_code == 200
    # The edit page: the second save of two open forms shows both versions and saves nothing.
    first, second = p["ob"], p["eb"]
    first.get(f"/dashboard/videos/{p['video']}/edit")
    form_first = first.csrf
    second.get(f"/dashboard/videos/{p['video']}/edit")
    tag = html.unescape(
        re.search(r'name="etag" value="([^"]+)"', second.get(f"/dashboard/videos/{p['video']}/edit").text).group(1))
    first.csrf = form_first
    r = first.post(f"/dashboard/videos/{p['video']}/edit",
                   {"title": "T", "brief": "", "final_prompt": "First saves", "etag": tag})
    assert r.status_code == 200 and r.url.endswith(f"/dashboard/videos/{p['video']}")
    r = second.post(f"/dashboard/videos/{p['video']}/edit",
                    {"title": "T", "brief": "", "final_prompt": "Second saves", "etag": tag})
    assert r.status_code == 412 and "Someone else changed this video" in r.text, r.text
    assert "First saves" in r.text and "Second saves" in r.text
    assert api("GET", path, p["otoken"]).json()["final_prompt"] == "First saves"


def test_at_least_one_owner_remains_even_when_two_owners_demote_each_other_at_once():
    p = shared_project()
    project, a, b = p["project"], p["otoken"], p["etoken"]
    # The editor becomes an owner (through the members page: CSRF, role select).
    p["ob"].get(f"/dashboard/projects/{project}/members")
    r = p["ob"].post(f"/dashboard/projects/{project}/members/{user_id(p['editor'])}", {"role": "owner"})
    assert r.status_code == 200 and "Role changed to owner" in r.text
    for _ in range(5):
        with ThreadPoolExecutor(2) as pool:
            ra, rb = pool.map(lambda pair: api("PATCH", f"/api/projects/{project}/members/{pair[1]}", pair[0],
                                               json={"role": "viewer"}),
                              [(a, user_id(p["editor"])), (b, user_id(p["owner"]))])
        statuses = sorted([ra.status_code, rb.status_code])
        owners = int(sql(f"SELECT count(*) FROM project_members WHERE project_id = {project} AND role = 'owner'"))
        assert owners == 1 and statuses in ([200, 403], [200, 409], [200, 404]), (statuses, ra.text, rb.text)
        # Back to two owners for the next round.
        winner = a if ra.status_code == 200 else b
        loser = p["owner"] if winner == b else p["editor"]
        assert api("PATCH", f"/api/projects/{project}/members/{user_id(loser)}", winner,
                   json={"role": "owner"}).status_code == 200
    # The last owner cannot leave or be demoted.
    api("DELETE", f"/api/projects/{project}/members/{user_id(p['editor'])}", a)
    error(api("DELETE", f"/api/projects/{project}/members/{user_id(p['owner'])}", a), 409, "last_owner")
    error(api("PATCH", f"/api/projects/{project}/members/{user_id(p['owner'])}", a, json={"role": "viewer"}), 409,
          "last_owner")
    # A viewer may leave; then the project is invisible to them.
    assert api("DELETE", f"/api/projects/{project}/members/{user_id(p['viewer'])}", p["vtoken"]).status_code == 204
    error(api("GET", f"/api/projects/{project}", p["vtoken"]), 404, "not_found")


def test_the_holder_follows_the_owners_and_account_deletion_hands_projects_over():
    p = shared_project()
    project = p["project"]
    api("PATCH", f"/api/projects/{project}/members/{user_id(p['editor'])}", p["otoken"], json={"role": "owner"})
    alone = api("POST", "/api/projects", p["otoken"], json={"name": "Only mine"}).json()["id"]
    # The creator deletes their account: the shared project stays with the other owner, the other one goes.
    ob = p["ob"]
    ob.get("/account/delete")
    r = ob.post("/account/delete", {"password": "correct horse battery"})
    assert r.status_code == 200, r.text
    assert sql(f"SELECT count(*) FROM projects WHERE id = {alone}") == "0"
    assert int(sql(f"SELECT user_id FROM projects WHERE id = {project}")) == user_id(p["editor"])
    got = api("GET", f"/api/projects/{project}", p["etoken"]).json()
    assert got["role"] == "owner" and got["video_count"] == 1
    assert p["video"] in [v["id"] for v in api("GET", "/api/videos?sort=title", p["etoken"]).json()["videos"]]
    members = api("GET", f"/api/projects/{project}/members", p["etoken"]).json()["members"]
    assert sorted(m["role"] for m in members) == ["owner", "viewer"]
    assert api("GET", f"/api/projects?scope=mine", p["etoken"]).json()["projects"][0]["id"] == project


def test_pages_follow_the_roles():
    p = shared_project()
    project, video = p["project"], p["video"]
    members = p["ob"].get(f"/dashboard/projects/{project}/members").text
    assert "Invite someone" in members and p["viewer"] in members and 'name="_csrf"' in members
    r = p["ob"].post(f"/dashboard/projects/{project}/members", {"email": unique_email(), "role": "editor"})
    assert r.status_code == 200 and "Invitation mailed" in r.text
    r = p["ob"].post(f"/dashboard/projects/{project}/members", {"email": unique_email(), "role": "editor"}, csrf=False)
    assert r.status_code == 403
    viewer = p["vb"].get(f"/dashboard/projects/{project}/members").text
    assert "Invite someone" not in viewer and "Leave the project" in viewer and "Change role" not in viewer
    project_page = p["vb"].get(f"/dashboard/projects/{project}").text
    assert "New video" not in project_page and "Delete project" not in project_page and "Members" in project_page
    for path in (f"/dashboard/videos/{video}/edit", f"/dashboard/projects/{project}/edit",
                 f"/dashboard/projects/{project}/videos/new", f"/dashboard/videos/{video}/generate"):
        r = p["vb"].get(path)
        assert r.status_code == 403 and "<!doctype html>" in r.text.lower(), (path, r.status_code)
    assert p["eb"].get(f"/dashboard/videos/{video}/edit").status_code == 200
    assert p["eb"].get(f"/dashboard/projects/{project}/edit").status_code == 403
    stranger = Browser()
    stranger.signup()
    assert stranger.get(f"/dashboard/projects/{project}/members").status_code == 404
    assert stranger.get(f"/dashboard/videos/{video}").status_code == 404
