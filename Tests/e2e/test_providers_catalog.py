"""Issue 24, part 1 (providers as data), through nginx: a second provider (a second simulator) added with the
CLI, a model on it served under another name, its generations sent there and completed, the key named by its
environment variable and never printed or logged, and a disabled provider's models out of the catalog."""
import os
import subprocess
import time

import requests

from conftest import SIM, Browser, SimulatorProcess, WorkerProcess, api, sql, wait_until
from test_generations import generate, wait_status


def promptreel(*args, **env):
    return subprocess.run([os.environ["PROMPTREEL_BIN"], *args], capture_output=True, text=True,
                          env={**os.environ, **env})


def held_by(sim, job):
    """Whether that simulator knows the job."""
    r = requests.get(f"{sim}/v1/videos/{job}", headers={"Authorization": "Bearer sim-test-key"}, timeout=5)
    return r.status_code == 200


def test_a_model_on_a_second_provider(session_worker):
    second = SimulatorProcess("--job-seconds", "1")
    model = f"wan-test-{os.getpid()}"
    name = f"gpu{os.getpid()}"
    try:
        # Refused: a key pasted where its variable's name goes, a bad URL, a bad name, an unknown dialect.
        for bad, why in [(["--api-key-env", "sk-abc123"], "the NAME of the environment variable"),
                         (["--api-key-env", "GPU_KEY", "--base-url", "ftp://x"], "--base-url"),
                         (["--api-key-env", "GPU_KEY", "--dialect", "grpc"], "--dialect")]:
            args = ["--base-url", second.url + "/v1"] if "--base-url" not in bad else []
            r = promptreel("providers", "add", "--name", name, *args, *bad)
            assert r.returncode != 0 and why in r.stderr, (bad, r.stderr)
        r = promptreel("providers", "add", "--name", "Bad Name", "--base-url", second.url, "--api-key-env", "K")
        assert r.returncode != 0
        r = promptreel("providers", "add", "--name", name, "--base-url", second.url + "/v1", "--api-key-env", "GPU_TEST_KEY")
        assert r.returncode == 0, r.stderr
        assert promptreel("providers", "add", "--name", name, "--base-url", second.url, "--api-key-env", "X").returncode != 0
        r = promptreel("models", "add", "--name", model, "--display-name", "Wan (test)", "--duration", "4",
                       "--price", "720p=0.05", "--size", "16:9=720p=1280x720", "--provider", name,
                       "--provider-model", "sora-2")
        assert r.returncode == 0, r.stderr
        listing = promptreel("providers", "list", GPU_TEST_KEY="sim-test-key").stdout
        line = next(l for l in listing.splitlines() if l.startswith(name + "\t"))
        assert "key=$GPU_TEST_KEY (set here)" in line and f"models={model}" in line and "sim-test-key" not in listing
        # A worker that holds the key sends the model's generations to the second provider.
        session_worker["worker"].stop()
        worker = WorkerProcess(GPU_TEST_KEY="sim-test-key")
        try:
            b = Browser()
            b.signup()
            token = b.create_token()
            project = api("POST", "/api/projects", token, json={"name": "Two providers"}).json()["id"]
            video = api("POST", f"/api/projects/{project}/videos", token,
                        json={"title": "Wan", "final_prompt": "A paper lantern [sim:seconds=0.5]"}).json()["id"]
            r = generate(token, video, {"model": model, "duration": 4, "aspect_ratio": "16:9", "resolution": "720p"},
                         expectedCost=0.2)
            assert r.status_code == 200, r.text
            done, _ = wait_status(token, video, "completed")
            generation = api("GET", f"/api/generations/{done['generationId']}", token).json()
            assert generation["model"] == model and generation["settings"]["api"]["model"] == "sora-2"
            # The job is the second simulator's, not the first's.
            assert held_by(second.url, generation["providerJobId"]) and not held_by(SIM, generation["providerJobId"])
            # The default provider still serves sora-2 on the first simulator.
            r = generate(token, video, {"model": "sora-2", "duration": 4}, expectedCost=0.4)
            assert r.status_code == 200, r.text
            done, _ = wait_status(token, video, "completed")
            job = api("GET", f"/api/generations/{done['generationId']}", token).json()["providerJobId"]
            assert held_by(SIM, job) and not held_by(second.url, job)
            assert "sim-test-key" not in open(worker.log_path).read()
            # Its own breaker: the second provider failing pauses only its models.
            second.fault("create", "503", count=5)
            r = generate(token, video, {"model": model, "duration": 4}, expectedCost=0.2)
            assert r.status_code == 200, r.text
            wait_until(lambda: api("GET", "/healthz").json()["providers"].get(name) == "degraded", timeout=60,
                       what="the second provider's breaker to open")
            health = api("GET", "/healthz").json()
            assert health["provider"] == "degraded" and health["providers"]["default"] == "ok", health
            assert f"provider {name}" in b.get("/dashboard").text
            other = api("POST", f"/api/projects/{project}/videos", token,
                        json={"title": "Sora", "final_prompt": "A kite [sim:seconds=0.5]"}).json()["id"]
            assert generate(token, other, {"model": "sora-2", "duration": 4}, expectedCost=0.4).status_code == 200
            wait_status(token, other, "completed")  # the default provider is not paused
            sql(f"UPDATE provider_health SET consecutive_failures = 0, pause_seconds = 0, paused_until = NULL WHERE provider = '{name}'")
            wait_status(token, video, "completed")
            assert api("GET", "/healthz").json()["providers"][name] == "ok"
            # Disabled: its models leave the catalog; a click on one is refused.
            assert promptreel("providers", "disable", "--name", name).returncode == 0
            assert model not in {m["name"] for m in api("GET", "/api/models", token).json()["models"]}
            r = generate(token, video, {"model": model, "duration": 4})
            assert r.status_code == 422, r.text
            assert promptreel("providers", "enable", "--name", name).returncode == 0
            assert model in {m["name"] for m in api("GET", "/api/models", token).json()["models"]}
            for page in ["/dashboard", f"/dashboard/videos/{video}/generate"]:
                assert "sim-test-key" not in b.get(page).text and "GPU_TEST_KEY" not in b.get(page).text
        finally:
            worker.stop()
            session_worker["worker"] = WorkerProcess()
        # The default provider follows OPENAI_BASE_URL (every start of a worker writes it).
        default = next(l for l in promptreel("providers", "list").stdout.splitlines() if l.startswith("default\t"))
        assert default.split("\t")[1] == SIM + "/v1"
        assert promptreel("providers", "set", "--name", "default", "--base-url", "https://x.example").returncode != 0
    finally:
        promptreel("models", "disable", "--name", model)
        promptreel("providers", "disable", "--name", name)
        second.stop()


def test_a_models_limit_of_one_holds_with_two_workers(session_worker):
    model = f"one-at-a-time-{os.getpid()}"
    r = promptreel("models", "add", "--name", model, "--display-name", "One at a time", "--duration", "4",
                   "--price", "720p=0.10", "--size", "16:9=720p=1280x720", "--provider-model", "sora-2",
                   "--max-in-flight", "1")
    assert r.returncode == 0, r.stderr
    session_worker["worker"].stop()
    workers = [WorkerProcess(), WorkerProcess()]
    try:
        b = Browser()
        b.signup()
        token = b.create_token()
        project = api("POST", "/api/projects", token, json={"name": "Limit"}).json()["id"]
        ids = [api("POST", f"/api/projects/{project}/videos", token,
                   json={"title": f"Shot {i}", "final_prompt": f"Shot {i} [sim:seconds=1]"}).json()["id"] for i in range(3)]
        r = api("POST", f"/api/projects/{project}/generate", token,
                json={"settings": {"model": model, "duration": 4, "aspect_ratio": "16:9", "resolution": "720p"}})
        assert r.status_code == 200, r.text
        batch = r.json()["batchId"]
        most = 0
        notes = set()
        deadline = time.time() + 90
        while api("GET", f"/api/batches/{batch}", token).json()["status"] != "finished":
            assert time.time() < deadline, "the three shots did not finish"
            most = max(most, int(sql(f"SELECT count(*) FROM generations WHERE model = '{model}' "
                                     "AND phase IN ('submitting', 'submitted')")))
            for video in ids:
                s = api("GET", f"/api/videos/{video}/sora-status", token).json()
                if s["status"] == "queued" and s.get("message", "").startswith("Waiting for a free slot"):
                    notes.add(s["message"])
            time.sleep(0.05)
        assert most == 1  # never two at that model, though two workers had free threads
        # Waiting shots say what they wait for, in the queue's order.
        assert f"Waiting for a free slot on {model}: 1 at a time, 1 ahead of you." in notes, notes
        assert f"Waiting for a free slot on {model}: 1 at a time, next in line." in notes, notes
        assert api("GET", f"/api/batches/{batch}", token).json()["counts"] == {"completed": 3}
    finally:
        for w in workers:
            w.stop()
        session_worker["worker"] = WorkerProcess()
        promptreel("models", "disable", "--name", model)
