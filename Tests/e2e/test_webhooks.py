"""Outbound webhooks through real nginx, the real binary, real workers and a real HTTP receiver on
loopback: events signed per Standard Webhooks (verified with the reference library, PyPI
standardwebhooks), retries after a 500 with the same webhook-id, "send again", the pages (secret shown
once, CSRF), ownership, validation, and the SSRF refusal of a worker without
PROMPTREEL_WEBHOOKS_ALLOW_PRIVATE."""
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from conftest import Browser, WorkerProcess, api, sql, wait_until
from test_pages_valid import assert_valid


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers the given statuses in turn (then 200)."""

    def __init__(self, answers=(), body=b"ok", headers=(), delay=0.0):
        self.requests = []
        self.answered = 0
        self.answers = list(answers)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                time.sleep(delay)
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender stops reading a long answer: expected
                receiver.answered += 1

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def wait_for(self, count, timeout=30):
        wait_until(lambda: len(self.requests) >= count, timeout=timeout, what=f"{count} webhook requests")
        return self.requests

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def setup_user():
    b = Browser()
    b.signup()
    token = b.create_token()
    project = api("POST", "/api/projects", token, json={"name": "Hooks"}).json()["id"]
    return b, token, project


def new_video(token, project, prompt):
    return api("POST", f"/api/projects/{project}/videos", token, json={"title": "Hook", "final_prompt": prompt}).json()["id"]


def generate(token, video):
    r = api("POST", f"/api/videos/{video}/generate-sora", token, json={})
    assert r.status_code == 200, r.text
    return r.json()["generationId"]


def add_endpoint(token, url, events=None):
    r = api("POST", "/api/webhooks", token, json={"url": url, **({"events": events} if events else {})})
    assert r.status_code == 201, r.text
    return r.json()


def deliveries(token, endpoint):
    r = api("GET", f"/api/webhooks/{endpoint}/deliveries", token)
    assert r.status_code == 200, r.text
    return r.json()["deliveries"]


def test_completed_and_failed_events_are_signed(worker, receiver):
    _, token, project = setup_user()
    endpoint = add_endpoint(token, receiver.url)
    secret = endpoint["secret"]
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret) and endpoint["events"] == ["generation.completed", "generation.failed"]
    ok = generate(token, new_video(token, project, "A red kite [sim:seconds=1]"))
    bad = generate(token, new_video(token, project, "[sim:fail=moderation_blocked][sim:seconds=0.5] a forbidden thing"))
    received = receiver.wait_for(2)
    events = {}
    for headers, body in received:
        payload = Webhook(secret).verify(body, headers)  # raises unless signed with the endpoint's secret
        assert headers["content-type"] == "application/json"
        assert re.fullmatch(r"msg_[0-9a-f]{32}", headers["webhook-id"]) and headers["webhook-signature"].startswith("v1,")
        events[payload["type"]] = (payload, headers)
        # The same bytes with one changed, or another secret, do not verify.
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(body.replace(b'"status"', b'"Status"'), headers)
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "A" * 43 + "=").verify(body, headers)
    completed = events["generation.completed"][0]
    assert completed["data"]["id"] == ok and completed["data"]["status"] == "completed"
    assert completed["data"]["model"] == "sora-2" and completed["data"]["seconds"] == "4" and completed["data"]["cost"] == 0.4
    assert completed["data"]["videoUrl"] == f"/media/generations/{ok}/video.mp4" and completed["timestamp"].endswith("Z")
    failed = events["generation.failed"][0]
    assert failed["data"]["id"] == bad and failed["data"]["errorCode"] == "moderation_blocked" and failed["data"]["cost"] == 0
    assert failed["data"]["videoUrl"] is None and "content policy" in failed["data"]["error"]
    log = wait_until(lambda: [d for d in deliveries(token, endpoint["id"]) if d["status"] == "delivered"] or None, what="recorded deliveries")
    log = deliveries(token, endpoint["id"])
    assert len(log) == 2 and all(d["status"] == "delivered" and d["attempts"] == 1 and d["lastStatusCode"] == 200 for d in log)
    assert {d["webhookId"] for d in log} == {h["webhook-id"] for h, _ in received}
    assert all(d["attemptLog"][0]["outcome"] == "delivered" for d in log)
    # Later answers never carry the secret.
    assert "whsec_" not in api("GET", "/api/webhooks", token).text
    assert "whsec_" not in api("GET", f"/api/webhooks/{endpoint['id']}", token).text


def test_a_500_is_retried_with_the_same_id_and_send_again_resends_it(worker):
    receiver = Receiver(answers=[500])
    try:
        _, token, project = setup_user()
        endpoint = add_endpoint(token, receiver.url, events=["generation.completed"])
        generate(token, new_video(token, project, "A kite that fails [sim:fail=moderation_blocked][sim:seconds=0.5]"))
        gid = generate(token, new_video(token, project, "A red kite [sim:seconds=1]"))
        first, second = receiver.wait_for(2)
        assert first[0]["webhook-id"] == second[0]["webhook-id"] and first[1] == second[1]
        for headers, body in (first, second):
            assert Webhook(endpoint["secret"]).verify(body, headers)["data"]["id"] == gid
        delivery = wait_until(lambda: next((d for d in deliveries(token, endpoint["id"]) if d["status"] == "delivered"), None),
                              what="the retry to be recorded")
        assert delivery["attempts"] == 2 and [a["outcome"] for a in delivery["attemptLog"]] == ["rejected", "delivered"]
        assert [a["statusCode"] for a in delivery["attemptLog"]] == [500, 200]
        assert len(deliveries(token, endpoint["id"])) == 1  # only generation.completed was subscribed
        # Send again: the same delivery (same webhook-id and body), one more attempt.
        again = api("POST", f"/api/webhook-deliveries/{delivery['id']}/redeliver", token)
        assert again.status_code == 202 and again.json()["webhookId"] == delivery["webhookId"]
        third = receiver.wait_for(3)[2]
        assert third[0]["webhook-id"] == delivery["webhookId"] and third[1] == first[1]
        Webhook(endpoint["secret"]).verify(third[1], third[0])
        wait_until(lambda: deliveries(token, endpoint["id"])[0]["attempts"] == 3 and deliveries(token, endpoint["id"])[0]["status"] == "delivered",
                   what="the third attempt to be recorded")
    finally:
        receiver.close()


def test_pages_show_the_secret_once_the_log_and_send_again(worker, receiver):
    b, token, project = setup_user()
    page = b.get("/account/webhooks")
    assert page.status_code == 200 and "No webhook endpoints yet" in page.text
    assert_valid(page.text, "webhooks, empty")
    assert '/account/webhooks' in b.get("/account").text
    created = b.post("/account/webhooks", {"url": receiver.url, "event_completed": "on", "event_failed": "on"})
    assert created.status_code == 201, created.text
    assert_valid(created.text, "webhooks, created")
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", created.text).group(0)
    endpoint = int(re.search(r'href="/account/webhooks/(\d+)"', created.text).group(1))
    listing = b.get("/account/webhooks")
    assert "whsec_" not in listing.text and receiver.url in listing.text
    assert b.post("/account/webhooks", {"url": receiver.url}, csrf=False).status_code == 403
    refused = b.post("/account/webhooks", {"url": "ftp://example.com/x", "event_completed": "on"})
    assert refused.status_code == 422 and "https://" in refused.text
    assert_valid(refused.text, "webhooks, refused")
    none = b.post("/account/webhooks", {"url": receiver.url})
    assert none.status_code == 422 and "at least one event" in none.text

    gid = generate(token, new_video(token, project, "A red kite [sim:seconds=1]"))
    headers, body = receiver.wait_for(1)[0]
    assert Webhook(secret).verify(body, headers)["data"]["id"] == gid
    wait_until(lambda: deliveries(token, endpoint)[0]["status"] == "delivered", what="the delivery to be recorded")
    log = b.get(f"/account/webhooks/{endpoint}")
    assert log.status_code == 200 and "delivered" in log.text and "generation.completed" in log.text and "whsec_" not in log.text
    assert headers["webhook-id"] in log.text and ">200<" in log.text
    assert_valid(log.text, "webhook deliveries")
    delivery = int(re.search(r'action="/account/webhook-deliveries/(\d+)/redeliver"', log.text).group(1))
    assert b.post(f"/account/webhook-deliveries/{delivery}/redeliver", {}, csrf=False).status_code == 403
    again = b.post(f"/account/webhook-deliveries/{delivery}/redeliver", {}, allow_redirects=False)
    assert again.status_code == 303 and again.headers["Location"] == f"/account/webhooks/{endpoint}"
    second = receiver.wait_for(2)[1]
    assert second[0]["webhook-id"] == headers["webhook-id"]
    Webhook(secret).verify(second[1], second[0])
    b.get("/account/webhooks")
    deleted = b.post(f"/account/webhooks/{endpoint}/delete", {}, allow_redirects=False)
    assert deleted.status_code == 303
    assert api("GET", "/api/webhooks", token).json()["webhooks"] == []
    assert b.get(f"/account/webhooks/{endpoint}").status_code == 404


def test_validation_and_someone_elses_endpoints_are_404(receiver):
    _, token, _ = setup_user()
    for body, field in [({"url": "ftp://example.com/"}, "url"), ({"url": "https://user:pw@example.com/"}, "url"),
                        ({"url": "https://example.com/#x"}, "url"), ({"url": "https://exa mple.com/"}, "url"),
                        ({"url": "https://example.com/" + "a" * 2001}, "url"), ({}, "url"), ({"url": 5}, "url"),
                        ({"url": "https://example.com/", "events": ["generation.started"]}, "events"),
                        ({"url": "https://example.com/", "events": []}, "events"),
                        ({"url": "https://example.com/", "events": "generation.failed"}, "events")]:
        r = api("POST", "/api/webhooks", token, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["code"] == "validation_failed" and r.json()["error"]["message"].startswith(field), r.text
    assert api("POST", "/api/webhooks", json={"url": "https://example.com/"}).status_code == 401
    assert api("POST", "/api/webhooks", token, data=b"{", headers={"Content-Type": "application/json"}).status_code == 400

    owner_browser, owner, _ = setup_user()
    endpoint = add_endpoint(owner, receiver.url)["id"]
    delivery = sql(f"""INSERT INTO webhook_deliveries (endpoint_id, user_id, event_type, message_id, payload, status)
                       SELECT id, user_id, 'generation.completed', 'msg_e2e_' || id || '_' || floor(random() * 1e9), '{{}}', 'failed'
                       FROM webhook_endpoints WHERE id = {endpoint} RETURNING id""").splitlines()[0]
    other_browser, other, _ = setup_user()
    for method, path in [("GET", f"/api/webhooks/{endpoint}"), ("DELETE", f"/api/webhooks/{endpoint}"),
                         ("GET", f"/api/webhooks/{endpoint}/deliveries"), ("POST", f"/api/webhook-deliveries/{delivery}/redeliver")]:
        r = api(method, path, other)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", (method, path, r.text)
    assert other_browser.get(f"/account/webhooks/{endpoint}").status_code == 404
    other_browser.get("/account/webhooks")
    assert other_browser.post(f"/account/webhooks/{endpoint}/delete", {}).status_code == 404
    assert other_browser.post(f"/account/webhook-deliveries/{delivery}/redeliver", {}).status_code == 404
    assert sql(f"SELECT status FROM webhook_deliveries WHERE id = {delivery}") == "failed"  # untouched
    assert api("GET", f"/api/webhooks/{endpoint}", owner).status_code == 200
    assert api("GET", "/api/webhooks", other).json()["webhooks"] == []
    # At most ten endpoints per user.
    for _ in range(9):
        add_endpoint(owner, receiver.url)
    r = api("POST", "/api/webhooks", owner, json={"url": receiver.url})
    assert r.status_code == 409 and r.json()["error"]["code"] == "too_many_endpoints"
    assert api("DELETE", f"/api/webhooks/{endpoint}", owner).status_code == 204
    assert api("GET", f"/api/webhooks/{endpoint}", owner).status_code == 404


def test_a_worker_without_allow_private_refuses_loopback(no_worker, receiver):
    _, token, project = setup_user()
    endpoint = add_endpoint(token, receiver.url)  # the app under test allows it; this worker does not
    strict = WorkerProcess(PROMPTREEL_WEBHOOKS_ALLOW_PRIVATE="0")
    try:
        gid = generate(token, new_video(token, project, "A red kite [sim:seconds=0.5]"))
        delivery = wait_until(lambda: next((d for d in deliveries(token, endpoint["id"]) if d["status"] == "failed"), None),
                              timeout=40, what="the refused delivery")
        assert delivery["generationId"] == gid and delivery["attempts"] == 1 and delivery["lastStatusCode"] is None
        # The user sees the category only, never the resolved address.
        assert delivery["lastError"] == "refused: the host resolves to a loopback address, which webhooks may not reach"
        assert [a["outcome"] for a in delivery["attemptLog"]] == ["refused"]
        assert receiver.requests == []
    finally:
        strict.stop()


def test_redirects_are_not_followed_and_a_long_answer_is_cut_short(worker):
    elsewhere = Receiver()
    # First a redirect to another receiver (not followed: a failed attempt), then 200 with a 1 MB body.
    redirecting = Receiver(answers=[302], body=b"x" * 1_000_000, headers=[("Location", elsewhere.url)])
    try:
        _, token, project = setup_user()
        endpoint = add_endpoint(token, redirecting.url, events=["generation.completed"])
        generate(token, new_video(token, project, "A red kite [sim:seconds=0.5]"))
        redirecting.wait_for(2)
        delivery = wait_until(lambda: next((d for d in deliveries(token, endpoint["id"]) if d["status"] == "delivered"), None),
                              what="the delivery after the redirect")
        assert [(a["outcome"], a["statusCode"]) for a in delivery["attemptLog"]] == [("rejected", 302), ("delivered", 200)]
        assert elsewhere.requests == []
    finally:
        redirecting.close()
        elsewhere.close()


def test_a_slow_receiver_holds_one_thread_and_send_again_waits_for_its_attempt(worker):
    slow = Receiver(delay=9)  # under the 10 s timeout
    fast = Receiver()
    try:
        b, token, project = setup_user()
        endpoint = add_endpoint(token, slow.url, events=["generation.completed"])
        generate(token, new_video(token, project, "A red kite [sim:seconds=0.5]"))
        slow.wait_for(1)
        # While that attempt is in progress, "send again" is refused (it would be sent twice) ...
        delivery = deliveries(token, endpoint["id"])[0]
        assert delivery["status"] == "pending" and delivery["attempts"] == 1
        r = api("POST", f"/api/webhook-deliveries/{delivery['id']}/redeliver", token)
        assert r.status_code == 409 and r.json()["error"]["code"] == "delivery_in_progress", r.text
        b.get(f"/account/webhooks/{endpoint['id']}")
        page = b.post(f"/account/webhook-deliveries/{delivery['id']}/redeliver", {})
        assert page.status_code == 200 and "being attempted right now" in page.text
        # ... and another user's delivery does not wait for it: the worker has more than one webhook thread.
        _, other, other_project = setup_user()
        add_endpoint(other, fast.url, events=["generation.completed"])
        generate(other, new_video(other, other_project, "A blue kite [sim:seconds=0.5]"))
        fast.wait_for(1, timeout=20)
        assert slow.answered == 0, "the other delivery was sent only after the slow one"
        wait_until(lambda: deliveries(token, endpoint["id"])[0]["status"] == "delivered", what="the slow delivery")
        assert len(slow.requests) == 1
        r = api("POST", f"/api/webhook-deliveries/{delivery['id']}/redeliver", token)
        assert r.status_code == 202, r.text
    finally:
        slow.close()
        fast.close()
