#!/usr/bin/env python3
"""Durability: `kill -9` of skiff server in the middle of 50 running workflows, then a
restart on the same data, finishes every one of them correctly, with no node lost or
duplicated. Steps that were running when the server died end Error ("skiff server stopped
while the step ran") and are retried by their retryStrategy; steps that had finished are
not run again (each step appends a line to a file per workflow, which is checked; a lost
step may have done its work before it died, so it may appear twice: at-least-once).
Usage: crash_test.py SKIFF_BINARY"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from skiffserver import free_port, wait_port

COUNT = 50



def call(base, method, path, body=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body else None, method=method)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def start(skiff, data, port):
    p = subprocess.Popen([skiff, "server", "--data", data, "--port", str(port), "--executor", "host",
                          "--auth-mode", "server"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if wait_port(port):
        return p
    raise SystemExit("server did not start")


def workflow(i, marks):
    step = {"name": "step", "inputs": {"parameters": [{"name": "n"}]},
            "retryStrategy": {"limit": 3, "retryPolicy": "Always"},
            "container": {"image": "busybox", "command": ["sh", "-c"],
                          "args": [f"sleep 0.3; echo {{{{inputs.parameters.n}}}} >> /marks/wf-{i}; "
                                   "echo done-{{inputs.parameters.n}}"],
                          "volumeMounts": [{"name": "marks", "mountPath": "/marks"}]}}
    tasks = [{"name": f"t{k}", "template": "step", "arguments": {"parameters": [{"name": "n", "value": str(k)}]},
              **({"dependencies": [f"t{k - 1}"]} if k else {})} for k in range(3)]
    return {"workflow": {"metadata": {"name": f"crash-{i}"},
                         "spec": {"entrypoint": "main", "volumes": [{"name": "marks", "hostPath": {"path": marks}}],
                                  "templates": [{"name": "main", "dag": {"tasks": tasks}}, step]}}}


def main():
    skiff = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory(prefix="skiff-crash-") as top:
        # The marks live beside the data directory: a hostPath inside it is refused.
        data, marks = os.path.join(top, "data"), os.path.join(top, "marks")
        os.makedirs(marks)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start(skiff, data, port)
        for i in range(COUNT):
            call(base, "POST", "/api/v1/workflows/argo", workflow(i, marks))
        time.sleep(0.45)
        before = call(base, "GET", "/api/v1/workflows/argo")["items"]
        running = sum(1 for w in before if w["status"].get("phase") in (None, "Running"))
        server.kill()  # SIGKILL: no chance to save anything more
        server.wait()
        if running == 0:
            failures.append("no workflow was running at the kill: the test proves nothing")
        server = start(skiff, data, port)
        try:
            deadline = time.time() + 90
            while time.time() < deadline:
                items = call(base, "GET", "/api/v1/workflows/argo")["items"]
                if len(items) == COUNT and all(w["status"].get("phase") in ("Succeeded", "Failed", "Error")
                                               for w in items):
                    break
                time.sleep(0.2)
            else:
                failures.append("workflows still unfinished 90 s after the restart")
            lost = 0
            for i in range(COUNT):
                wf = call(base, "GET", f"/api/v1/workflows/argo/crash-{i}")
                if wf["status"].get("phase") != "Succeeded":
                    failures.append(f"crash-{i}: {wf['status'].get('phase')} {wf['status'].get('message')}")
                    continue
                nodes = wf["status"]["nodes"].values()
                names = [n["name"] for n in nodes]
                if len(names) != len(set(names)):
                    failures.append(f"crash-{i}: duplicated node names {sorted(names)}")
                for k in range(3):
                    done = [n for n in nodes if n["type"] == "Pod" and n["name"].startswith(f"crash-{i}.t{k}(")
                            and n["phase"] == "Succeeded"]
                    if len(done) != 1 or done[0]["outputs"].get("result") != f"done-{k}":
                        failures.append(f"crash-{i}: task t{k} has {len(done)} succeeded attempts")
                lost_here = sum(1 for n in nodes if n.get("message") == "skiff server stopped while the step ran")
                lost += lost_here
                # Steps that had finished were not run again. A step lost in the crash may
                # have done its work before it died (at-least-once, as in Argo); it runs again.
                with open(f"{marks}/wf-{i}") as f:
                    lines = f.read().split()
                if sorted(set(lines)) != ["0", "1", "2"] or lines != sorted(lines) or \
                        len(lines) - 3 > lost_here:
                    failures.append(f"crash-{i}: steps ran {lines} with {lost_here} lost")
            if lost == 0:
                failures.append("no step was reported as lost in the crash")
            print(f"{running} of {COUNT} workflows were running at the kill; {lost} steps were lost and retried")
        finally:
            server.send_signal(signal.SIGTERM)
            out, _ = server.communicate(timeout=20)
            if failures:
                print("server output:\n" + out[-2000:])
    for f in failures[:20]:
        print("FAIL:", f)
    print("crash: all checks passed" if not failures else f"crash: {len(failures)} checks failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
