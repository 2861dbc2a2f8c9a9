"""The simulator's gateway dialects, late and dropped answers, and broken downloads, over real HTTP.
Each test module fixture starts its own promptreel-sim (see SimulatorProcess in conftest.py)."""
import io
import os
import time

import pytest
import requests
from PIL import Image

from conftest import ROOT_DIR, SimulatorProcess

AUTH = {"Authorization": "Bearer sim-test-key"}
MP4 = open(os.path.join(ROOT_DIR, "Sources/promptreel-sim/Fixtures/video.mp4"), "rb").read()
ENVELOPE_KEYS = {"message", "type", "param", "code"}


@pytest.fixture(scope="module")
def openai_sim():
    sim = SimulatorProcess("--job-seconds", "1")
    yield sim
    assert sim.stop() == 0


@pytest.fixture(scope="module")
def veo_sim():
    sim = SimulatorProcess("--job-seconds", "1", "--dialect", "litellm-veo")
    yield sim
    assert sim.stop() == 0


@pytest.fixture(scope="module")
def runway_sim():
    sim = SimulatorProcess("--job-seconds", "1.5", "--dialect", "litellm-runway")
    yield sim
    assert sim.stop() == 0


@pytest.fixture
def sim(openai_sim):
    """The module's OpenAI-dialect simulator, with no jobs, faults or counts left from other tests."""
    requests.post(openai_sim.url + "/_sim/reset", timeout=5).raise_for_status()
    return openai_sim


def call(sim, method, path, timeout=10, **kw):
    return requests.request(method, sim.url + "/v1" + path, headers=AUTH, timeout=timeout, **kw)


def png(size=(1280, 720)):
    buf = io.BytesIO()
    Image.new("RGB", size, (20, 90, 160)).save(buf, format="PNG")
    return buf.getvalue()


def create(sim, prompt="A heron at dusk", timeout=10, image=None):
    fields = {"prompt": prompt, "model": "sora-2", "seconds": "4", "size": "1280x720"}
    if image is None:
        return call(sim, "POST", "/videos", timeout=timeout, json=fields)
    return call(sim, "POST", "/videos", timeout=timeout, data=fields,
                files={"input_reference": ("frame.png", image, "image/png")})


def created(sim, prompt="A heron at dusk", image=None):
    r = create(sim, prompt, image=image)
    assert r.status_code == 200, r.text
    return r.json()


def wait_for(sim, video_id, status, timeout=15):
    deadline = time.time() + timeout
    while True:
        video = call(sim, "GET", f"/videos/{video_id}").json()
        if video["status"] == status:
            return video
        assert time.time() < deadline, video
        time.sleep(0.1)


def assert_envelope(r, status):
    assert r.status_code == status, r.text
    assert set(r.json()["error"]) == ENVELOPE_KEYS, r.text
    return r.json()["error"]


# Dialects

def test_veo_processing_then_completed_without_progress_times_or_poll_hint(veo_sim):
    video = created(veo_sim)
    assert video["status"] == "processing" and "progress" not in video
    assert video["created_at"] is None and video["completed_at"] is None and video["expires_at"] is None
    assert len(video["id"]) > 200 and video["id"].endswith("==")
    r = call(veo_sim, "GET", f"/videos/{video['id']}")
    assert r.status_code == 200 and "openai-poll-after-ms" not in r.headers
    assert r.json()["status"] == "processing" and "progress" not in r.json()
    done = wait_for(veo_sim, video["id"], "completed")
    assert "progress" not in done
    assert done["created_at"] is None and done["completed_at"] is None and done["expires_at"] is None
    failed = wait_for(veo_sim, created(veo_sim, "[sim:fail=moderation_blocked][sim:seconds=0.4] x")["id"], "failed")
    assert failed["error"]["code"] == "moderation_blocked" and "progress" not in failed


def test_veo_thumbnail_and_spritesheet_are_the_mp4(veo_sim):
    video = created(veo_sim, "[sim:seconds=0.3] bytes")
    wait_for(veo_sim, video["id"], "completed")
    for variant in ("video", "thumbnail", "spritesheet"):
        r = call(veo_sim, "GET", f"/videos/{video['id']}/content", params={"variant": variant})
        assert r.status_code == 200 and r.headers["Content-Type"] == "video/mp4" and r.content == MP4, variant


def test_gateway_dialects_refuse_the_list(veo_sim, runway_sim):
    for sim in (veo_sim, runway_sim):
        r = call(sim, "GET", "/videos", params={"limit": 5})
        error = assert_envelope(r, 400)
        assert "custom_llm_provider" in error["message"] and "list videos" in error["message"]
        assert error["code"] == "400"


def test_runway_created_at_zero_then_real_with_progress(runway_sim):
    video = created(runway_sim, image=png())
    assert video["created_at"] == 0 and video["status"] == "queued" and video["progress"] == 0
    r = call(runway_sim, "GET", f"/videos/{video['id']}")
    assert "openai-poll-after-ms" not in r.headers
    assert r.json()["created_at"] > 1_700_000_000
    running = wait_for(runway_sim, video["id"], "in_progress")
    assert 0 < running["progress"] < 100
    done = wait_for(runway_sim, video["id"], "completed")
    assert done["progress"] == 100 and done["completed_at"] >= done["created_at"] > 0
    r = call(runway_sim, "GET", f"/videos/{video['id']}/content", params={"variant": "thumbnail"})
    assert r.status_code == 200 and r.headers["Content-Type"] == "video/mp4" and r.content == MP4


def test_dialect_directive_changes_one_job_only(sim):
    veo = created(sim, "[sim:dialect=litellm-veo] one job as Veo")
    plain = created(sim, "an ordinary job")
    assert veo["status"] == "processing" and "progress" not in veo and veo["created_at"] is None
    assert plain["status"] == "queued" and plain["progress"] == 0 and plain["created_at"] > 0
    assert "openai-poll-after-ms" not in call(sim, "GET", f"/videos/{veo['id']}").headers
    assert "openai-poll-after-ms" in call(sim, "GET", f"/videos/{plain['id']}").headers
    # The list follows the global dialect (openai): served, each job in its own shape.
    listed = {v["id"]: v for v in call(sim, "GET", "/videos").json()["data"]}
    assert listed[veo["id"]]["status"] == "processing" and "progress" in listed[plain["id"]]
    runway = created(sim, "[sim:dialect=litellm-runway] as Runway", image=png())
    assert runway["created_at"] == 0 and runway["progress"] == 0


def assert_litellm_refusal(r):
    """LiteLLM's own envelope: a 400 with `type` null and the status as a string `code`."""
    error = assert_envelope(r, 400)
    assert error["type"] is None and error["code"] == "400" and error["message"].startswith("litellm.BadRequestError: ")
    return error


@pytest.mark.parametrize("dialect,provider", [("litellm-veo", "gemini"), ("litellm-runway", "runwayml")])
def test_gateway_dialects_refuse_remix_and_make_nothing(sim, dialect, provider):
    image = png() if dialect == "litellm-runway" else None
    source = created(sim, f"[sim:dialect={dialect}][sim:seconds=0.2] source", image=image)
    wait_for(sim, source["id"], "completed")
    r = call(sim, "POST", f"/videos/{source['id']}/remix", json={"prompt": "at night"})
    error = assert_litellm_refusal(r)
    assert "remix is not supported" in error["message"].lower() and f"'{provider}'" in error["message"], error
    assert "OpenAI and Azure" in error["message"] and error["param"] is None
    stats = sim.stats()
    assert stats["remix"] == 1 and stats["jobs"] == 1  # the call arrived; no job was made
    # Even with a prompt directive asking for OpenAI: the source job's dialect decides.
    r = call(sim, "POST", f"/videos/{source['id']}/remix", json={"prompt": "[sim:dialect=openai] at night"})
    assert_litellm_refusal(r)
    assert sim.stats()["jobs"] == 1
    # An unknown id is still a 404, in either dialect.
    assert_envelope(call(sim, "POST", "/videos/video_missing/remix", json={"prompt": "x"}), 404)


def test_gateway_simulators_refuse_remix_of_their_jobs(veo_sim, runway_sim):
    for sim, image in ((veo_sim, None), (runway_sim, png())):
        source = created(sim, "[sim:seconds=0.2] source", image=image)
        wait_for(sim, source["id"], "completed")
        jobs = sim.stats()["jobs"]
        assert_litellm_refusal(call(sim, "POST", f"/videos/{source['id']}/remix", json={"prompt": "again"}))
        assert sim.stats()["jobs"] == jobs


def test_openai_job_remixes_even_in_a_gateway_simulator(veo_sim):
    source = created(veo_sim, "[sim:dialect=openai][sim:seconds=0.2] an OpenAI job")
    wait_for(veo_sim, source["id"], "completed")
    r = call(veo_sim, "POST", f"/videos/{source['id']}/remix", json={"prompt": "again"})
    assert r.status_code == 200, r.text
    assert r.json()["remixed_from_video_id"] == source["id"]


def test_openai_dialect_still_remixes(sim):
    source = created(sim, "[sim:seconds=0.2] source")
    wait_for(sim, source["id"], "completed")
    r = call(sim, "POST", f"/videos/{source['id']}/remix", json={"prompt": "at night"})
    assert r.status_code == 200, r.text
    assert r.json()["remixed_from_video_id"] == source["id"] and r.json()["status"] == "queued"
    assert sim.stats()["jobs"] == 2


def test_runway_needs_an_input_image(runway_sim, sim):
    for target, prompt in ((runway_sim, "no picture"), (sim, "[sim:dialect=litellm-runway] no picture")):
        jobs = target.stats()["jobs"]
        error = assert_litellm_refusal(create(target, prompt))
        assert error["param"] == "input_reference" and "input image" in error["message"] and "required" in error["message"]
        assert target.stats()["jobs"] == jobs
        # With an image of the requested size it is taken; another size is refused as before.
        assert created(target, prompt, image=png())["status"] == "queued"
        assert target.stats()["jobs"] == jobs + 1
        assert_envelope(create(target, prompt, image=png((640, 480))), 400)
    # Veo and OpenAI make videos from text alone.
    assert created(sim, "[sim:dialect=litellm-veo] text only")["status"] == "processing"
    assert created(sim, "text only")["status"] == "queued"


# Faults

@pytest.mark.parametrize("kind,status", [("400", 400), ("502", 502), ("504", 504)])
def test_error_faults_make_no_job(sim, kind, status):
    sim.fault("create", kind)
    error = assert_envelope(create(sim), status)
    assert error["message"]
    assert sim.stats()["jobs"] == 0
    assert create(sim).status_code == 200 and sim.stats()["jobs"] == 1


def test_hang_still_makes_no_job(sim):
    sim.fault("create", "hang", hang_seconds=0.5)
    started = time.time()
    assert_envelope(create(sim), 504)
    assert time.time() - started >= 0.5
    stats = sim.stats()
    assert stats["create"] == 1 and stats["jobs"] == 0


def test_late_create_makes_the_job_but_the_answer_comes_too_late(sim):
    sim.fault("create", "late", hang_seconds=3)
    with pytest.raises(requests.exceptions.ReadTimeout):
        create(sim, "[sim:seconds=0.5] late", timeout=1)
    stats = sim.stats()
    assert stats["jobs"] == 1 and stats["create"] == 1
    listed = call(sim, "GET", "/videos").json()["data"]
    assert len(listed) == 1 and listed[0]["prompt"] == "[sim:seconds=0.5] late"
    wait_for(sim, listed[0]["id"], "completed")


def test_late_answer_does_arrive_after_hang_seconds(sim):
    sim.fault("create", "late", hang_seconds=1)
    started = time.time()
    r = create(sim, timeout=10)
    assert r.status_code == 200 and r.json()["object"] == "video"
    assert time.time() - started >= 1
    assert sim.stats()["jobs"] == 1


def test_drop_create_makes_the_job_and_closes_without_an_answer(sim):
    sim.fault("create", "drop")
    with pytest.raises(requests.exceptions.ConnectionError) as raised:
        create(sim, "[sim:seconds=0.3] dropped")
    assert "without response" in str(raised.value) or "aborted" in str(raised.value).lower(), raised.value
    assert sim.stats()["jobs"] == 1
    listed = call(sim, "GET", "/videos").json()["data"]
    assert [v["prompt"] for v in listed] == ["[sim:seconds=0.3] dropped"]
    # The next call is answered normally.
    assert create(sim).status_code == 200 and sim.stats()["jobs"] == 2


def test_drop_remix_makes_the_remix(sim):
    source = created(sim, "[sim:seconds=0.2] source")
    wait_for(sim, source["id"], "completed")
    sim.fault("remix", "drop")
    with pytest.raises(requests.exceptions.ConnectionError):
        call(sim, "POST", f"/videos/{source['id']}/remix", json={"prompt": "again"})
    stats = sim.stats()
    assert stats["jobs"] == 2 and stats["remix"] == 1
    remixes = [v for v in call(sim, "GET", "/videos").json()["data"] if v["remixed_from_video_id"] == source["id"]]
    assert len(remixes) == 1


def test_unknown_fault_kind_is_refused(sim):
    r = requests.post(sim.url + "/_sim/faults", json={"endpoint": "create", "kind": "teapot"}, timeout=5)
    assert r.status_code == 400 and "drop" in r.json()["error"]["message"]


# Downloads and expiry

def test_content_not_ready_n_times_then_the_mp4(sim):
    video = created(sim, "[sim:seconds=0.2][sim:content-not-ready=2] slow storage")
    wait_for(sim, video["id"], "completed")
    for _ in range(2):
        r = call(sim, "GET", f"/videos/{video['id']}/content")
        assert r.status_code == 200 and r.headers["Content-Type"] == "video/mp4"
        assert r.json() == {"error": {"message": "Video is not ready yet (status: processing).",
                                      "type": "invalid_request_error", "param": None, "code": None}}
    # Other variants are not affected, and do not count.
    thumb = call(sim, "GET", f"/videos/{video['id']}/content", params={"variant": "thumbnail"})
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/webp"
    r = call(sim, "GET", f"/videos/{video['id']}/content", params={"variant": "video"})
    assert r.status_code == 200 and r.content == MP4


def test_content_failed_every_time(sim):
    video = created(sim, "[sim:seconds=0.2][sim:content-failed] filtered")
    wait_for(sim, video["id"], "completed")
    for _ in range(3):
        r = call(sim, "GET", f"/videos/{video['id']}/content")
        assert r.status_code == 200 and r.headers["Content-Type"] == "video/mp4"
        assert r.json() == {"error": {"message": "The video was blocked by the provider's content filter.",
                                      "type": "invalid_request_error", "param": None, "code": "content_filter"}}


def test_expires_directive_and_default(sim):
    short = wait_for(sim, created(sim, "[sim:seconds=0.2][sim:expires=60] short-lived")["id"], "completed")
    assert short["expires_at"] == short["completed_at"] + 60
    default = wait_for(sim, created(sim, "[sim:seconds=0.2] default")["id"], "completed")
    assert default["expires_at"] == default["completed_at"] + 3600


def test_stats_count_jobs_and_reset_forgets_them(sim):
    created(sim)
    created(sim)
    call(sim, "GET", "/videos")
    stats = sim.stats()
    assert stats["jobs"] == 2 and stats["create"] == 2 and stats["list"] == 1
    assert set(stats) == {"create", "list", "retrieve", "delete", "content", "remix", "chat", "jobs"}
    requests.post(sim.url + "/_sim/reset", timeout=5).raise_for_status()
    assert sim.stats()["jobs"] == 0
