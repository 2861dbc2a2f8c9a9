"""scripts/run as a person runs it: its own PostgreSQL cluster and simulator, a supervised app that
comes back after kill -9, and a SIGTERM that stops everything it started and exits 0."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests

from conftest import ROOT_DIR, wait_until

# Beside the suite's own ports (TEST_PORT, +3 metrics, +9..+11 the upstream test): parallel suites do not collide.
PORT = int(os.environ.get("TEST_PORT", "18080")) + 13
URL = f"http://127.0.0.1:{PORT}"
# What scripts/test exports for the other tests, and what would point scripts/run at their stack.
DROPPED = {"DATABASE_URL", "LOCAL", "PORT", "PGDATABASE_NAME", "PG_FSYNC", "PGPORT", "SIM_PORT", "SIM_BIN"}


def run_env(local):
    env = {k: v for k, v in os.environ.items()
           if k not in DROPPED and not k.startswith(("OPENAI_", "PROMPTREEL_"))}
    env.update(LOCAL=local, PORT=str(PORT), PROMPTREEL_BUILD="debug")
    return env


def read_pid(path):
    with open(path) as f:
        return int(f.readline().strip())


def alive(pid):
    """True while the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def healthz():
    try:
        return requests.get(URL + "/healthz", timeout=2).status_code
    except requests.RequestException:
        return None


def port_in_use(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def run_script():
    assert not port_in_use(PORT), f"port {PORT} is already in use"
    local = tempfile.mkdtemp(prefix="promptreel-run-")  # 0700: lib.sh keeps the cluster elsewhere
    log_path = os.path.join(local, "run.log")
    log = open(log_path, "w")
    proc = subprocess.Popen(["bash", os.path.join(ROOT_DIR, "scripts", "run")], cwd=ROOT_DIR, env=run_env(local),
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    yield proc, local, log_path
    # Whatever happened, leave nothing running and nothing behind.
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    log.close()
    pg_data = os.path.realpath(os.path.join(local, "pg"))  # a folder of its own under /var/tmp
    postmaster = os.path.join(pg_data, "postmaster.pid")
    if os.path.exists(postmaster):
        pid = read_pid(postmaster)
        if alive(pid):
            os.kill(pid, signal.SIGINT)  # fast shutdown
            wait_until(lambda: not alive(pid), timeout=30, what="PostgreSQL to stop")
    shutil.rmtree(local, ignore_errors=True)
    if pg_data.startswith("/var/tmp/promptreel-pg."):
        shutil.rmtree(pg_data, ignore_errors=True)


def test_run_restarts_a_killed_app_and_stops_everything_on_sigterm(run_script):
    proc, local, log_path = run_script

    def log():
        with open(log_path) as f:
            return f.read()

    def started():
        assert proc.poll() is None, f"scripts/run exited with {proc.returncode}:\n{log()}"
        return "PromptReel is running at" in log()

    wait_until(started, timeout=120, interval=0.5, what="scripts/run to start")
    assert f"PromptReel is running at {URL}" in log()
    assert "using the built-in Videos API simulator" in log(), log()
    assert healthz() == 200

    # Everything it started, read before SIGTERM (the pid files are removed on the way out).
    app = read_pid(os.path.join(local, "app.pid"))
    nginx = read_pid(os.path.join(local, "nginx.pid"))
    sim = read_pid(os.path.join(local, "sim.pid"))
    postgres = read_pid(os.path.join(local, "pg", "postmaster.pid"))
    assert all(alive(p) for p in (app, nginx, sim, postgres))

    os.kill(app, signal.SIGKILL)

    def restarted():
        try:
            pid = read_pid(os.path.join(local, "app.pid"))
        except (FileNotFoundError, ValueError):
            return None
        return pid if pid != app and alive(pid) and healthz() == 200 else None

    new_app = wait_until(restarted, timeout=15, interval=0.2, what="the app to be restarted")
    assert not alive(app)
    assert re.search(r"^promptreel serve exited \(status 137\); restarting in 1 s$", log(), re.M), log()
    assert proc.poll() is None

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0, log()
    for name, pid in (("app", new_app), ("nginx", nginx), ("simulator", sim), ("PostgreSQL", postgres)):
        wait_until(lambda: not alive(pid), timeout=5, interval=0.1, what=f"the {name} (pid {pid}) to be gone")
    assert healthz() is None
    assert not port_in_use(PORT)
