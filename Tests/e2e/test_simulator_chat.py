"""The simulator's Chat Completions endpoint over HTTP (../shared/openai/CHAT-API.md): the answer's shape
and usage, deterministic role-shaped content (the Moderator's PROMPT:/RATIONALE: block), validation
errors in OpenAI's envelope, the chat directives, injected faults, and the call counter."""
import math
import os
import re
import threading
import time

import pytest
import requests

SIM = os.environ.get("PROMPTREEL_SIM_URL", "http://127.0.0.1:8090")
URL = SIM + "/v1/chat/completions"
AUTH = {"Authorization": "Bearer sim-test-key"}
MODERATOR = re.compile(r"\APROMPT:\n([^\n]+)\nRATIONALE:\n([^\n]+)\Z")


def chat(body, headers=None, timeout=10):
    return requests.post(URL, json=body, headers={**AUTH, **(headers or {})}, timeout=timeout)


def roundtable(role, brief, *more, **fields):
    """A call as the roundtable makes it: the role in the system message, the brief in the user's."""
    return {"model": "gpt-4.1-mini",
            "messages": [{"role": "system", "content": f"You are the {role} of a video production roundtable. Be concise."},
                         {"role": "user", "content": "\n".join([f"Brief: {brief}", *more])}],
            **fields}


def content(body):
    r = chat(body)
    assert r.status_code == 200, r.text
    return r.json()["choices"][0]["message"]["content"]


def sentences(text):
    return len(re.findall(r"[.!?](?:\s|$)", text))


def stats():
    return requests.get(SIM + "/_sim/stats", timeout=5).json()


def fault(kind, **kw):
    r = requests.post(SIM + "/_sim/faults", json={"endpoint": "chat", "kind": kind, **kw}, timeout=5)
    assert r.status_code == 200, r.text


def assert_envelope(r, status, param=None, code=None, type_="invalid_request_error"):
    assert r.status_code == status, r.text
    assert r.headers["x-request-id"].startswith("req_")
    error = r.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    assert (error["type"], error["param"], error["code"]) == (type_, param, code), error


def test_answer_shape_and_usage():
    body = roundtable("Director", "A red fox trots through fresh snow at dawn, for a winter campaign.")
    r = chat(body)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    assert r.headers["x-request-id"].startswith("req_")
    answer = r.json()
    assert set(answer) == {"id", "object", "created", "model", "choices", "usage"}
    assert answer["id"].startswith("chatcmpl-") and answer["object"] == "chat.completion"
    assert answer["model"] == "gpt-4.1-mini" and abs(answer["created"] - time.time()) < 60
    [choice] = answer["choices"]
    assert choice == {"index": 0, "finish_reason": "stop", "logprobs": None,
                      "message": {"role": "assistant", "content": choice["message"]["content"], "refusal": None}}
    text = choice["message"]["content"]
    assert text.startswith('Director notes: For "A red fox trots through fresh"') and 2 <= sentences(text) <= 4
    characters = sum(len(m["content"]) for m in body["messages"])
    prompt, completion = math.ceil(characters / 4) + 3 * 2, math.ceil(len(text) / 4)
    assert answer["usage"] == {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    # Optional fields are accepted when valid.
    assert chat({**body, "temperature": 0.2, "max_completion_tokens": 1000}).json()["choices"][0]["message"]["content"] == text


def test_content_is_deterministic_and_shaped_by_role():
    brief = "A lighthouse keeper climbs the spiral stairs at night"
    notes = {role: content(roundtable(role, brief)) for role in ("Director", "Cinematographer", "Editor", "Feasibility", "Sound Designer")}
    for role, text in notes.items():
        assert text.startswith(f"{role} notes: ") and "lighthouse keeper" in text and 2 <= sentences(text) <= 4, text
        assert content(roundtable(role, brief)) == text  # same input, same output
    assert len(set(notes.values())) == len(notes)
    # Without a roundtable system message it still answers, as a plain assistant.
    assert content({"model": "m", "messages": [{"role": "user", "content": "hello there"}]}).startswith("Assistant notes: ")
    # Round 2 shows the others' notes.
    assert "others' notes" in content(roundtable("Editor", brief, "Director notes: keep it simple."))


def test_feedback_and_previous_proposal():
    brief = "A lighthouse keeper climbs the spiral stairs at night"
    first = content(roundtable("Moderator", brief))
    match = MODERATOR.match(first)
    assert match, first
    assert "lighthouse keeper climbs the spiral stairs" in match.group(1) and 1 <= sentences(match.group(2)) <= 2
    again = content(roundtable("Moderator", brief, f"Previous proposal: {match.group(1)}", "Feedback: moodier, no people"))
    match = MODERATOR.match(again)
    assert match, again
    assert "moodier, no people" in match.group(1) and "revising the previous proposal" in match.group(2)
    notes = content(roundtable("Director", brief, "Previous proposal: an older prompt", "Feedback: moodier, no people"))
    assert "revising the previous proposal" in notes and "moodier, no people" in notes and sentences(notes) == 4
    # A brief on the lines after its label counts too; video directives travel into the prompt, chat ones do not.
    multi = content(roundtable("Moderator", "\nA paper boat drifts down a gutter [sim:seconds=1] [sim:chat-seconds=0]\n\nModel: sora-2"))
    prompt = MODERATOR.match(multi).group(1)
    assert "paper boat drifts" in prompt and prompt.endswith("[sim:seconds=1]") and "chat-seconds" not in prompt


def test_max_completion_tokens_cuts_the_answer():
    r = chat(roundtable("Editor", "A long slow tracking shot along a pier", max_completion_tokens=4)).json()
    assert r["choices"][0]["finish_reason"] == "length"
    assert r["choices"][0]["message"]["content"] == "Editor notes: Fo" and r["usage"]["completion_tokens"] == 4


def test_validation_errors_use_the_envelope():
    user = [{"role": "user", "content": "x"}]
    cases = [
        ({"messages": user}, "model", "missing_required_parameter"),
        ({"model": 4, "messages": user}, "model", "invalid_type"),
        ({"model": "", "messages": user}, "model", "empty_string"),
        ({"model": "m"}, "messages", "missing_required_parameter"),
        ({"model": "m", "messages": "hi"}, "messages", "invalid_type"),
        ({"model": "m", "messages": []}, "messages", "empty_array"),
        ({"model": "m", "messages": ["hi"]}, "messages[0]", "invalid_type"),
        ({"model": "m", "messages": [{"content": "x"}]}, "messages[0].role", "missing_required_parameter"),
        ({"model": "m", "messages": user + [{"role": "robot", "content": "x"}]}, "messages[1].role", "invalid_value"),
        ({"model": "m", "messages": [{"role": "user"}]}, "messages[0].content", "missing_required_parameter"),
        ({"model": "m", "messages": [{"role": "user", "content": ["x"]}]}, "messages[0].content", "invalid_type"),
        ({"model": "m", "messages": user, "temperature": "hot"}, "temperature", "invalid_type"),
        ({"model": "m", "messages": user, "temperature": True}, "temperature", "invalid_type"),
        ({"model": "m", "messages": user, "temperature": 2.5}, "temperature", "decimal_above_max_value"),
        ({"model": "m", "messages": user, "temperature": -0.1}, "temperature", "decimal_below_min_value"),
        ({"model": "o4-mini", "messages": user, "temperature": 0.7}, "temperature", "unsupported_value"),
        ({"model": "m", "messages": user, "max_completion_tokens": 0}, "max_completion_tokens", "integer_below_min_value"),
        ({"model": "m", "messages": user, "max_completion_tokens": 1.5}, "max_completion_tokens", "invalid_type"),
        ({"model": "m", "messages": user, "max_completion_tokens": "9"}, "max_completion_tokens", "invalid_type"),
    ]
    for body, param, code in cases:
        assert_envelope(chat(body), 400, param, code)
    # Every role and null optionals are fine; reasoning models take their default temperature.
    roles = [{"role": r, "content": "x"} for r in ("system", "developer", "user", "assistant")]
    assert chat({"model": "m", "messages": roles, "temperature": None, "max_completion_tokens": None}).status_code == 200
    assert chat({"model": "o4-mini", "messages": user, "temperature": 1}).status_code == 200
    r = requests.post(URL, data="{not json", headers={**AUTH, "Content-Type": "application/json"}, timeout=10)
    assert_envelope(r, 400)
    assert_envelope(chat(roundtable("Director", "x"), headers={"Authorization": "Bearer wrong"}), 401, code="invalid_api_key")
    assert_envelope(chat(roundtable("Director", "x"), headers={"Authorization": ""}), 401, code="invalid_api_key")
    assert_envelope(requests.get(URL, headers=AUTH, timeout=10), 404, code="unknown_url")


def test_directives():
    brief = "A kite over the dunes [sim:chat-fail=editor] [sim:chat-refuse=Feasibility]"
    assert_envelope(chat(roundtable("Editor", brief)), 500, type_="server_error")
    assert content(roundtable("Director", brief)).startswith("Director notes: ")
    refused = chat(roundtable("Feasibility", brief)).json()
    message = refused["choices"][0]["message"]
    assert message == {"role": "assistant", "content": None, "refusal": "I can't help with that."}
    assert refused["usage"]["completion_tokens"] == math.ceil(len(message["refusal"]) / 4)
    # Several roles at once, comma-separated or repeated.
    both = "A kite [sim:chat-fail=Director,Cinematographer] [sim:chat-fail=Moderator]"
    assert [chat(roundtable(r, both)).status_code for r in ("Director", "Cinematographer", "Moderator", "Editor")] == [500, 500, 500, 200]


def test_slow_answers_do_not_hold_up_others():
    results = {}

    def slow():
        started = time.time()
        results["slow"] = (chat(roundtable("Director", "A kite [sim:chat-seconds=1.5]")).status_code, time.time() - started)

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.2)
    started = time.time()
    assert chat(roundtable("Editor", "A kite")).status_code == 200
    assert time.time() - started < 1.0
    thread.join()
    status, took = results["slow"]
    assert status == 200 and took >= 1.5


@pytest.mark.parametrize("kind,status", [("400", 400), ("429", 429), ("quota", 429), ("500", 500), ("502", 502), ("503", 503), ("504", 504)])
def test_status_faults(kind, status):
    fault(kind, retry_after=2)
    r = chat(roundtable("Director", "fault"))
    assert_envelope(r, status, code={"429": "rate_limit_exceeded", "quota": "insufficient_quota"}.get(kind),
                    type_={"400": "invalid_request_error", "429": "requests", "quota": "insufficient_quota"}.get(kind, "server_error"))
    if kind == "429":
        assert r.headers["Retry-After"] == "2" and r.headers["retry-after-ms"] == "2000"
    if kind == "quota":
        assert "Retry-After" not in r.headers  # no wait cures an empty account
    assert "video" not in r.json()["error"]["message"]
    assert chat(roundtable("Director", "fault")).status_code == 200  # one fault, one call


def test_timing_and_body_faults_and_stats():
    before = stats()
    fault("hang", hang_seconds=1)
    started = time.time()
    assert chat(roundtable("Director", "hang")).status_code == 504 and time.time() - started >= 1
    fault("malformed")
    r = chat(roundtable("Director", "malformed"))
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    fault("late", hang_seconds=1)
    started = time.time()
    r = chat(roundtable("Director", "late"))
    assert r.status_code == 200 and r.json()["object"] == "chat.completion" and time.time() - started >= 1
    fault("drop")
    with pytest.raises(requests.exceptions.ConnectionError):
        chat(roundtable("Director", "drop"))
    fault("500", count=2)
    assert [chat(roundtable("Director", "twice")).status_code for _ in range(3)] == [500, 500, 200]
    after = stats()
    assert after["chat"] == before.get("chat", 0) + 7  # "chat" shows once the endpoint has been called
    assert {k: v for k, v in after.items() if k != "chat"} == {k: v for k, v in before.items() if k != "chat"}


def test_fault_endpoint_must_be_known():
    r = requests.post(SIM + "/_sim/faults", json={"endpoint": "chats", "kind": "500"}, timeout=5)
    assert r.status_code == 400 and "chat" in r.json()["error"]["message"]
