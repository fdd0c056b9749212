#!/usr/bin/env python3
"""Figures for Argo CD's Application API on `skiff server` (no controller): the time to
create N Applications one by one, to list them (GET /api/v1/applications, with and without
a label selector), and the time from a sync request until the watch stream reports it.

  app_api.py SKIFF [N]    (default N = 1000)
"""
import json
import os
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "clients"))
from skiffserver import Server  # noqa: E402


def app(i):
    return {"metadata": {"name": f"app-{i}", "labels": {"team": f"t{i % 10}"}},
            "spec": {"source": {"repoURL": "https://git.example.com/web.git", "path": f"apps/{i}"},
                     "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"}}}


def main():
    skiff, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    with tempfile.TemporaryDirectory(prefix="skiff-app-bench-") as data:
        srv = Server(skiff, data).start()
        try:
            t = time.perf_counter()
            for i in range(n):
                st, body = srv.call("POST", "/api/v1/applications", app(i))
                assert st == 200, body
            create = time.perf_counter() - t
            print(f"create {n} apps one by one: {create:.2f} s ({create / n * 1000:.2f} ms each)")
            for query in ("", "?selector=team%3Dt3"):
                t = time.perf_counter()
                st, body = srv.call("GET", "/api/v1/applications" + query)
                print(f"GET /api/v1/applications{query}: {(time.perf_counter() - t) * 1000:.0f} ms, "
                      f"{len(body['items'])} items")
            seen = threading.Event()

            def watch():
                with urllib.request.urlopen(srv.base + "/api/v1/stream/applications?name=app-7", timeout=30) as r:
                    for line in r:
                        if '"MODIFIED"' in line.decode() and '"operation"' in line.decode():
                            seen.set()
                            return
            threading.Thread(target=watch, daemon=True).start()
            time.sleep(1)
            t = time.perf_counter()
            srv.call("POST", "/api/v1/applications/app-7/sync", {"prune": True})
            seen.wait(10)
            print(f"sync request to the watch's MODIFIED event (of {n} apps): "
                  f"{(time.perf_counter() - t) * 1000:.0f} ms" if seen.is_set() else "watch saw nothing in 10 s")
        finally:
            srv.stop()


if __name__ == "__main__":
    main()
