"""End-to-end helpers: a cookie-keeping browser over real HTTP through nginx to the FastCGI binary."""
import os
import re
import uuid

import pytest
import requests

ROOT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASE = os.environ.get("PROMPTREEL_URL", "http://127.0.0.1:18080")
PASSWORD = "correct horse battery"


class Browser:
    def __init__(self):
        self.s = requests.Session()
        self.csrf = ""

    def get(self, path, **kw):
        r = self.s.get(BASE + path, allow_redirects=kw.pop("allow_redirects", True), timeout=10, **kw)
        m = re.search(r'name="_csrf" value="([^"]+)"', r.text)
        if m:
            self.csrf = m.group(1)
        return r

    def post(self, path, data, csrf=True, **kw):
        fields = dict(data)
        if csrf:
            fields["_csrf"] = self.csrf
        r = self.s.post(BASE + path, data=fields, allow_redirects=kw.pop("allow_redirects", True), timeout=10, **kw)
        m = re.search(r'name="_csrf" value="([^"]+)"', r.text)
        if m:
            self.csrf = m.group(1)
        return r

    def signup(self, email=None):
        email = email or unique_email()
        self.get("/signup")
        r = self.post("/signup", {"email": email, "password": PASSWORD})
        assert r.status_code == 200 and r.url.endswith("/dashboard"), r.text
        return email

    def create_project(self, name="Project"):
        self.get("/dashboard")
        r = self.post("/dashboard/projects", {"name": name}, allow_redirects=False)
        assert r.status_code == 303, r.text
        return int(r.headers["Location"].rsplit("/", 1)[1])

    def save_video(self, project_id, title="Video", prompt="A calm lake at dawn", brief=""):
        self.get(f"/dashboard/projects/{project_id}/videos/new")
        r = self.post(f"/dashboard/projects/{project_id}/videos",
                      {"title": title, "brief": brief, "final_prompt": prompt}, allow_redirects=False)
        assert r.status_code == 303, r.text
        return int(r.headers["Location"].rsplit("/", 1)[1])

    def create_token(self):
        self.get("/account")
        r = self.post("/account/tokens", {"name": "e2e"})
        assert r.status_code == 201, r.text
        return re.search(r"pr_[A-Za-z0-9_-]{43}", r.text).group(0)


def unique_email(tag="e2e"):
    return f"{tag}-{uuid.uuid4().hex}@example.test"


def api(method, path, token=None, **kw):
    headers = kw.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, BASE + path, headers=headers, timeout=10, **kw)


@pytest.fixture
def browser():
    return Browser()
