#!/usr/bin/env python3
"""Load on `skiff server`: 1,000 workflows of 3 host-mode steps submitted at once from 16
client threads; prints submissions per second, p50/p99 API latency (submissions, and GETs
while they run), the server's peak memory, how long until all succeeded; then the time to
list 10,000 stored workflows (plus the 1,000), one page of all and pages of 500.
Usage: server_load.py SKIFF [WORKFLOWS] [STORED]"""
import concurrent.futures as cf
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "clients"))
from skiffserver import free_port, wait_port  # noqa: E402



def call(base, method, path, body=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body else None, method=method)
    start = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as r:
        data = json.loads(r.read())
    return data, time.perf_counter() - start


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] * 1000


def three_steps(i):
    step = {"name": "s", "container": {"image": "busybox", "command": ["true"]}}
    return {"workflow": {"metadata": {"name": f"load-{i}"}, "spec": {"entrypoint": "main", "templates": [
        {"name": "main", "steps": [[{"name": "a", "template": "s"}], [{"name": "b", "template": "s"}],
                                   [{"name": "c", "template": "s"}]]}, step]}}}


def skipped(i):  # finishes without a process: for filling the store
    return {"workflow": {"metadata": {"name": f"stored-{i}", "labels": {"batch": str(i % 10)}},
                         "spec": {"entrypoint": "main", "templates": [
                             {"name": "main", "steps": [[{"name": "a", "template": "s", "when": "false"}]]},
                             {"name": "s", "container": {"image": "busybox", "command": ["true"]}}]}}}


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0


def main():
    skiff = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    stored = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    with tempfile.TemporaryDirectory(prefix="skiff-load-") as data:
        port = free_port()
        server = subprocess.Popen([skiff, "server", "--data", data, "--port", str(port), "--executor", "host",
                                   "--auth-mode", "server"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_port(port)
            start = time.perf_counter()
            with cf.ThreadPoolExecutor(16) as pool:
                latencies = [lat for _, lat in pool.map(lambda i: call(base, "POST", "/api/v1/workflows/argo",
                                                                       three_steps(i)), range(count))]
            submitted = time.perf_counter() - start
            gets = []
            while True:
                page, lat = call(base, "GET", "/api/v1/workflows/argo?listOptions.labelSelector="
                                              "workflows.argoproj.io/completed=false&listOptions.limit=1")
                gets.append(lat)
                if not page["items"]:
                    break
                _, lat = call(base, "GET", f"/api/v1/workflows/argo/load-{len(gets) % count}")
                gets.append(lat)
                time.sleep(0.05)
            all_done = time.perf_counter() - start
            page, _ = call(base, "GET", "/api/v1/workflows/argo?listOptions.labelSelector="
                                        "workflows.argoproj.io/phase=Succeeded")
            succeeded = len(page["items"])
            rss = peak_rss_mb(server.pid)
            print(f"{count} workflows x 3 host steps, submitted by 16 threads")
            print(f"  submissions/s           {count / submitted:8.0f}   ({submitted:.2f} s for all)")
            print(f"  submit latency p50/p99  {pct(latencies, 0.5):8.1f} / {pct(latencies, 0.99):.1f} ms")
            print(f"  GET latency p50/p99     {pct(gets, 0.5):8.1f} / {pct(gets, 0.99):.1f} ms (while running)")
            print(f"  all finished after      {all_done:8.2f} s   ({succeeded} Succeeded)")
            print(f"  server peak RSS         {rss:8.0f} MB")
            with cf.ThreadPoolExecutor(16) as pool:
                list(pool.map(lambda i: call(base, "POST", "/api/v1/workflows/argo", skipped(i)), range(stored)))
            while call(base, "GET", "/api/v1/workflows/argo?listOptions.labelSelector="
                                    "workflows.argoproj.io/completed=false&listOptions.limit=1")[0]["items"]:
                time.sleep(0.1)
            page, full = call(base, "GET", "/api/v1/workflows/argo")
            pages, token, paged = 0, "", time.perf_counter()
            while True:
                p, _ = call(base, "GET", "/api/v1/workflows/argo?listOptions.limit=500" +
                            (f"&listOptions.continue={token}" if token else ""))
                pages += 1
                token = p["metadata"].get("continue", "")
                if not token:
                    break
            paged = time.perf_counter() - paged
            _, selected = call(base, "GET", "/api/v1/workflows/argo?listOptions.labelSelector=batch%3D3")
            print(f"list of {len(page['items'])} stored workflows")
            print(f"  one page                {full * 1000:8.0f} ms")
            print(f"  {pages} pages of 500         {paged * 1000:8.0f} ms")
            print(f"  label selector (1/10)   {selected * 1000:8.0f} ms")
            print(f"  server peak RSS         {peak_rss_mb(server.pid):8.0f} MB")
            if succeeded != count:
                print(f"FAIL: {count - succeeded} workflows did not succeed")
                sys.exit(1)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
