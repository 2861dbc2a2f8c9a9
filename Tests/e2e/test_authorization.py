"""Authorization proved from the route table (issue 26, part 2's table): every route the app prints (read from the
route enums' sources, so a new route without a row here fails), with every method it answers and one it does not,
asked by eight callers — a project's owner, editor and viewer, a signed-in stranger, another account's token, the
owner's read-only token, nobody, and a disabled member — through nginx. Each answer is classified and compared with
what this table says, applying the checks in the issue's order: 401 (no, bad or disabled credentials on /api; a 303
to /login for pages), 403 read_only_token (a read-only token, any change), 404 (a record the caller cannot see),
403 role_forbidden (their role may not do it), 405 (the method), then through (anything else: the handler ran)."""
import glob
import os
import re

import requests

from conftest import BASE, PASSWORD, ROOT_DIR, Browser, api, sql, unique_email, wait_until
from test_films import SETTINGS, make_film, wait_film
from test_reference_image import encoded, put_image

CALLERS = ["owner", "editor", "viewer", "stranger", "other", "read", "anonymous", "disabled"]
RANK = {"viewer": 0, "editor": 1, "owner": 2}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


class Caller:
    """One identity: its browser session (pages) and its API token (the API); either may be absent."""

    def __init__(self, name, browser=None, token=None, email=None):
        self.name, self.browser, self.token, self.email = name, browser, token, email


def person(name):
    b = Browser()
    email = b.signup(unique_email(f"authz-{name}"))
    return Caller(name, b, b.create_token(), email)


class World:
    """The records every row names, made once; `fresh_*` make one to be destroyed by an allowed caller."""

    def __init__(self):
        self.c = {n: person(n) for n in ("owner", "editor", "viewer", "stranger", "other", "disabled")}
        owner = self.c["owner"]
        t = owner.token
        self.webhook = api("POST", "/api/webhooks", t, json={"url": "http://127.0.0.1:9/authz"}).json()["id"]
        self.project = api("POST", "/api/projects", t, json={"name": "Authz"}).json()["id"]
        self.video = self.fresh_video()
        self.image_video = self.fresh_image_video()
        for name, role in (("editor", "editor"), ("viewer", "viewer"), ("disabled", "editor")):
            invitation = api("POST", f"/api/projects/{self.project}/members", t,
                             json={"email": self.c[name].email, "role": role}).json()["invitationId"]
            assert api("POST", f"/api/invitations/{invitation}/accept", self.c[name].token).status_code == 200
        r = api("POST", f"/api/projects/{self.project}/generate", t, json={"settings": SETTINGS})
        assert r.status_code == 200, r.text
        self.batch = r.json()["batchId"]
        wait_until(lambda: api("GET", f"/api/batches/{self.batch}", t).json()["status"] == "finished", timeout=60,
                   what="the world's generation")
        self.generation = api("GET", f"/api/videos/{self.video}/generations", t).json()["generations"][0]["id"]
        r = api("POST", f"/api/videos/{self.video}/roundtable", t, json={})
        assert r.status_code == 202, r.text
        self.roundtable = r.json()["roundtableId"]
        wait_until(lambda: api("GET", f"/api/roundtables/{self.roundtable}", t).json()["status"] == "completed",
                   timeout=40, what="the world's roundtable")
        self.film = make_film(t, self.project)
        assert wait_film(t, self.film)["status"] == "completed"
        # Films made to be deleted come from a project of their own whose one shot has a take (new shots of the
        # first project, made to be deleted, have none).
        self.film_project = self.fresh_project()
        api("POST", f"/api/projects/{self.film_project}/videos", t,
            json={"title": "Reel", "final_prompt": "A reel [sim:seconds=0.5]"})
        r = api("POST", f"/api/projects/{self.film_project}/generate", t, json={"settings": SETTINGS})
        assert r.status_code == 200, r.text
        reel = r.json()["batchId"]
        wait_until(lambda: api("GET", f"/api/batches/{reel}", t).json()["status"] == "finished", timeout=60,
                   what="the reel's take")
        link = api("POST", f"/api/films/{self.film}/links", t, json={}).json()
        self.link_token = link["url"].rsplit("/", 1)[1]
        self.link = link["id"]
        self.invitation = self.fresh_invitation()
        self.delivery = int(wait_until(lambda: sql(f"SELECT max(id) FROM webhook_deliveries WHERE endpoint_id = {self.webhook}"),
                                       what="a webhook delivery"))
        self.reset_token = self.fresh_reset_token()
        read = owner.browser
        read.get("/account")
        r = read.post("/account/tokens", {"name": "read", "scope": "read"})
        self.c["read"] = Caller("read", None, re.search(r"pr_[A-Za-z0-9_-]{43}", r.text).group(0))
        self.c["anonymous"] = Caller("anonymous", Browser(), None)
        # The disabled member: signed in and holding a token, then disabled by an admin.
        sql(f"UPDATE users SET disabled_at = now() WHERE id = {self.user_id('disabled')}")
        self.probe = person("probe")  # logs in on the public log-in row

    def user_id(self, name):
        return int(sql(f"SELECT id FROM users WHERE lower(email) = lower('{self.c[name].email}')"))

    def fresh_video(self):
        return api("POST", f"/api/projects/{self.project}/videos", self.c["owner"].token,
                   json={"title": "Shot", "brief": "a kite", "final_prompt": "A kite over a beach [sim:seconds=0.5]"}).json()["id"]

    def fresh_image_video(self):
        video = self.fresh_video()
        r = put_image(self.c["owner"].token, video, encoded("PNG", (640, 360)), "image/png")
        assert r.status_code in (200, 201), r.text
        return video

    def fresh_project(self):
        project = api("POST", "/api/projects", self.c["owner"].token, json={"name": "Doomed"}).json()["id"]
        for name, role in (("editor", "editor"), ("viewer", "viewer"), ("disabled", "editor")):
            sql(f"INSERT INTO project_members (project_id, user_id, role) VALUES ({project}, {self.user_id(name)}, '{role}')")
        return project

    def fresh_member(self):
        p = person("leaver")
        invitation = api("POST", f"/api/projects/{self.project}/members", self.c["owner"].token,
                         json={"email": p.email, "role": "viewer"}).json()["invitationId"]
        api("POST", f"/api/invitations/{invitation}/accept", p.token)
        return int(sql(f"SELECT id FROM users WHERE lower(email) = lower('{p.email}')"))

    def fresh_invitation(self):
        return api("POST", f"/api/projects/{self.project}/members", self.c["owner"].token,
                   json={"email": unique_email("invitee"), "role": "viewer"}).json()["invitationId"]

    def fresh_film(self):
        film = make_film(self.c["owner"].token, self.film_project)
        wait_film(self.c["owner"].token, film)
        return film

    def fresh_link(self):
        return api("POST", f"/api/films/{self.film}/links", self.c["owner"].token, json={}).json()["id"]

    def fresh_token_id(self):
        self.c["owner"].browser.get("/account")
        self.c["owner"].browser.post("/account/tokens", {"name": "spare"})
        return int(sql(f"SELECT max(id) FROM api_tokens WHERE user_id = {self.user_id('owner')}"))

    def fresh_session_id(self):
        spare = Browser()
        spare.get("/login")
        spare.post("/login", {"email": self.c["owner"].email, "password": PASSWORD})
        return int(sql(f"SELECT max(id) FROM sessions WHERE user_id = {self.user_id('owner')}"))

    def fresh_webhook(self):
        return api("POST", "/api/webhooks", self.c["owner"].token, json={"url": "http://127.0.0.1:9/spare"}).json()["id"]

    def fresh_reset_token(self):
        from test_accounts import cli
        email = person("reset").email
        return cli("user", "reset-link", "--email", email, "--base-url", BASE).stdout.strip().rsplit("token=", 1)[1]


# Each route: the path as the route enum prints it (how the test finds new routes), how to build it from the world,
# and per method who may (public: anyone; user: anyone signed in; self: the record's own user, the owner here;
# invitee: the invitation's addressee, none of the callers; admin: admins, none of the callers; viewer / editor /
# owner: that role in the project, at least), the body to send (chosen so an allowed call does no lasting harm),
# and, for a call that destroys its record, the factory that makes a fresh one for each allowed caller.
ROWS = [
    # Top-level routes (Server/Route.swift).
    ("/", lambda w: "/", {"GET": "user"}),
    ("/healthz", lambda w: "/healthz", {"GET": "public"}),
    ("/metrics", lambda w: "/metrics", {"GET": "public"}),
    ("/media/generations/\\(generation)/\\(file)", lambda w: f"/media/generations/{w.generation}/video.mp4", {"GET": "viewer"}),
    # Accounts.
    ("/login", lambda w: "/login", {"GET": "public", "POST": "public"}),
    ("/signup", lambda w: "/signup", {"GET": "public", "POST": "public"}),
    ("/logout", lambda w: "/logout", {"POST": "public"}),
    ("/account", lambda w: "/account", {"GET": "user"}),
    ("/account/tokens", lambda w: "/account/tokens", {"POST": "user"}),
    ("/account/preferences", lambda w: "/account/preferences", {"POST": "user"}),
    ("/account/tokens/\\(id)/delete", lambda w: f"/account/tokens/{w.spare_token}/delete", {"POST": "self"}),
    ("/account/password", lambda w: "/account/password", {"POST": "user"}),
    ("/account/sessions/\\(id)/end", lambda w: f"/account/sessions/{w.spare_session}/end", {"POST": "self"}),
    ("/account/delete", lambda w: "/account/delete", {"GET": "user", "POST": "user"}),
    ("/password-reset", lambda w: f"/password-reset?token={w.reset_token}", {"GET": "public", "POST": "public"}),
    ("/forgot-password", lambda w: "/forgot-password", {"GET": "public", "POST": "public"}),
    ("/admin/users", lambda w: "/admin/users", {"GET": "admin"}),
    ("/admin/users/\\(id)", lambda w: f"/admin/users/{w.user_id('viewer')}", {"POST": "admin"}),
    ("/admin/budgets", lambda w: "/admin/budgets", {"GET": "admin", "POST": "admin"}),
    # Webhooks (the owner's own).
    ("/account/webhooks", lambda w: "/account/webhooks", {"GET": "user", "POST": "user"}),
    ("/account/webhooks/\\(id)", lambda w: f"/account/webhooks/{w.webhook}", {"GET": "self"}),
    ("/account/webhooks/\\(id)/delete", lambda w: f"/account/webhooks/{w.spare_webhook}/delete", {"POST": "self"}),
    ("/account/webhook-deliveries/\\(delivery)/redeliver", lambda w: f"/account/webhook-deliveries/{w.delivery}/redeliver", {"POST": "self"}),
    ("/api/webhooks", lambda w: "/api/webhooks", {"GET": "user", "POST": "user"}),
    ("/api/webhooks/\\(id)", lambda w: f"/api/webhooks/{w.spare_webhook}", {"GET": "self", "DELETE": "self"}),
    ("/api/webhooks/\\(id)/deliveries", lambda w: f"/api/webhooks/{w.webhook}/deliveries", {"GET": "self"}),
    ("/api/webhook-deliveries/\\(delivery)/redeliver", lambda w: f"/api/webhook-deliveries/{w.delivery}/redeliver", {"POST": "self"}),
    # Usage.
    ("/usage", lambda w: "/usage", {"GET": "user"}),
    ("/usage.csv", lambda w: "/usage.csv", {"GET": "user"}),
    ("/api/usage", lambda w: "/api/usage", {"GET": "user"}),
    # Library.
    ("/dashboard", lambda w: "/dashboard", {"GET": "user"}),
    ("/dashboard/projects", lambda w: "/dashboard/projects", {"POST": "user"}),
    ("/dashboard/projects/\\(id)", lambda w: f"/dashboard/projects/{w.project}", {"GET": "viewer"}),
    ("/dashboard/projects/\\(id)/edit", lambda w: f"/dashboard/projects/{w.project}/edit", {"GET": "owner", "POST": "owner"}),
    ("/dashboard/projects/\\(id)/delete", lambda w: f"/dashboard/projects/{w.doomed_project}/delete", {"GET": "owner", "POST": "owner"}),
    ("/dashboard/projects/\\(project)/videos/new", lambda w: f"/dashboard/projects/{w.project}/videos/new", {"GET": "editor"}),
    ("/dashboard/projects/\\(project)/videos", lambda w: f"/dashboard/projects/{w.project}/videos", {"POST": "editor"}),
    ("/dashboard/videos/\\(id)", lambda w: f"/dashboard/videos/{w.video}", {"GET": "viewer"}),
    ("/dashboard/videos/\\(id)/edit", lambda w: f"/dashboard/videos/{w.video}/edit", {"GET": "editor", "POST": "editor"}),
    ("/dashboard/videos/\\(id)/delete", lambda w: f"/dashboard/videos/{w.doomed_video}/delete", {"GET": "editor", "POST": "editor"}),
    ("/dashboard/videos/\\(id)/copy", lambda w: f"/dashboard/videos/{w.video}/copy", {"POST": "editor"}),
    ("/api/projects", lambda w: "/api/projects", {"GET": "user", "POST": "user"}),
    ("/api/projects/\\(id)", lambda w: f"/api/projects/{w.doomed_project}", {"GET": "viewer", "PATCH": "owner", "DELETE": "owner"}),
    ("/api/projects/\\(project)/videos", lambda w: f"/api/projects/{w.project}/videos", {"GET": "viewer", "POST": "editor"}),
    ("/api/videos", lambda w: "/api/videos", {"GET": "user"}),
    ("/api/videos/\\(id)", lambda w: f"/api/videos/{w.doomed_video}", {"GET": "viewer", "PATCH": "editor", "DELETE": "editor"}),
    ("/api/videos/\\(id)/copy", lambda w: f"/api/videos/{w.video}/copy", {"POST": "editor"}),
    # Generations.
    ("/dashboard/videos/\\(video)/generate", lambda w: f"/dashboard/videos/{w.video}/generate", {"GET": "editor", "POST": "editor"}),
    ("/dashboard/videos/\\(video)/generation", lambda w: f"/dashboard/videos/{w.video}/generation", {"GET": "viewer"}),
    ("/dashboard/generations/\\(id)", lambda w: f"/dashboard/generations/{w.generation}", {"GET": "viewer"}),
    ("/dashboard/generations/\\(id)/cancel", lambda w: f"/dashboard/generations/{w.generation}/cancel", {"POST": "editor"}),
    ("/dashboard/generations/\\(id)/remix", lambda w: f"/dashboard/generations/{w.generation}/remix", {"GET": "editor", "POST": "editor"}),
    ("/dashboard/videos/\\(video)/takes", lambda w: f"/dashboard/videos/{w.video}/takes", {"GET": "viewer"}),
    ("/api/models", lambda w: "/api/models", {"GET": "user"}),
    ("/api/models/estimate", lambda w: "/api/models/estimate", {"GET": "user"}),
    ("/api/videos/\\(video)/generate-sora", lambda w: f"/api/videos/{w.video}/generate-sora", {"POST": "editor"}),
    ("/api/videos/\\(video)/sora-status", lambda w: f"/api/videos/{w.video}/sora-status", {"GET": "viewer"}),
    ("/api/videos/\\(video)/generations", lambda w: f"/api/videos/{w.video}/generations", {"GET": "viewer"}),
    ("/api/generations/\\(id)", lambda w: f"/api/generations/{w.generation}", {"GET": "viewer"}),
    ("/api/generations/\\(id)/cancel", lambda w: f"/api/generations/{w.generation}/cancel", {"POST": "editor"}),
    ("/api/generations/\\(id)/remix", lambda w: f"/api/generations/{w.generation}/remix", {"POST": "editor"}),
    # Reference images.
    ("/dashboard/videos/\\(video)/reference-image", lambda w: f"/dashboard/videos/{w.image_video}/reference-image", {"GET": "viewer", "POST": "editor"}),
    ("/dashboard/videos/\\(video)/reference-image/delete", lambda w: f"/dashboard/videos/{w.image_video}/reference-image/delete", {"POST": "editor"}),
    ("/dashboard/videos/\\(video)/reference-image/preview", lambda w: f"/dashboard/videos/{w.image_video}/reference-image/preview", {"GET": "viewer"}),
    ("/api/videos/\\(video)/reference-image", lambda w: f"/api/videos/{w.image_video}/reference-image", {"GET": "viewer", "PUT": "editor", "DELETE": "editor"}),
    # Roundtables.
    ("/dashboard/videos/\\(video)/roundtables", lambda w: f"/dashboard/videos/{w.video}/roundtables", {"POST": "editor"}),
    ("/dashboard/roundtables/\\(id)", lambda w: f"/dashboard/roundtables/{w.roundtable}", {"GET": "viewer"}),
    ("/dashboard/roundtables/\\(id)/accept", lambda w: f"/dashboard/roundtables/{w.roundtable}/accept", {"POST": "editor"}),
    ("/dashboard/roundtables/\\(id)/edit", lambda w: f"/dashboard/roundtables/{w.roundtable}/edit", {"GET": "editor"}),
    ("/dashboard/roundtables/\\(id)/retry", lambda w: f"/dashboard/roundtables/{w.roundtable}/retry", {"POST": "editor"}),
    ("/api/videos/\\(video)/roundtable", lambda w: f"/api/videos/{w.video}/roundtable", {"POST": "editor"}),
    ("/api/videos/\\(video)/roundtables", lambda w: f"/api/videos/{w.video}/roundtables", {"GET": "viewer"}),
    ("/api/roundtables/\\(id)", lambda w: f"/api/roundtables/{w.roundtable}", {"GET": "viewer"}),
    ("/api/roundtables/\\(id)/accept", lambda w: f"/api/roundtables/{w.roundtable}/accept", {"POST": "editor"}),
    ("/api/roundtables/\\(id)/retry", lambda w: f"/api/roundtables/{w.roundtable}/retry", {"POST": "editor"}),
    # Storyboards.
    ("/dashboard/projects/\\(id)/storyboard", lambda w: f"/dashboard/projects/{w.project}/storyboard", {"GET": "viewer"}),
    ("/dashboard/videos/\\(id)/move", lambda w: f"/dashboard/videos/{w.video}/move", {"POST": "editor"}),
    ("/dashboard/videos/\\(id)/chosen-take", lambda w: f"/dashboard/videos/{w.video}/chosen-take", {"POST": "editor"}),
    ("/dashboard/projects/\\(id)/generate", lambda w: f"/dashboard/projects/{w.project}/generate", {"GET": "editor", "POST": "editor"}),
    ("/dashboard/batches/\\(id)", lambda w: f"/dashboard/batches/{w.batch}", {"GET": "viewer"}),
    ("/api/videos/\\(id)/chosen-take", lambda w: f"/api/videos/{w.video}/chosen-take", {"PUT": "editor"}),
    ("/api/projects/\\(id)/generate", lambda w: f"/api/projects/{w.project}/generate", {"POST": "editor"}),
    ("/api/batches/\\(id)", lambda w: f"/api/batches/{w.batch}", {"GET": "viewer"}),
    # Films.
    ("/dashboard/projects/\\(project)/films", lambda w: f"/dashboard/projects/{w.project}/films", {"POST": "editor"}),
    ("/dashboard/films/\\(id)", lambda w: f"/dashboard/films/{w.film}", {"GET": "viewer"}),
    ("/dashboard/films/\\(id)/delete", lambda w: f"/dashboard/films/{w.doomed_film}/delete", {"POST": "editor"}),
    ("/dashboard/films/\\(id)/links", lambda w: f"/dashboard/films/{w.film}/links", {"POST": "editor"}),
    ("/dashboard/film-links/\\(id)/revoke", lambda w: f"/dashboard/film-links/{w.doomed_link}/revoke", {"POST": "editor"}),
    ("/media/films/\\(id)/\\(file)", lambda w: f"/media/films/{w.film}/film.mp4", {"GET": "viewer"}),
    ("/shared/films/\\(token)", lambda w: f"/shared/films/{w.link_token}", {"GET": "public"}),
    ("/shared/films/\\(token)/\\(file)", lambda w: f"/shared/films/{w.link_token}/film.mp4", {"GET": "public"}),
    ("/api/projects/\\(project)/films", lambda w: f"/api/projects/{w.project}/films", {"GET": "viewer", "POST": "editor"}),
    ("/api/films/\\(id)", lambda w: f"/api/films/{w.doomed_film}", {"GET": "viewer", "DELETE": "editor"}),
    ("/api/films/\\(id)/links", lambda w: f"/api/films/{w.film}/links", {"POST": "editor"}),
    ("/api/film-links/\\(id)", lambda w: f"/api/film-links/{w.doomed_link}", {"DELETE": "editor"}),
    # Sharing.
    ("/api/projects/\\(project)/members", lambda w: f"/api/projects/{w.project}/members", {"GET": "viewer", "POST": "owner"}),
    ("/api/projects/\\(project)/members/\\(user)", lambda w: f"/api/projects/{w.project}/members/{w.doomed_member}", {"PATCH": "owner", "DELETE": "owner"}),
    ("/api/projects/\\(project)/invitations/\\(invitation)", lambda w: f"/api/projects/{w.project}/invitations/{w.doomed_invitation}", {"DELETE": "owner"}),
    ("/api/invitations", lambda w: "/api/invitations", {"GET": "user"}),
    ("/api/invitations/\\(id)/accept", lambda w: f"/api/invitations/{w.invitation}/accept", {"POST": "invitee"}),
    ("/api/invitations/\\(id)/decline", lambda w: f"/api/invitations/{w.invitation}/decline", {"POST": "invitee"}),
    ("/dashboard/projects/\\(project)/members", lambda w: f"/dashboard/projects/{w.project}/members", {"GET": "viewer", "POST": "owner"}),
    ("/dashboard/projects/\\(project)/members/\\(user)", lambda w: f"/dashboard/projects/{w.project}/members/{w.doomed_member}", {"POST": "owner"}),
    ("/dashboard/projects/\\(project)/members/\\(user)/remove", lambda w: f"/dashboard/projects/{w.project}/members/{w.doomed_member}/remove", {"POST": "owner"}),
    ("/dashboard/projects/\\(project)/invitations/\\(invitation)/revoke", lambda w: f"/dashboard/projects/{w.project}/invitations/{w.doomed_invitation}/revoke", {"POST": "owner"}),
    ("/dashboard/invitations/\\(id)/accept", lambda w: f"/dashboard/invitations/{w.invitation}/accept", {"POST": "invitee"}),
    ("/dashboard/invitations/\\(id)/decline", lambda w: f"/dashboard/invitations/{w.invitation}/decline", {"POST": "invitee"}),
]

# Bodies chosen so a call that gets through changes nothing that lasts (a refused validation still shows the
# handler ran): keyed by (method, the row's path).
BODIES = {
    ("POST", "/login"): lambda w: {"email": w.probe.email, "password": PASSWORD},
    ("POST", "/signup"): lambda w: {"email": "not-an-address", "password": PASSWORD},
    ("POST", "/account/tokens"): lambda w: {"name": ""},
    # The right current password (a wrong one counts towards the log-in throttle of the whole address, which would
    # lock the other tests out) with a new one too weak to take.
    ("POST", "/account/password"): lambda w: {"current_password": PASSWORD, "new_password": "x"},
    ("POST", "/password-reset"): lambda w: {"token": w.reset_token, "password": "x"},
    ("POST", "/forgot-password"): lambda w: {"email": "not-an-address"},
    ("POST", "/admin/budgets"): lambda w: {},
    ("POST", "/account/webhooks"): lambda w: {"url": "not a url"},
    ("POST", "/api/webhooks"): lambda w: {"url": "not a url"},
    ("POST", "/dashboard/projects"): lambda w: {"name": ""},
    ("POST", "/dashboard/projects/\\(id)/edit"): lambda w: {"name": "Authz"},
    ("POST", "/dashboard/projects/\\(project)/videos"): lambda w: {"title": ""},
    ("POST", "/dashboard/videos/\\(id)/edit"): lambda w: {"title": ""},
    ("POST", "/api/projects"): lambda w: {"name": ""},
    ("PATCH", "/api/projects/\\(id)"): lambda w: {"name": "Doomed"},
    ("POST", "/api/projects/\\(project)/videos"): lambda w: {"title": ""},
    ("PATCH", "/api/videos/\\(id)"): lambda w: {"title": "Shot"},
    ("POST", "/dashboard/videos/\\(video)/generate"): lambda w: {"duration": "999"},
    ("POST", "/dashboard/generations/\\(id)/remix"): lambda w: {"prompt": ""},
    ("POST", "/api/videos/\\(video)/generate-sora"): lambda w: {"settings": {"duration": 999}},
    ("POST", "/api/generations/\\(id)/remix"): lambda w: {"prompt": ""},
    ("POST", "/dashboard/videos/\\(video)/roundtables"): lambda w: {"preset": "no-such-preset"},
    ("POST", "/api/videos/\\(video)/roundtable"): lambda w: {"preset": "no-such-preset"},
    ("POST", "/api/roundtables/\\(id)/accept"): lambda w: {"prompt": ""},
    ("POST", "/dashboard/roundtables/\\(id)/accept"): lambda w: {"prompt": ""},
    ("POST", "/dashboard/videos/\\(id)/move"): lambda w: {"position": "0"},
    ("POST", "/dashboard/videos/\\(id)/chosen-take"): lambda w: {"generation_id": "0"},
    ("PUT", "/api/videos/\\(id)/chosen-take"): lambda w: {"generationId": 0},
    ("POST", "/dashboard/projects/\\(id)/generate"): lambda w: {"duration": "999"},
    ("POST", "/api/projects/\\(id)/generate"): lambda w: {"settings": {"duration": 999}},
    ("POST", "/dashboard/projects/\\(project)/films"): lambda w: {"transition": "wipe"},
    ("POST", "/api/projects/\\(project)/films"): lambda w: {"transition": "wipe"},
    ("POST", "/dashboard/films/\\(id)/links"): lambda w: {"hours": "0"},
    ("POST", "/api/films/\\(id)/links"): lambda w: {"expiresInHours": 0},
    ("POST", "/api/projects/\\(project)/members"): lambda w: {"email": "x", "role": "viewer"},
    ("POST", "/dashboard/projects/\\(project)/members"): lambda w: {"email": "x", "role": "viewer"},
    ("PATCH", "/api/projects/\\(project)/members/\\(user)"): lambda w: {"role": "viewer"},
    ("POST", "/dashboard/projects/\\(project)/members/\\(user)"): lambda w: {"role": "viewer"},
    ("PUT", "/api/videos/\\(video)/reference-image"): lambda w: {},
}

# A call that destroys its record: each caller gets a fresh one (the world attribute and its factory).
FRESH = {
    ("POST", "/account/tokens/\\(id)/delete"): ("spare_token", "fresh_token_id"),
    ("POST", "/account/sessions/\\(id)/end"): ("spare_session", "fresh_session_id"),
    ("POST", "/account/webhooks/\\(id)/delete"): ("spare_webhook", "fresh_webhook"),
    ("DELETE", "/api/webhooks/\\(id)"): ("spare_webhook", "fresh_webhook"),
    ("POST", "/dashboard/projects/\\(id)/delete"): ("doomed_project", "fresh_project"),
    ("PATCH", "/api/projects/\\(id)"): ("doomed_project", "fresh_project"),
    ("DELETE", "/api/projects/\\(id)"): ("doomed_project", "fresh_project"),
    ("POST", "/dashboard/videos/\\(id)/delete"): ("doomed_video", "fresh_video"),
    ("PATCH", "/api/videos/\\(id)"): ("doomed_video", "fresh_video"),
    ("DELETE", "/api/videos/\\(id)"): ("doomed_video", "fresh_video"),
    ("POST", "/dashboard/films/\\(id)/delete"): ("doomed_film", "fresh_film"),
    ("DELETE", "/api/films/\\(id)"): ("doomed_film", "fresh_film"),
    ("POST", "/dashboard/film-links/\\(id)/revoke"): ("doomed_link", "fresh_link"),
    ("DELETE", "/api/film-links/\\(id)"): ("doomed_link", "fresh_link"),
    ("PATCH", "/api/projects/\\(project)/members/\\(user)"): ("doomed_member", "fresh_member"),
    ("DELETE", "/api/projects/\\(project)/members/\\(user)"): ("doomed_member", "fresh_member"),
    ("POST", "/dashboard/projects/\\(project)/members/\\(user)"): ("doomed_member", "fresh_member"),
    ("POST", "/dashboard/projects/\\(project)/members/\\(user)/remove"): ("doomed_member", "fresh_member"),
    ("DELETE", "/api/projects/\\(project)/invitations/\\(invitation)"): ("doomed_invitation", "fresh_invitation"),
    ("POST", "/dashboard/projects/\\(project)/invitations/\\(invitation)/revoke"): ("doomed_invitation", "fresh_invitation"),
    ("POST", "/dashboard/videos/\\(video)/reference-image/delete"): ("image_video", "fresh_image_video"),
    ("DELETE", "/api/videos/\\(video)/reference-image"): ("image_video", "fresh_image_video"),
}


def route_literals():
    """Every path the route enums print, as written in their sources (`\\(x)` kept)."""
    web_app = os.path.join(ROOT_DIR, "Sources", "WebApp")
    sources = glob.glob(os.path.join(web_app, "*", "*Routes.swift")) + [os.path.join(web_app, "Server", "Route.swift")]
    text = "".join(open(p).read() for p in sources)
    # Not routes: the OpenAPI document (nginx serves it), and the prefix and suffix Route.swift tests paths with.
    found = set(re.findall(r'"(/[^"\s]*)"', text)) - {"/api/openapi.json", "/shared/films/", "/reference-image"}
    return {p for p in found if not p.endswith("/") or p == "/"}


def expected(need, method, allowed, caller, page):
    """The answer the checks' order gives `caller` for `method` on a route whose `allowed` methods need `need`."""
    signed_in = caller in ("owner", "editor", "viewer", "stranger", "other") or (caller == "read" and not page)
    if need == "public":
        return "through" if allowed else "method"
    if not signed_in:
        return "login"
    if caller == "read" and method in WRITES | {"OPTIONS"}:
        return "read_only"
    member = caller in RANK or caller == "read"
    role = "owner" if caller == "read" else caller
    if need in RANK and not member:
        return "hidden"
    if need in ("self", "invitee", "admin"):
        # The record is the caller's own (a token, a session, a webhook, an invitation), not a project's: a method
        # the route lacks is a 405 for anyone signed in, before the record is looked at.
        if not allowed:
            return "method"
        return "through" if need == "self" and caller in ("owner", "read") else "hidden"
    if not allowed:
        return "method"
    if need in RANK and RANK[role] < RANK[need]:
        return "role"
    return "through"


def classify(r, page):
    """What an answer says, in the table's words."""
    # The log-in page as the answer to a missing account carries where to come back to (a log-out's does not).
    location = r.headers.get("Location", "")
    if r.status_code in (301, 302, 303) and urlpath(location) == "/login" and "next=" in location:
        return "login"
    code = error_code(r, page)
    if r.status_code == 401 and not page:
        return "login"
    if r.status_code == 403 and code == "read_only_token":
        return "read_only"
    if r.status_code == 403 and code == "role_forbidden":
        return "role"
    if r.status_code == 404 and code in ("not_found", None):
        return "hidden"
    if r.status_code == 405:
        return "method"
    if r.status_code >= 500:
        return f"server error {r.status_code}"
    return "through"


def urlpath(location):
    return re.sub(r"^https?://[^/]+", "", location).split("?", 1)[0]


def error_code(r, page):
    if page:
        m = re.search(r'class="error-code[^"]*">Code: ([a-z_]+)<', r.text)
        return m.group(1) if m else None
    try:
        return r.json()["error"]["code"]
    except Exception:
        return None


# Forms sent without their CSRF token: a call that gets through is refused by the CSRF check, the last one before
# the handler (deleting an account: the right password would delete it, a wrong one counts towards the throttle).
NO_CSRF = {("POST", "/account/delete")}


def send(caller, method, path, body, page, public=False, w=None, csrf=True):
    if page and public and method != "GET":
        caller = Caller(caller.name, Browser())  # a sign-in form's answer would sign this browser in
    if page:
        b = caller.browser or Browser()
        url = BASE + path
        if method == "GET":
            return b.s.get(url, allow_redirects=False, timeout=20)
        # A page POST carries the CSRF token of this browser (read from a page it may see).
        if not b.csrf:
            b.get("/login")
        data = {**(body or {}), **({"_csrf": b.csrf} if csrf else {})}
        return b.s.request(method, url, data=data, allow_redirects=False, timeout=20)
    kw = {"json": body} if method in WRITES and body is not None else {}
    return api(method, path, caller.token, allow_redirects=False, **kw)


def test_every_route_has_a_row():
    literals = route_literals()
    rows = {row[0] for row in ROWS}
    assert literals - rows == set(), "routes without a row in the authorization table"
    assert rows - literals == set(), "rows for paths no route prints"


def test_every_route_answers_every_caller_as_the_table_says(worker):
    # Every caller's "Forgot password" counts toward 127.0.0.1's hourly limit: start from none.
    sql("DELETE FROM address_attempts WHERE action = 'password_reset'")
    w = World()
    # The disabled member's page session and token: signed out by the disabling.
    w.c["disabled"].browser.csrf = ""
    problems, asked = [], 0
    for literal, build, needs in ROWS:
        page = not (literal.startswith("/api/") or literal == "/healthz")
        sample = build_path(w, build, literal, "GET")
        if not any(n == "public" for n in needs.values()):
            # The owner sees every record: OPTIONS, a method no route has, answers 405 naming the route's methods.
            r = requests.options(BASE + sample, headers={"Authorization": f"Bearer {w.c['owner'].token}"} if not page else {},
                                 cookies=w.c["owner"].browser.s.cookies if page else None, allow_redirects=False, timeout=20)
            allow = {m.strip() for m in r.headers.get("Allow", "").split(",") if m.strip()}
            if r.status_code == 405 and allow != set(needs):
                problems.append(f"{literal}: the app answers {sorted(allow)}, the table says {sorted(needs)}")
        probe = [] if literal in ("/healthz", "/metrics") else [next(m for m in ("PATCH", "PUT", "DELETE", "POST") if m not in needs)]
        methods = list(needs) + probe
        for method in methods:
            allowed = method in needs
            need = needs.get(method) or next(iter(needs.values()))
            for name in CALLERS:
                caller = w.c[name]
                fresh = FRESH.get((method, literal))
                want = expected(need, method, allowed, name, page)
                path = build_path(w, build, literal, method)
                body = BODIES.get((method, literal), lambda _: {})(w) if allowed else {}
                r = send(caller, method, path, body, page, public=need == "public", w=w,
                         csrf=(method, literal) not in NO_CSRF)
                got = classify(r, page)
                asked += 1
                if got != want:
                    problems.append(f"{method} {literal} as {name}: {got} ({r.status_code}), the table says {want}")
                if fresh and got == "through":
                    setattr(w, fresh[0], getattr(w, fresh[1])())  # the record is gone: the next caller gets a new one
    assert not problems, "\n".join(problems)
    assert asked >= len(CALLERS) * 2 * len(ROWS) - len(CALLERS) * 2, asked  # every row, each method and the probe


def build_path(w, build, literal, method):
    """The row's path; a destroyed-record row's attribute is made on first use."""
    for attr, factory in {v for k, v in FRESH.items() if k[1] == literal}:
        if getattr(w, attr, None) is None:
            setattr(w, attr, getattr(w, factory)())
    return build(w)
