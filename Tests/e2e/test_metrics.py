"""Metrics and logs (issue 12, part 4): each process's own metrics on its --metrics-listen port, the
instance-wide gauges through nginx's loopback-only /metrics, parsed by prometheus-client's parser;
X-Request-Id on every answer and in the log line of a failed request; no token or cookie in a log line."""
import http.client
import os
import re
import socket
import struct
import subprocess
from urllib.parse import urlparse

import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import BASE, ROOT_DIR, Browser, WorkerProcess, api, sql, wait_until
from test_generations import FIXTURE, generate, setup_video, wait_status

APP_METRICS = os.environ.get("PROMPTREEL_METRICS_URL", "")
METRICS_PORT = urlparse(APP_METRICS).port or 0
WORKER_METRICS_PORT = METRICS_PORT + 1
LOCAL = os.environ.get("PROMPTREEL_LOCAL", "")


def scrape(url):
    r = requests.get(url, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse(r.text)


def parse(text):
    """{(sample name, sorted label items): value}, plus the families (for HELP and TYPE)."""
    families = list(text_string_to_metric_families(text))
    samples = {}
    for family in families:
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, {f.name: f for f in families}


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_process_counters_move_after_a_generation(no_worker):
    # The worker below must see only this test's generation: work other tests left behind (with no worker
    # running) is ended first, as a cancel (waiting) or a timeout (at the provider) would end it.
    sql("""UPDATE generations SET status = 'failed', phase = 'done', error_code = 'cancelled', actual_cost = 0,
                  error_message = 'Cancelled before it was sent to the video provider. Nothing was charged.', completed_at = now()
           WHERE phase = 'waiting'""")
    sql("""UPDATE generations SET status = 'failed', phase = 'done', error_code = 'timeout', possibly_billed = true,
                  actual_cost = estimated_cost, error_message = 'Ended by the metrics test.', completed_at = now()
           WHERE phase IN ('submitting', 'submitted', 'downloading')""")
    worker = WorkerProcess("--metrics-listen", f"127.0.0.1:{WORKER_METRICS_PORT}", "--metrics-name", "metrics-worker")
    try:
        worker_url = f"http://127.0.0.1:{WORKER_METRICS_PORT}/metrics"
        before, _ = scrape(APP_METRICS)
        token, video = setup_video()
        r = generate(token, video, {"duration": 4, "aspect_ratio": "16:9", "resolution": "720p", "model": "sora-2"})
        assert r.status_code == 200, r.text
        wait_status(token, video, "completed")
        after, families = scrape(APP_METRICS)

        serve = {"process": "serve"}
        requests_total = "promptreel_http_requests_total"
        assert value(after, requests_total, **serve, route="apiGenerate", status="200") - \
            value(before, requests_total, **serve, route="apiGenerate", status="200") == 1
        polled = value(after, requests_total, **serve, route="apiStatus", status="200") - \
            value(before, requests_total, **serve, route="apiStatus", status="200")
        assert polled >= 2
        timed = value(after, "promptreel_http_request_duration_seconds_count", **serve, route="apiStatus") - \
            value(before, "promptreel_http_request_duration_seconds_count", **serve, route="apiStatus")
        assert timed == polled
        family = families["promptreel_http_requests"]
        assert family.type == "counter" and family.documentation.startswith("Requests answered")
        assert families["promptreel_http_request_duration_seconds"].type == "histogram"
        # Route labels are case names (a closed set), never raw paths with ids in them.
        routes = {dict(labels)["route"] for (name, labels) in after if name == requests_total}
        assert routes and all(re.fullmatch(r"[a-zA-Z]+", r) for r in routes), routes

        # The worker's own listener: a fresh process, so its numbers are exactly this generation's.
        w, wfamilies = scrape(worker_url)
        mine = {"process": "metrics-worker"}
        mine_at = {**mine, "provider": "default"}  # calls are counted per catalog provider
        assert value(w, "promptreel_provider_calls_total", **mine_at, endpoint="create", outcome="ok") == 1
        assert value(w, "promptreel_provider_calls_total", **mine_at, endpoint="retrieve", outcome="ok") >= 1
        assert value(w, "promptreel_provider_calls_total", **mine_at, endpoint="download", outcome="ok") == 3
        assert value(w, "promptreel_provider_call_duration_seconds_count", **mine_at, endpoint="create") == 1
        assert value(w, "promptreel_media_stored_bytes_total", **mine, kind="video") == len(FIXTURE)
        assert value(w, "promptreel_media_stored_bytes_total", **mine, kind="thumbnail") > 0
        assert wfamilies["promptreel_provider_calls"].type == "counter"
        assert not any(name == requests_total for (name, _) in w)  # a worker answers no requests

        # Anything but /metrics is a 404 on the listener.
        assert requests.get(f"http://127.0.0.1:{WORKER_METRICS_PORT}/", timeout=5).status_code == 404
        # The worker's log lines carry the generation and the provider's request id.
        created = [l for l in open(worker.log_path) if 'msg="created video_' in l]
        assert len(created) == 1 and re.search(r" generation_id=\d+ ", created[0]) and "provider_request_id=" in created[0]
        assert " process=metrics-worker " in created[0]
    finally:
        assert worker.stop() == 0


def test_instance_gauges_match_the_database(no_worker):
    # One waiting generation (no worker runs), so the queue is not trivially empty.
    token, video = setup_video()
    assert generate(token, video).status_code == 200
    samples, families = scrape(BASE + "/metrics")

    rows = sql("SELECT status || '|' || model || '|' || count(*) FROM generations GROUP BY status, model")
    expected = {tuple(r.split("|")[:2]): float(r.split("|")[2]) for r in rows.splitlines() if r}
    got = {(dict(labels)["status"], dict(labels)["model"]): v
           for (name, labels), v in samples.items() if name == "promptreel_generations"}
    assert got == expected and got
    waiting = float(sql("SELECT count(*) FROM generations WHERE phase = 'waiting'"))
    assert value(samples, "promptreel_generation_queue_depth") == waiting >= 1
    assert value(samples, "promptreel_generations_in_flight") == \
        float(sql("SELECT count(*) FROM generations WHERE phase IN ('submitting', 'submitted', 'downloading')"))
    spend = float(sql("SELECT budget_spend(NULL, m.month_start, m.month_end) FROM budget_month(now()) m"))
    assert abs(value(samples, "promptreel_spend_this_month_usd") - spend) < 1e-6 and spend > 0
    assert families["promptreel_spend_this_month_usd"].documentation
    assert families["promptreel_generations"].type == "gauge"


def test_metrics_through_nginx_only_from_loopback():
    port = urlparse(BASE).port
    # A real request from another address than 127.0.0.1 (127.0.0.2 is this machine, but not allowed).
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=("127.0.0.2", 0))
    conn.request("GET", "/metrics")
    assert conn.getresponse().status == 403
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=("127.0.0.2", 0))
    conn.request("GET", "/healthz")  # the address itself reaches nginx and the app
    assert conn.getresponse().status == 200
    conn.close()
    # Every nginx config, the shipped one and the one scripts render, restricts it the same way.
    for path in (os.path.join(ROOT_DIR, "nginx/promptreel.conf"), os.path.join(LOCAL, "nginx/promptreel.conf")):
        text = open(path).read()
        block = re.search(r"location = /metrics \{(.*?)\}", text, re.S).group(1)
        assert re.findall(r"(allow|deny) ([^;]+);", block) == [("allow", "127.0.0.1"), ("allow", "::1"), ("deny", "all")]
        passes = text.count("fastcgi_pass ")
        assert passes >= 3 and text.count("fastcgi_param REQUEST_ID $request_id;") == passes


def fastcgi_get(path, remote_addr):
    """One GET straight to the app's FastCGI socket with the params we choose (no nginx in between)."""
    def record(kind, body):
        return struct.pack("!BBHHBB", 1, kind, 1, len(body), 0, 0) + body

    def pair(name, value):
        n, v = name.encode(), value.encode()
        return bytes([len(n)]) + bytes([len(v)]) + n + v

    params = b"".join(pair(k, v) for k, v in {
        "REQUEST_METHOD": "GET", "REQUEST_URI": path, "QUERY_STRING": "", "REMOTE_ADDR": remote_addr,
        "REQUEST_ID": "fcgitest0123456789abcdef"}.items())
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(os.path.join(LOCAL, "app.sock"))
    s.sendall(record(1, struct.pack("!HB5x", 1, 0)) + record(4, params) + record(4, b"") + record(5, b""))
    out = b""
    while True:
        head = b""
        while len(head) < 8:
            chunk = s.recv(8 - len(head))
            assert chunk, "the app closed the connection"
            head += chunk
        _, kind, _, length, padding, _ = struct.unpack("!BBHHBB", head)
        body = b""
        while len(body) < length + padding:
            body += s.recv(length + padding - len(body))
        if kind == 6:
            out += body[:length]
        if kind == 3:
            break
    s.close()
    head, _, body = out.partition(b"\r\n\r\n")
    return int(head.split(b"\r\n")[0].split()[1]), head.decode(), body.decode()


def test_the_app_itself_refuses_metrics_to_other_addresses():
    status, head, _ = fastcgi_get("/metrics", "203.0.113.7")
    assert status == 404 and "X-Request-Id: fcgitest0123456789abcdef" in head
    status, _, body = fastcgi_get("/metrics", "127.0.0.1")
    assert status == 200 and "promptreel_generation_queue_depth" in body
    status, _, body = fastcgi_get("/metrics", "::1")
    assert status == 200


def test_request_ids_are_returned_and_logged_and_secrets_never_are():
    b = Browser()
    b.signup()
    token = b.create_token()
    session = b.s.cookies.get("pr_session")
    assert token and session
    ok = b.get("/dashboard")
    assert re.fullmatch(r"[0-9a-f]{32}", ok.headers["X-Request-Id"])
    # A failing API call (someone else's or a missing video) and a failing page, with token and cookies.
    r = api("GET", "/api/videos/999999999/sora-status", token, headers={"Cookie": f"pr_session={session}"})
    assert r.status_code == 404
    rid = r.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid) and rid != ok.headers["X-Request-Id"]
    page = b.get("/dashboard/videos/999999999")
    assert page.status_code == 404
    log_path = os.environ["PROMPTREEL_APP_LOG"]

    def line_for(request_id):
        return next((l for l in open(log_path) if f" request_id={request_id}" in l), None)
    line = wait_until(lambda: line_for(rid), timeout=5, what="the log line")
    assert line.startswith("ts=") and " level=info " in line and " process=serve " in line
    assert " status=404 " in line and " code=not_found" in line and re.search(r" user_id=\d+", line)
    assert "/api/videos/999999999/sora-status" in line
    assert wait_until(lambda: line_for(page.headers["X-Request-Id"]), timeout=5, what="the page's log line")
    log = open(log_path).read()
    assert token not in log and session not in log and token.split("_", 1)[1][:20] not in log
    # One event per line: every line is a logfmt line of ours.
    assert all(l.startswith("ts=") for l in log.splitlines() if l), [l for l in log.splitlines() if not l.startswith("ts=")][:3]


def test_a_metrics_listener_beyond_loopback_needs_to_be_allowed():
    bin_path = os.environ["PROMPTREEL_BIN"]
    r = subprocess.run([bin_path, "worker", "--metrics-listen", "0.0.0.0:0"], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "not a loopback address" in r.stderr and "--metrics-allow-remote" in r.stderr
