"""End-to-end helpers: a cookie-keeping browser over real HTTP through nginx to the FastCGI binary."""
import hashlib
import os
import re
import threading
import uuid
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_schema_validator import OAS31Validator

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
        # Sign-up never signs in (the answer is the same for an address that already has an account): log in.
        assert r.status_code == 200 and r.url.endswith("/login") and "If this address was new" in r.text, r.text
        r = self.post("/login", {"email": email, "password": PASSWORD})
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


SIM = os.environ.get("PROMPTREEL_SIM_URL", "http://127.0.0.1:8090")


def sim_stats():
    return requests.get(SIM + "/_sim/stats", timeout=5).json()


def sim_fault(endpoint, kind, **kw):
    r = requests.post(SIM + "/_sim/faults", json={"endpoint": endpoint, "kind": kind, **kw}, timeout=5)
    assert r.status_code == 200, r.text


def sql(query):
    """Runs SQL on the test database (for arranging states the web cannot reach, and for checks)."""
    import subprocess
    out = subprocess.run(["psql", os.environ["DATABASE_URL"], "-Atqc", query], capture_output=True, text=True, check=True)
    return out.stdout.strip()


class WorkerProcess:
    """A `promptreel worker` process with its own environment additions."""
    count = 0

    def __init__(self, *args, **env):
        import subprocess
        WorkerProcess.count += 1
        self.log_path = os.path.join(os.environ.get("PROMPTREEL_LOCAL", "/tmp"), f"worker-{WorkerProcess.count}.log")
        log = open(self.log_path, "w")
        self.proc = subprocess.Popen([os.environ["PROMPTREEL_BIN"], "worker", "--threads", "1", *map(str, args)],
                                     env={**os.environ, **{k: str(v) for k, v in env.items()}},
                                     stdout=log, stderr=log)
        # Ready once it says so (its stop signals are then handled), or once it has exited.
        wait_until(lambda: self.proc.poll() is not None or "worker running" in open(self.log_path).read(),
                   timeout=20, interval=0.02, what="the worker to start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout=30)

    def kill9(self):
        self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def session_worker():
    holder = {"worker": WorkerProcess()}
    yield holder
    holder["worker"].stop()


@pytest.fixture
def worker(session_worker):
    """A running worker for the test (the session's)."""
    if session_worker["worker"].proc.poll() is not None:
        session_worker["worker"] = WorkerProcess()
    return session_worker["worker"]


@pytest.fixture
def no_worker(session_worker):
    """No worker runs during the test; the session's comes back afterwards."""
    assert session_worker["worker"].stop() == 0
    yield
    session_worker["worker"] = WorkerProcess()


def wait_until(check, timeout=30, interval=0.2, what="condition"):
    import time
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)


class SimulatorProcess:
    """A `promptreel-sim` of its own (beside the binary in $PROMPTREEL_BIN), on a free port."""

    def __init__(self, *args):
        import subprocess
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="promptreel-sim-")
        port_file = os.path.join(self.dir, "port")
        binary = os.path.join(os.path.dirname(os.environ["PROMPTREEL_BIN"]), "promptreel-sim")
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen([binary, "--host", "127.0.0.1", "--port", "0", "--port-file", port_file,
                                      "--api-key", "sim-test-key", *map(str, args)], stdout=self.log, stderr=self.log)
        # The port file is written (atomically) once the server listens.
        wait_until(lambda: self.proc.poll() is not None or os.path.exists(port_file),
                   timeout=20, interval=0.02, what="the simulator to listen")
        assert self.proc.poll() is None, open(os.path.join(self.dir, "log")).read()
        self.url = f"http://127.0.0.1:{int(open(port_file).read())}"

    def stats(self):
        return requests.get(self.url + "/_sim/stats", timeout=5).json()

    def fault(self, endpoint, kind, **kw):
        r = requests.post(self.url + "/_sim/faults", json={"endpoint": endpoint, "kind": kind, **kw}, timeout=5)
        assert r.status_code == 200, r.text

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        code = self.proc.wait(timeout=10)
        self.log.close()
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)
        return code


@pytest.fixture(autouse=True)
def closed_provider_breaker():
    """Tests that make the provider fail on purpose must not leave the shared breaker open for the next."""
    yield
    if "DATABASE_URL" in os.environ:
        sql("UPDATE provider_health SET consecutive_failures = 0, pause_seconds = 0, paused_until = NULL")


# The API contract: every answer the tests receive from /api (and /healthz) must match docs/openapi.yaml.
# Each answer is recorded as it arrives (any requests session, any thread) and checked at the end of the
# test's setup, call and teardown, which fail on the first mismatch; no test has to ask for it.

OPENAPI_PATH = os.path.join(ROOT_DIR, "docs", "openapi.yaml")


class Contract:
    def __init__(self, path=OPENAPI_PATH):
        with open(path) as f:
            self.spec = yaml.safe_load(f)
        self.openapi = OpenAPI.from_dict(self.spec)
        self.error = OAS31Validator({"$ref": "#/components/schemas/Error", "components": self.spec["components"]})
        # "/api/videos/{id}/copy" -> a regex of the path; literal paths first, so /api/videos beats a template.
        self.templates = sorted(((re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(t)) + "$"), t)
                                 for t in self.spec["paths"]), key=lambda pair: "{" in pair[1])
        self.pending = []
        self.checked = set()
        self.lock = threading.Lock()

    @staticmethod
    def covers(url):
        path = urlsplit(url).path
        return path == "/api" or path.startswith("/api/") or path == "/healthz"

    def record(self, response):
        with self.lock:
            self.pending.append(response)

    def template(self, path):
        return next((t for regex, t in self.templates if regex.match(path)), None)

    def problem(self, r):
        """Why `r` does not match the document (None when it does)."""
        path = urlsplit(r.request.url).path
        method = r.request.method.lower()
        what = f"{r.request.method} {path} -> {r.status_code}"
        if r.status_code in (400, 502, 504) and "X-Request-Id" not in r.headers and r.headers.get("Content-Type", "").startswith("text/html"):
            # nginx's own answers, the app never saw them: a request it cannot parse, or no app process
            # answered (one SIGKILLed mid-request in test_scaling). The document's description says so.
            return None
        template = self.template(path)
        if template is None or method not in self.spec["paths"][template]:
            # Not a documented operation: only the generic answers the document's description promises (on a
            # listed path, the checks before the 405: no token, a read-only one, a record the caller cannot see).
            expected = {404} if template is None else {401, 403, 404, 405}
            if r.status_code not in expected:
                return f"{what}: not an operation in docs/openapi.yaml"
            if r.status_code == 405 and not r.headers.get("Allow"):
                return f"{what}: a 405 without an Allow header"
            try:
                self.error.validate(r.json())
            except Exception as e:  # not JSON, or not the error envelope
                return f"{what}: not the error envelope: {e}"
            return None
        try:
            self.openapi.validate_response(RequestsOpenAPIRequest(r.request), RequestsOpenAPIResponse(r))
        except Exception as e:
            cause = e.__cause__
            schema_errors = getattr(cause, "schema_errors", None) or []
            details = [f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}" for error in schema_errors]
            if not details:
                details = [f"{type(e).__name__}: {e}"] + ([str(cause)] if cause is not None else [])
            return f"{what}: {'; '.join(details)}\n  body: {r.text[:500]}"
        return None

    def problems(self):
        with self.lock:
            responses, self.pending = self.pending, []
        found = []
        for r in responses:
            # The same answer twice (a polling loop, a load test) is checked once.
            key = (r.request.method, r.request.url, r.status_code, r.headers.get("Content-Type"),
                   r.headers.get("Location"), hashlib.sha256(r.content).hexdigest())
            if key in self.checked:
                continue
            self.checked.add(key)
            problem = self.problem(r)
            if problem:
                found.append(problem)
        return found

    def drop_pending(self):
        with self.lock:
            self.pending = []


CONTRACT = Contract()
_send = requests.Session.send


def _send_and_record(self, request, **kw):
    response = _send(self, request, **kw)
    if not kw.get("stream") and Contract.covers(request.url):
        response.content  # read now, while the connection is the test's
        CONTRACT.record(response)
    return response


requests.Session.send = _send_and_record


def _check_contract():
    problems = CONTRACT.problems()
    if problems:
        pytest.fail("answers that do not match docs/openapi.yaml:\n" + "\n".join(problems), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    CONTRACT.drop_pending()  # left by a test that failed anyway
    result = yield
    _check_contract()
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    _check_contract()
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    result = yield
    _check_contract()
    return result
