"""The roundtable (issue 9) through nginx, the real binary, a real worker and the simulator's chat
endpoint: brief → 4 + 4 + 1 messages → proposal reviewed → accepted into the final prompt, costs to the
micro-dollar, feedback runs, failures mid-round with retry, two at once, hostile text escaped."""
import os
import re
import threading
from decimal import Decimal

import html5lib
import pytest
import requests

from conftest import Browser, WorkerProcess, api, sim_fault, sql, wait_until

SIM = os.environ.get("PROMPTREEL_SIM_URL", "http://127.0.0.1:8090")
ROLES = ["Director", "Cinematographer", "Editor", "Feasibility"]


def setup(brief="A 30-second teaser for a night market: steam, lanterns, a cook flipping noodles.", preset=None, prompt=""):
    b = Browser()
    b.signup()
    token = b.create_token()
    project = api("POST", "/api/projects", token, json={"name": "Roundtables"}).json()["id"]
    body = {"title": "Night market", "brief": brief, "final_prompt": prompt}
    if preset:
        body["preset"] = preset
    r = api("POST", f"/api/projects/{project}/videos", token, json=body)
    assert r.status_code == 201, r.text
    return b, token, r.json()["id"]


def start(token, video, **body):
    return api("POST", f"/api/videos/{video}/roundtable", token, json=body)


def wait_done(token, rid, want="completed", timeout=40):
    return wait_until(lambda: (t := api("GET", f"/api/roundtables/{rid}", token).json())["status"] == want and t,
                      timeout=timeout, interval=0.2, what=f"roundtable {want}")


def chat_calls():
    return requests.get(SIM + "/_sim/stats", timeout=5).json().get("chat", 0)


def test_brief_to_accepted_prompt_with_transcript_and_costs(worker):
    b, token, video = setup(preset="cinematic")
    r = start(token, video, settings={"model": "sora-2", "duration": 8, "aspect_ratio": "16:9", "resolution": "720p"})
    assert r.status_code == 202 and r.json()["status"] == "queued", r.text
    rid = r.json()["roundtableId"]
    done = wait_done(token, rid)
    messages = done["messages"]
    assert [(m["round"], m["role"]) for m in messages] == [(1, r) for r in ROLES] + [(2, r) for r in ROLES] + [(3, "Moderator")]
    assert all(m["content"] for m in messages)
    # cost = tokens × catalog price (gpt-4.1-mini: $0.40 in, $1.60 out per million), to the micro-dollar.
    total = Decimal(0)
    for m in messages:
        expected = (Decimal(m["promptTokens"]) * Decimal("0.40") + Decimal(m["completionTokens"]) * Decimal("1.60")) / Decimal(1_000_000)
        assert Decimal(str(m["cost"])) == expected.quantize(Decimal("0.000001")), m
        assert m["cost"] > 0
        total += Decimal(str(m["cost"]))
    assert Decimal(str(done["cost"])) == total and done["proposal"] and done["rationale"]
    assert sql(f"SELECT preset FROM roundtables WHERE id = {rid}") == "cinematic"
    page = b.get(f"/dashboard/roundtables/{rid}").text
    assert "Use this prompt" in page and "<ins>" in page and "Edit, then use" in page and "Run again with feedback" in page
    assert 'http-equiv="refresh"' not in page
    # Nothing changes the final prompt without the click.
    assert api("GET", f"/api/videos/{video}", token).json()["final_prompt"] == ""
    accepted = api("POST", f"/api/roundtables/{rid}/accept", token)
    assert accepted.status_code == 200 and accepted.json()["final_prompt"] == done["proposal"]
    assert sql(f"SELECT string_agg(source, ',' ORDER BY id) FROM video_prompt_versions WHERE video_id = {video}") == "roundtable"
    # An edited prompt is used as edited, and kept as a version too.
    edited = api("POST", f"/api/roundtables/{rid}/accept", token, json={"prompt": "My own words, thanks."})
    assert edited.status_code == 200 and edited.json()["final_prompt"] == "My own words, thanks."
    assert sql(f"SELECT string_agg(source, ',' ORDER BY id) FROM video_prompt_versions WHERE video_id = {video}") == "roundtable,edited"
    assert "Prompt versions" in b.get(f"/dashboard/videos/{video}").text
    listed = api("GET", f"/api/videos/{video}/roundtables", token).json()["roundtables"]
    assert [t["id"] for t in listed] == [rid]


def test_feedback_run_sees_the_previous_proposal(worker):
    _, token, video = setup()
    first = wait_done(token, start(token, video).json()["roundtableId"])
    r = start(token, video, feedback="moodier, no people", previousRoundtableId=first["id"])
    assert r.status_code == 202
    second = wait_done(token, r.json()["roundtableId"])
    assert "moodier, no people" in second["proposal"] and second["feedback"] == "moodier, no people"
    assert sql(f"SELECT previous_proposal = {sql_text(first['proposal'])} FROM roundtables WHERE id = {second['id']}") == "t"
    assert any("previous proposal" in m["content"].lower() for m in second["messages"])
    # Feedback alone (the API has no previous id) is about the latest completed proposal.
    third = wait_done(token, start(token, video, feedback="shorter").json()["roundtableId"])
    assert sql(f"SELECT previous_roundtable_id FROM roundtables WHERE id = {third['id']}") == str(second["id"])


def sql_text(s):
    return "'" + s.replace("'", "''") + "'"


def test_failure_mid_round_keeps_the_transcript_and_retry_asks_only_what_is_missing(worker):
    _, token, video = setup(brief="Harbour at dawn, gulls, one fishing boat. [sim:chat-fail=Editor]")
    rid = start(token, video).json()["roundtableId"]
    failed = wait_done(token, rid, "failed")
    assert "Editor" in failed["error"] and failed["proposal"] is None
    assert sorted(m["role"] for m in failed["messages"]) == ["Cinematographer", "Director", "Feasibility"]
    assert api("POST", f"/api/roundtables/{rid}/accept", token).json()["error"]["code"] == "roundtable_not_completed"
    # The provider recovers (here: the directive goes away), and Retry resumes.
    sql(f"UPDATE roundtables SET brief = replace(brief, '[sim:chat-fail=Editor]', '') WHERE id = {rid}")
    before = chat_calls()
    assert api("POST", f"/api/roundtables/{rid}/retry", token).status_code == 202
    done = wait_done(token, rid)
    assert len(done["messages"]) == 9
    assert chat_calls() - before == 6  # Editor's notes, four answers, the Moderator
    assert api("POST", f"/api/roundtables/{rid}/retry", token).status_code == 409


def test_a_timed_out_chat_call_then_its_retry_are_two_calls(no_worker):
    """Chat calls are billed per attempt: one the provider worked on but that timed out here (a late
    answer), then answered on retry, is two calls — the answer at its usage, the lost attempt at its
    worst case (every byte of its messages a token, every completion token allowed), possibly billed."""
    b, token, video = setup(brief="A kettle coming to the boil, one take.")
    sim_fault("chat", "late", hang_seconds=4)
    before = chat_calls()
    w = WorkerProcess(PROMPTREEL_CHAT_TIMEOUT_MS=1500)
    try:
        rid = start(token, video).json()["roundtableId"]
        done = wait_done(token, rid)
    finally:
        w.stop()
    assert chat_calls() - before == 10  # nine answers and the attempt that timed out
    assert len(done["messages"]) == 9 and done["unansweredCalls"] == 1
    lost = sql(f"""SELECT role || '|' || round || '|' || error_kind || '|' || prompt_tokens || '|' || completion_tokens || '|' || cost
                   FROM roundtable_unanswered_calls WHERE roundtable_id = {rid}""").split("|")
    role, rnd, kind, prompt_tokens, completion_tokens, cost = lost
    assert rnd == "1" and kind == "timeout" and completion_tokens == "600"
    answered = next(m for m in done["messages"] if m["role"] == role and m["round"] == 1)
    assert int(prompt_tokens) > answered["promptTokens"]  # an upper bound of what the provider counted
    worst = ((Decimal(prompt_tokens) * Decimal("0.40") + Decimal(600) * Decimal("1.60")) / Decimal(1_000_000)).quantize(Decimal("0.000001"))
    assert Decimal(cost) == worst and Decimal(str(done["possiblyBilled"])) == worst
    answers = sum(Decimal(str(m["cost"])) for m in done["messages"])
    assert Decimal(str(done["cost"])) == answers + worst
    assert sql(f"SELECT spend || '|' || possibly_billed FROM spend_items WHERE kind = 'roundtable' AND id = {rid}") \
        == f"{answers + worst}|{worst}"
    assert "possibly billed for 1 call that got no answer" in b.get(f"/dashboard/roundtables/{rid}").text


def test_two_roundtables_of_one_video_at_once(worker):
    _, token, video = setup(brief="A kite festival on a windy beach. [sim:chat-seconds=0.3]")
    ids = []

    def go():
        r = start(token, video)
        assert r.status_code == 202
        ids.append(r.json()["roundtableId"])
    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 2
    for rid in ids:
        done = wait_done(token, rid, timeout=60)
        assert len(done["messages"]) == 9 and done["proposal"]


def test_refusals_and_ownership(worker):
    _, token, video = setup(brief="")
    r = start(token, video)
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("brief:")
    _, token2, video2 = setup()
    assert start(token2, video2, preset="no-such-preset").status_code == 422
    assert start(token2, video2, settings={"duration": 99999999999999999999}).status_code == 422
    assert start(token2, video2, previousRoundtableId=-4).status_code == 422
    rid = wait_done(token2, start(token2, video2).json()["roundtableId"])["id"]
    assert api("GET", f"/api/roundtables/{rid}", token).status_code == 404
    assert api("POST", f"/api/roundtables/{rid}/accept", token).status_code == 404
    assert api("GET", f"/api/videos/{video2}/roundtables", token).status_code == 404
    assert start(token, video2).status_code == 404
    # Someone else's roundtable (or one of another video) cannot be the "previous" one.
    assert start(token2, video2, previousRoundtableId=rid).status_code == 202
    _, token3, video3 = setup()
    assert start(token3, video3, previousRoundtableId=rid).status_code == 404


def test_preset_none_overrides_the_videos_preset(worker):
    _, token, video = setup(preset="cinematic")
    default = wait_done(token, start(token, video).json()["roundtableId"])
    assert default["preset"] == "cinematic"
    none = wait_done(token, start(token, video, preset="").json()["roundtableId"])
    assert none["preset"] is None


def test_hostile_brief_is_escaped_everywhere(worker):
    hostile = "<script>alert(1)</script> \"quotes\" 'apostrophes' & <img src=x onerror=alert(2)>"
    b, token, video = setup(brief=hostile)
    rid = wait_done(token, start(token, video, feedback="<b>bold</b>").json()["roundtableId"])["id"]
    for path in (f"/dashboard/roundtables/{rid}", f"/dashboard/roundtables/{rid}/edit", f"/dashboard/videos/{video}"):
        page = b.get(path).text
        assert "<script>" not in page and "<img src=x" not in page and "<b>bold</b>" not in page, path
        html5lib.HTMLParser(strict=True).parse(page)


def test_pages_flow_without_script(worker):
    b, token, video = setup()
    page = b.get(f"/dashboard/videos/{video}").text
    assert "Draft the prompt with the roundtable" in page
    r = b.post(f"/dashboard/videos/{video}/roundtables", {"preset": "documentary", "model": "", "duration": "", "aspect_ratio": "", "resolution": ""})
    assert r.status_code == 200 and "/dashboard/roundtables/" in r.url
    rid = r.url.rsplit("/", 1)[1]
    if "Proposal ready" not in r.text:
        assert 'http-equiv="refresh"' in r.text
    wait_until(lambda: "Proposal ready" in b.get(f"/dashboard/roundtables/{rid}").text, timeout=40, what="the proposal")
    edit = b.get(f"/dashboard/roundtables/{rid}/edit")
    assert edit.status_code == 200
    r = b.post(f"/dashboard/roundtables/{rid}/accept", {"prompt": "Edited by hand: lanterns swaying."})
    assert r.status_code == 200 and r.url.endswith(f"/dashboard/videos/{video}") and "Edited by hand: lanterns swaying." in r.text
    r = b.post(f"/dashboard/roundtables/{rid}/accept", {"prompt": ""})
    assert r.status_code == 422
    r = b.post(f"/dashboard/videos/{video}/roundtables", {"previous": rid, "feedback": "warmer light", "preset": "documentary"})
    assert r.status_code == 200 and "warmer light" in r.text
