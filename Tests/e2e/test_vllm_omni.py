"""Issue 24, part 2: a self-hosted model in the vLLM-Omni dialect (a second simulator started with `--dialect
vllm-omni`) beside the default provider, and the same model reached through a gateway in the OpenAI dialect
(LiteLLM's hosted_vllm, `[sim:dialect=litellm-vllm]` on the default simulator)."""
import os
import subprocess
from contextlib import contextmanager

import requests

from conftest import SIM, Browser, SimulatorProcess, WorkerProcess, api, sql, wait_until
from test_generations import generate, wait_status

SERVED = "Wan-AI/Wan2.2-T2V-A14B-Diffusers"
PARAMETERS = "seed,negative_prompt,num_inference_steps,guidance_scale"


def promptreel(*args, **env):
    r = subprocess.run([os.environ["PROMPTREEL_BIN"], *args], capture_output=True, text=True,
                       env={**os.environ, **env})
    return r


def creates(sim):
    return requests.get(f"{sim}/_sim/creates", timeout=5).json()["creates"]


def add_wan(name, provider, provider_model):
    r = promptreel("models", "add", "--name", name, "--display-name", "Wan 2.2", "--duration", "2", "--duration", "5",
                   "--price", "480p=0.02", "--size", "16:9=480p=832x480", "--size", "9:16=480p=480x832",
                   "--no-supports-remix", "--provider", provider, "--provider-model", provider_model,
                   "--fps", "16", "--parameters", PARAMETERS)
    assert r.returncode == 0, r.stderr


@contextmanager
def gpu_box(session_worker, name, *provider_args, job_seconds="1"):
    """A vLLM-Omni simulator as provider NAME with a Wan model on it, and a worker holding its key in place of the
    session's; yields (simulator, model, worker) and takes all of it away again."""
    gpu = SimulatorProcess("--dialect", "vllm-omni", "--job-seconds", job_seconds, "--served-model", SERVED,
                           "--api-key", "gpu-secret-key-123")
    provider, model = f"{name}{os.getpid()}", f"wan-{name}-{os.getpid()}"
    worker = None
    try:
        r = promptreel("providers", "add", "--name", provider, "--base-url", gpu.url + "/v1", "--dialect", "vllm-omni",
                       "--api-key-env", "GPU_BOX_KEY", *provider_args)
        assert r.returncode == 0, r.stderr
        add_wan(model, provider, SERVED)
        session_worker["worker"].stop()
        worker = WorkerProcess(GPU_BOX_KEY="gpu-secret-key-123")
        yield gpu, model, worker
    finally:
        if worker:
            worker.stop()
            session_worker["worker"] = WorkerProcess()
        promptreel("models", "disable", "--name", model)
        promptreel("providers", "disable", "--name", provider)
        gpu.stop()


def video_with(token, prompt):
    project = api("POST", "/api/projects", token, json={"name": "GPU box"}).json()["id"]
    return api("POST", f"/api/projects/{project}/videos", token,
               json={"title": "Wan", "final_prompt": prompt}).json()["id"]


def test_a_vllm_omni_model_beside_the_default_provider(session_worker):
    with gpu_box(session_worker, "gpubox", "--max-in-flight", "1") as (gpu, model, worker):
        # Out of range or unknown parameters are refused by the CLI, naming the option.
        bad = promptreel("models", "set", "--name", model, "--parameters", "seed,cfg")
        assert bad.returncode != 0 and "--parameters" in bad.stderr
        b = Browser()
        b.signup()
        token = b.create_token()
        catalog = {m["name"]: m for m in api("GET", "/api/models", token).json()["models"]}
        assert catalog[model]["fps"] == 16 and catalog[model]["parameters"] == PARAMETERS.split(",")
        assert catalog["sora-2"]["parameters"] == [] and catalog["sora-2"]["fps"] is None
        video = video_with(token, "A lantern festival at dusk [sim:seconds=0.5]")
        # The settings page offers the model's parameters only for it.
        page = b.get(f"/dashboard/videos/{video}/generate?model={model}").text
        assert 'name="negative_prompt"' in page and 'name="guidance_scale"' in page and "832x480" in page
        assert 'name="negative_prompt"' not in b.get(f"/dashboard/videos/{video}/generate?model=sora-2").text
        # A parameter the model does not take, or out of range: 422 naming it.
        for settings, field in [({"model": "sora-2", "seed": 3}, "seed"),
                                ({"model": model, "num_inference_steps": 500}, "num_inference_steps"),
                                ({"model": model, "guidance_scale": 20.5}, "guidance_scale"),
                                ({"model": model, "seed": -1}, "seed"),
                                ({"model": model, "seed": 1e30}, "seed")]:
            r = generate(token, video, settings)
            assert r.status_code == 422 and field in r.text, (settings, r.text)
        # Two takes with a seed: 42 and 43, sent as multipart width/height/num_frames/fps.
        settings = {"model": model, "duration": 5, "aspect_ratio": "16:9", "resolution": "480p", "takes": 2,
                    "seed": 42, "negative_prompt": "blurry, text", "num_inference_steps": 30,
                    "guidance_scale": "5.5"}
        r = generate(token, video, settings, expectedCost=0.2)
        assert r.status_code == 200, r.text
        wait_until(lambda: all(g["status"] == "completed" for g in
                               api("GET", f"/api/videos/{video}/generations", token).json()["generations"]),
                   timeout=60, what="both takes to complete")
        takes = sorted(api("GET", f"/api/videos/{video}/generations", token).json()["generations"],
                       key=lambda g: g["id"])
        sent = creates(gpu.url)
        assert len(sent) == 2
        for g, fields, seed in zip(takes, sent, [42, 43]):
            assert g["settings"]["seed"] == seed and g["settings"]["api"]["num_frames"] == 80
            assert fields["seed"] == str(seed) and fields["width"] == "832" and fields["height"] == "480"
            assert fields["num_frames"] == "80" and fields["fps"] == "16" and fields["model"] == SERVED
            assert fields["negative_prompt"] == "blurry, text" and fields["num_inference_steps"] == "30"
            assert fields["guidance_scale"] == "5.5" and "size" not in fields and "seconds" not in fields
            assert g["gpuSeconds"] == 0.5 and g["thumbnailSource"] == "local", g
            assert g["providerJobId"].startswith("video_gen_")
        # The default provider's model completes beside it, on the first simulator.
        sora = video_with(token, "A kite over the dunes [sim:seconds=0.5]")
        assert generate(token, sora, {"model": "sora-2", "duration": 4}, expectedCost=0.4).status_code == 200
        done, _ = wait_status(token, sora, "completed")
        assert not api("GET", f"/api/generations/{done['generationId']}", token).json()["providerJobId"].startswith(
            "video_gen_")
        history = b.get(f"/dashboard/videos/{video}").text
        assert "seed 42" in history and "30 steps" in history and "16 fps" in history
        details = b.get(f"/dashboard/generations/{takes[0]['id']}").text
        assert "GPU time" in details and "blurry, text" in details
        # "Same seed as take N" is offered, and chosen it sends that seed again.
        page = b.get(f"/dashboard/videos/{video}/generate?model={model}").text
        assert "same seed as take 2 (43)" in page
        # Without a seed each take gets a recorded random one.
        r = generate(token, video, {"model": model, "duration": 2, "aspect_ratio": "9:16", "resolution": "480p"},
                     expectedCost=0.04)
        assert r.status_code == 200, r.text
        done, _ = wait_status(token, video, "completed")
        g = api("GET", f"/api/generations/{done['generationId']}", token).json()
        assert creates(gpu.url)[-1]["seed"] == str(g["settings"]["seed"])
        assert creates(gpu.url)[-1]["width"] == "480" and creates(gpu.url)[-1]["num_frames"] == "32"
        # A failed job (its retrieve is a 500 with the job as body) ends failed with its error, not billed.
        failing = video_with(token, "A storm [sim:fail=out_of_memory] [sim:seconds=0.4]")
        assert generate(token, failing, {"model": model, "duration": 2}, expectedCost=0.04).status_code == 200
        failed, _ = wait_status(token, failing, "failed")
        g = api("GET", f"/api/generations/{failed['generationId']}", token).json()
        assert g["errorCode"] == "out_of_memory" and "out_of_memory" in g["error"] and not g["possiblyBilled"], g
        assert g["cost"] == 0
        # A restarted GPU box forgets its jobs: the generation ends as lost, possibly billed.
        lost = video_with(token, "A glacier [sim:seconds=60]")
        assert generate(token, lost, {"model": model, "duration": 2}, expectedCost=0.04).status_code == 200
        wait_until(lambda: sql(f"SELECT provider_job_id IS NOT NULL FROM generations WHERE video_id = {lost}") == "t",
                   timeout=20, what="the job to be sent")
        assert requests.post(gpu.url + "/_sim/restart", timeout=5).status_code == 200
        gone, _ = wait_status(token, lost, "failed")
        g = api("GET", f"/api/generations/{gone['generationId']}", token).json()
        assert g["errorCode"] == "not_found" and "lost this job" in g["error"] and g["possiblyBilled"], g
        assert "lost this job" in b.get(f"/dashboard/generations/{g['id']}").text
        # A refusal in FastAPI's words ({"detail": …}) reaches the user: the box serves another model.
        assert promptreel("models", "set", "--name", model, "--provider-model", "Wan-AI/other").returncode == 0
        refused = video_with(token, "A mismatch")
        assert generate(token, refused, {"model": model, "duration": 2}, expectedCost=0.04).status_code == 200
        failed, _ = wait_status(token, refused, "failed")
        g = api("GET", f"/api/generations/{failed['generationId']}", token).json()
        assert "Model mismatch" in g["error"] and not g["possiblyBilled"], g
        # The key: never in a page, an answer or a log line.
        for text in [b.get(f"/dashboard/videos/{video}").text, b.get("/dashboard").text,
                     api("GET", "/api/models", token).text, open(worker.log_path).read(),
                     promptreel("providers", "list", GPU_BOX_KEY="gpu-secret-key-123").stdout]:
            assert "gpu-secret-key-123" not in text


def test_the_same_model_through_a_gateway(session_worker):
    """LiteLLM's hosted_vllm: the OpenAI dialect with fps/seed sent along, long ids, and a failed job as a 500
    on every poll — read from the embedded job, or ended after a bounded number of 5xx polls."""
    model = f"wan-gw-{os.getpid()}"
    add_wan(model, "default", "hosted_vllm/" + SERVED)
    session_worker["worker"].stop()
    worker = WorkerProcess(PROMPTREEL_POLL_ERROR_LIMIT=3, PROMPTREEL_GENERATION_TIMEOUT_SECONDS=60)
    try:
        b = Browser()
        b.signup()
        token = b.create_token()
        video = video_with(token, "A tram in the rain [sim:dialect=litellm-vllm] [sim:seconds=0.5]")
        r = generate(token, video, {"model": model, "duration": 5, "seed": 7, "negative_prompt": "watermark"},
                     expectedCost=0.1)
        assert r.status_code == 200, r.text
        done, _ = wait_status(token, video, "completed")
        g = api("GET", f"/api/generations/{done['generationId']}", token).json()
        assert len(g["providerJobId"]) > 100 and g["videoUrl"]
        fields = creates(SIM)[-1]
        assert fields["size"] == "832x480" and fields["seconds"] == "5" and fields["fps"] == "16"
        assert fields["seed"] == "7" and fields["negative_prompt"] == "watermark"
        assert fields["model"] == "hosted_vllm/" + SERVED and "num_frames" not in fields
        # A failed job: a 500 on every poll with the upstream job inside; it ends failed with its message at once.
        failing = video_with(token, "A flood [sim:dialect=litellm-vllm] [sim:fail=nsfw_detected] [sim:seconds=0.4]")
        assert generate(token, failing, {"model": model, "duration": 2}, expectedCost=0.04).status_code == 200
        failed, _ = wait_status(token, failing, "failed")
        g = api("GET", f"/api/generations/{failed['generationId']}", token).json()
        assert g["errorCode"] == "nsfw_detected" and "nsfw_detected" in g["error"] and not g["possiblyBilled"], g
        # A persistent 500 with no job in it: failed, possibly billed, after PROMPTREEL_POLL_ERROR_LIMIT polls.
        opaque = video_with(token, "A bridge [sim:dialect=litellm-vllm] [sim:seconds=0.4]")
        requests.post(SIM + "/_sim/faults", json={"endpoint": "retrieve", "kind": "500", "count": 1000}, timeout=5)
        try:
            assert generate(token, opaque, {"model": model, "duration": 2}, expectedCost=0.04).status_code == 200
            failed, _ = wait_status(token, opaque, "failed")
            g = api("GET", f"/api/generations/{failed['generationId']}", token).json()
            assert g["errorCode"] == "upstream_error" and g["possiblyBilled"] and g["cost"] == 0.04, g
            assert "3 status checks in a row" in g["error"] and "litellm" not in g["error"], g["error"]
        finally:
            requests.post(SIM + "/_sim/reset", timeout=5)
        # A transient 500 between normal answers does not end a job.
        calm = video_with(token, "A harbour [sim:dialect=litellm-vllm] [sim:seconds=1.5]")
        assert generate(token, calm, {"model": model, "duration": 2}, expectedCost=0.04).status_code == 200
        wait_until(lambda: sql(f"SELECT provider_job_id IS NOT NULL FROM generations WHERE video_id = {calm}") == "t",
                   timeout=20, what="the job to be sent")
        requests.post(SIM + "/_sim/faults", json={"endpoint": "retrieve", "kind": "500", "count": 4}, timeout=5)
        wait_status(token, calm, "completed")
    finally:
        worker.stop()
        session_worker["worker"] = WorkerProcess()
        promptreel("models", "disable", "--name", model)


def test_gpu_second_pricing_confirms_a_ceiling_and_records_the_measured_time(session_worker):
    with gpu_box(session_worker, "gpuprice", job_seconds="0.5") as (gpu, model, worker):
        half = promptreel("models", "price", "--name", model, "--resolution", "480p", "--usd-per-gpu-second", "0.01")
        assert half.returncode != 0 and "--max-gpu-seconds-per-second" in half.stderr
        r = promptreel("models", "price", "--name", model, "--resolution", "480p", "--usd-per-gpu-second", "0.01",
                       "--max-gpu-seconds-per-second", "2")
        assert r.returncode == 0 and "up to $0.0200/s" in r.stdout, r.stdout + r.stderr
        b = Browser()
        b.signup()
        token = b.create_token()
        estimate = api("GET", f"/api/models/estimate?model={model}&duration=5", token).json()
        assert estimate["estimatedCost"] == 0.1 and estimate["gpuPricing"] == {
            "usdPerGpuSecond": 0.01, "maxGpuSecondsPerSecond": 2}, estimate
        assert api("GET", "/api/models/estimate?model=sora-2", token).json()["gpuPricing"] is None
        cases = [("[sim:gpu=3.3]", 3.3, 0.04),  # measured: 3.3 GPU-s × $0.01 = $0.033, rounded up to the cent
                 ("[sim:gpu=50]", 50, 0.1),  # more than the ceiling: never more than confirmed
                 ("[sim:gpu=1e400]", None, 0.1)]  # nonsense is not believed: the ceiling
        videos = []
        for directive, seconds, cost in cases:
            video = video_with(token, f"A night market {directive}")
            videos.append(video)
            page = b.get(f"/dashboard/videos/{video}/generate?model={model}&duration=5").text
            assert "Up to <strong>$0.10</strong>" in page and "per GPU-second" in page
            r = generate(token, video, {"model": model, "duration": 5}, expectedCost=0.1)
            assert r.status_code == 200, r.text
            done, _ = wait_status(token, video, "completed")
            g = api("GET", f"/api/generations/{done['generationId']}", token).json()
            assert g["estimatedCost"] == 0.1 and g["usdPerGpuSecond"] == 0.01, g
            assert g["gpuSeconds"] == seconds and g["cost"] == cost and g["actualCost"] == cost, (directive, g)
        assert "measured: 3.300 GPU-seconds × $0.01" in b.get(f"/dashboard/videos/{videos[0]}").text
        assert "GPU time reported by self-hosted providers: <strong>53.300 GPU-seconds" in b.get("/usage").text
