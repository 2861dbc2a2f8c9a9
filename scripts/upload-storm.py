"""The upload storm of `scripts/bench uploads` (issue 22): eight parallel uploads of 7000×7000 images (four flat
WebP of ~90 KB, four flat progressive JPEG without chroma subsampling of ~575 KB, the probe's files), one per
user, while /healthz is asked every 20 ms and the serving process's RSS is read every 50 ms. Prints the
answers' statuses, /healthz p50/p99/max during the storm, and the RSS before, at its peak and after."""
import io
import sys
import threading
import time

import requests
from PIL import Image

base, pid = sys.argv[1], int(sys.argv[2])
pairs = [arg.split(":") for arg in sys.argv[3:]]  # token:video


def rss_kb():
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))


def image(kind):
    out = io.BytesIO()
    picture = Image.new("RGB", (7000, 7000), (40, 90, 160))
    if kind == "jpeg":
        picture.save(out, "JPEG", quality=75, progressive=True, subsampling=0)
    else:
        picture.save(out, "WEBP", quality=50)
    return out.getvalue()


files = {"jpeg": image("jpeg"), "webp": image("webp")}
before = rss_kb()
stop = threading.Event()
latencies, peak = [], [before]


def health():
    session = requests.Session()
    while not stop.is_set():
        started = time.monotonic()
        session.get(base + "/healthz", timeout=30)
        latencies.append((time.monotonic() - started) * 1000)
        time.sleep(0.02)


def memory():
    while not stop.is_set():
        peak[0] = max(peak[0], rss_kb())
        time.sleep(0.05)


statuses = []


def upload(index, token, video):
    kind = "webp" if index % 2 else "jpeg"
    r = requests.put(f"{base}/api/videos/{video}/reference-image", data=files[kind], timeout=120,
                     headers={"Authorization": f"Bearer {token}", "Content-Type": f"image/{kind}"})
    statuses.append(f"{kind}:{r.status_code}")


watchers = [threading.Thread(target=health), threading.Thread(target=memory)]
for w in watchers:
    w.start()
time.sleep(0.5)
started = time.monotonic()
uploads = [threading.Thread(target=upload, args=(i, t, v)) for i, (t, v) in enumerate(pairs)]
for u in uploads:
    u.start()
for u in uploads:
    u.join()
storm = time.monotonic() - started
stop.set()
for w in watchers:
    w.join()
time.sleep(2)
after = rss_kb()
ordered = sorted(latencies)
pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]
print(f"uploads: {' '.join(sorted(statuses))} in {storm:.2f} s")
print(f"/healthz during the storm: {len(ordered)} requests, p50 {pick(0.5):.1f} ms, p99 {pick(0.99):.1f} ms, "
      f"max {ordered[-1]:.1f} ms")
print(f"serving process RSS: before {before / 1024:.1f} MB, peak {peak[0] / 1024:.1f} MB, after {after / 1024:.1f} MB")
