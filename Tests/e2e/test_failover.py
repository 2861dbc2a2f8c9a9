"""PostgreSQL failover with nothing acknowledged lost (issue 25): a primary and a synchronous streaming standby
(`synchronous_standby_names`, `synchronous_commit = on`; the standby made with `pg_basebackup`), a PromptReel site
whose DATABASE_URL names both (`host=a,b … target_session_attrs=read-write`). Under a steady load of clicks, status
polls and running generations the primary is SIGKILLed and the standby promoted. Then: every click answered 200
has its generation; no click made two jobs at the provider; the generations in flight complete; answers after the
failover agree with the new primary (caches flushed, LISTEN connections back); during the gap the app answers the
503 envelope, and it answers 200 again soon after the promotion (the test allows 60 s; the gap is printed)."""
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid

import pytest
import requests

from conftest import ROOT_DIR, Browser, WorkerProcess, wait_until

TEST_PORT = int(os.environ.get("TEST_PORT", "18080"))
PORT = TEST_PORT + 34
SIM = os.environ.get("PROMPTREEL_SIM_URL", "")


def pg_bin(name):
    versions = sorted(os.listdir("/usr/lib/postgresql"), key=lambda v: [int(x) for x in v.split(".")])
    return f"/usr/lib/postgresql/{versions[-1]}/bin/{name}"


def as_postgres(*args, **kw):
    command = list(map(str, args))
    if os.getuid() == 0:
        command = ["runuser", "-u", "postgres", "--"] + command
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=kw.pop("timeout", 60), **kw)


class Cluster:
    def __init__(self, root, name, port):
        self.data = os.path.join(root, name)
        self.socket = os.path.join(root, f"{name}-socket")
        self.port = port
        os.makedirs(self.socket)
        if os.getuid() == 0:
            shutil.chown(self.socket, "postgres")

    def start(self):
        as_postgres(pg_bin("pg_ctl"), "-D", self.data, "-l", self.data + ".log", "-w", "-t", "30", "-o",
                    f"-c listen_addresses='' -c unix_socket_directories='{self.socket}' -p {self.port}", "start")

    def psql(self, sql, db="postgres"):
        return subprocess.run([pg_bin("psql"), "-h", self.socket, "-p", str(self.port), "-U", "postgres", "-Atqc",
                               sql, db], check=True, capture_output=True, text=True, timeout=30).stdout.strip()

    def kill9(self):
        pid = int(open(os.path.join(self.data, "postmaster.pid")).readline())
        os.kill(pid, signal.SIGKILL)

    def stop(self):
        subprocess.run((["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else [])
                       + [pg_bin("pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)


@pytest.fixture
def pair():
    """A primary and its synchronous standby, in a folder the postgres user owns."""
    root = tempfile.mkdtemp(prefix="promptreel-failover-", dir="/var/tmp")
    if os.getuid() == 0:
        shutil.chown(root, "postgres")
    primary, standby = Cluster(root, "a", 5433), Cluster(root, "b", 5434)
    as_postgres(pg_bin("initdb"), "-D", primary.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                "--locale=C.UTF-8")
    with open(os.path.join(primary.data, "postgresql.conf"), "a") as conf:
        conf.write("wal_level = replica\nmax_wal_senders = 5\nsynchronous_commit = on\nfsync = off\n")
    primary.start()
    primary.psql("CREATE DATABASE promptreel_failover")
    as_postgres(pg_bin("pg_basebackup"), "-h", primary.socket, "-p", primary.port, "-U", "postgres", "-D",
                standby.data, "-R", "-X", "stream", "-c", "fast", "-d",
                f"host={primary.socket} port={primary.port} user=postgres application_name=standby")
    standby.start()
    # Synchronous from here on (earlier, a commit would wait for a standby not yet there).
    primary.psql("ALTER SYSTEM SET synchronous_standby_names = 'standby'")
    primary.psql("SELECT pg_reload_conf()")
    wait_until(lambda: primary.psql("SELECT sync_state FROM pg_stat_replication") == "sync", timeout=30,
               what="the standby to replicate synchronously")
    yield primary, standby
    primary.stop()
    standby.stop()
    shutil.rmtree(root, ignore_errors=True)


class Site:
    """serve + nginx (and a worker) on the pair: DATABASE_URL names both hosts, read-write sessions only."""

    def __init__(self, primary, standby):
        self.dir = tempfile.mkdtemp(prefix="promptreel-failover-site-")
        self.url = (f"postgresql:///promptreel_failover?host={primary.socket},{standby.socket}"
                    f"&port={primary.port},{standby.port}&user=postgres&target_session_attrs=read-write"
                    f"&connect_timeout=2")
        self.env = {"DATABASE_URL": self.url, "PROMPTREEL_MEDIA_DIR": os.path.join(self.dir, "media"),
                    "PROMPTREEL_REQUEST_STATEMENT_TIMEOUT_MS": "5000"}
        env = {**os.environ, **self.env}
        subprocess.run([os.environ["PROMPTREEL_BIN"], "migrate", "--migrations", os.path.join(ROOT_DIR, "Migrations")],
                       check=True, capture_output=True, env=env, timeout=120)
        script = f"""
            source '{ROOT_DIR}/scripts/lib.sh'
            BIN='{os.environ["PROMPTREEL_BIN"]}' LOCAL='{self.dir}'
            start_app --no-worker || exit 1
            start_nginx {PORT} && echo ready && wait
        """
        self.log = open(os.path.join(self.dir, "run.log"), "w")
        self.proc = subprocess.Popen(["bash", "-c", script], stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     start_new_session=True, env=env)
        assert self.proc.stdout.readline().strip() == "ready", open(os.path.join(self.dir, "run.log")).read()
        self.base = f"http://127.0.0.1:{PORT}"
        self.worker = WorkerProcess(**self.env)

    def stop(self):
        self.worker.stop()
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=20)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def test_failover_to_a_synchronous_standby_loses_nothing_acknowledged(pair):
    primary, standby = pair
    site = Site(primary, standby)
    try:
        run_failover(site, primary, standby)
    finally:
        site.stop()


def run_failover(site, primary, standby):
    # Accounts through the site itself (its own database).
    session = requests.Session()
    tag = uuid.uuid4().hex[:8]
    email = f"failover-{tag}@example.test"
    b = Browser()
    b.s = session
    import conftest
    saved, conftest.BASE = conftest.BASE, site.base
    try:
        b.signup(email)
        token = b.create_token()
    finally:
        conftest.BASE = saved
    auth = {"Authorization": f"Bearer {token}"}
    project = requests.post(site.base + "/api/projects", json={"name": "Failover"}, headers=auth, timeout=10).json()["id"]
    videos = [requests.post(f"{site.base}/api/projects/{project}/videos", headers=auth, timeout=10,
                            json={"title": f"Shot {i}", "final_prompt": f"failover {tag} {i} [sim:seconds=2]"}).json()["id"]
              for i in range(60)]

    outcomes = []  # (time, kind, status, generation id or None)
    lock = threading.Lock()
    stop = threading.Event()

    def record(kind, r, gid=None):
        with lock:
            outcomes.append((time.monotonic(), kind, r if isinstance(r, str) else r.status_code, gid))

    def clicker():
        for video in videos:
            if stop.is_set():
                return
            try:
                r = requests.post(f"{site.base}/api/videos/{video}/generate-sora", json={}, headers=auth, timeout=15)
                gid = r.json().get("generationId") if r.status_code == 200 else None
                if r.status_code not in (200, 503):
                    record("click", f"unexpected {r.status_code}: {r.text[:200]}")
                elif r.status_code == 503:
                    assert r.json()["error"]["code"] in ("database_unavailable", "database_timeout"), r.text
                record("click", r, gid)
            except requests.RequestException as e:
                record("click", f"error {e}")
            time.sleep(0.15)

    def poller():
        while not stop.is_set():
            video = videos[int(time.monotonic() * 10) % len(videos)]
            try:
                r = requests.get(f"{site.base}/api/videos/{video}/sora-status", headers=auth, timeout=15)
                if r.status_code == 503:
                    assert r.json()["error"]["code"] in ("database_unavailable", "database_timeout"), r.text
                record("poll", r)
            except requests.RequestException as e:
                record("poll", f"error {e}")
            time.sleep(0.05)

    threads = [threading.Thread(target=clicker), threading.Thread(target=poller), threading.Thread(target=poller)]
    for t in threads:
        t.start()
    time.sleep(4)
    killed = time.monotonic()
    primary.kill9()
    time.sleep(1)
    as_postgres(pg_bin("pg_ctl"), "-D", standby.data, "-w", "promote")
    promoted = time.monotonic()
    time.sleep(8)
    stop.set()
    for t in threads:
        t.join(timeout=30)

    after = [o for o in outcomes if o[0] > promoted]
    first_ok = min((o[0] for o in after if o[2] == 200), default=None)
    assert first_ok is not None, "nothing answered 200 after the promotion"
    gap = first_ok - promoted
    print(f"\nfailover: primary killed, standby promoted 1.0 s later; first 200 {gap:.2f} s after the promotion; "
          f"{sum(1 for o in outcomes if o[2] == 503)} answers were 503, "
          f"{sum(1 for o in outcomes if isinstance(o[2], str))} failed, of {len(outcomes)}")
    assert gap < 60
    odd = [o for o in outcomes if isinstance(o[2], str) and not o[2].startswith("error")]
    assert not odd, odd[:5]
    # Every click answered 200 has its generation on the new primary, which completes; one create each.
    clicked = [o[3] for o in outcomes if o[1] == "click" and o[2] == 200]
    assert clicked
    ids = ",".join(map(str, clicked))
    assert standby.psql(f"SELECT count(*) FROM generations WHERE id IN ({ids})", "promptreel_failover") == str(len(clicked))
    wait_until(lambda: standby.psql(f"SELECT count(*) FROM generations WHERE id IN ({ids}) AND status = 'completed'",
                                    "promptreel_failover") == str(len(clicked)),
               timeout=120, what="every acknowledged click's generation to complete")
    creates = requests.get(SIM + "/_sim/creates", timeout=10).json()["creates"]
    prompts = [c.get("prompt", "") for c in creates if f"failover {tag} " in c.get("prompt", "")]
    assert len(prompts) == len(set(prompts)), "a click made two jobs at the provider"
    assert len(prompts) >= len(clicked)
    # What the site answers now agrees with the new primary (nothing stale from before the failover).
    for video in videos:
        status = requests.get(f"{site.base}/api/videos/{video}/sora-status", headers=auth, timeout=10)
        row = standby.psql(f"SELECT status FROM generations WHERE video_id = {video} ORDER BY id DESC LIMIT 1",
                           "promptreel_failover")
        if row:
            assert status.status_code == 200 and status.json()["status"] == row, (video, status.text, row)
