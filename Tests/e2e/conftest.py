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
