#!/usr/bin/env python3
"""Steps outlive the server, as Argo's pods outlive its controller: 100 workflows of
sleeping steps, `kill -9` of skiff server while they run, a restart on the same data:
every workflow Succeeds with no retryStrategy to hide a lost step, every step ran exactly
once (each appends its number to a file per workflow), every step's log is complete
(a line before and a line after its sleep), and the outputs of steps that ended while
no server ran arrive. Then the same with a plain SIGTERM restart; and a template's
deadline that passes while no server runs ends its step at once after the restart.
With a test registry, 20 workflows in runc containers are killed and adopted as well.
Usage: crash_test.py SKIFF_BINARY [REGISTRY_DIR]"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from skiffserver import free_port, wait_port

COUNT = 100


def call(base, method, path, body=None, raw=False):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body else None, method=method)
    with urllib.request.urlopen(req, timeout=60) as r:
        data = r.read()
        return data.decode() if raw else json.loads(data)


def start(skiff, data, port, executor=("--executor", "host")):
    p = subprocess.Popen([skiff, "server", "--data", data, "--port", str(port), *executor,
                          "--auth-mode", "server"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if wait_port(port):
        return p
    raise SystemExit("server did not start: " + p.communicate(timeout=10)[0])


def workflow(name, marks):
    step = {"name": "step", "inputs": {"parameters": [{"name": "n"}]},
            "container": {"image": "busybox", "command": ["sh", "-c"],
                          "args": ["echo start-{{inputs.parameters.n}}; sleep 1.5; "
                                   f"echo {{{{inputs.parameters.n}}}} >> /marks/{name}; "
                                   "echo end-{{inputs.parameters.n}}"],
                          "volumeMounts": [{"name": "marks", "mountPath": "/marks"}]}}
    tasks = [{"name": f"t{k}", "template": "step", "arguments": {"parameters": [{"name": "n", "value": str(k)}]},
              **({"dependencies": [f"t{k - 1}"]} if k else {})} for k in range(3)]
    return {"workflow": {"metadata": {"name": name},
                         "spec": {"entrypoint": "main", "volumes": [{"name": "marks", "hostPath": {"path": marks}}],
                                  "templates": [{"name": "main", "dag": {"tasks": tasks}}, step]}}}


def wait_all(base, names, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        items = {w["metadata"]["name"]: w for w in call(base, "GET", "/api/v1/workflows/argo")["items"]}
        if all(items.get(n, {}).get("status", {}).get("phase") in ("Succeeded", "Failed", "Error") for n in names):
            return True
        time.sleep(0.2)
    return False


def check(base, names, marks, failures):
    for name in names:
        wf = call(base, "GET", f"/api/v1/workflows/argo/{name}")
        if wf["status"].get("phase") != "Succeeded":
            failures.append(f"{name}: {wf['status'].get('phase')} {wf['status'].get('message')}")
            continue
        nodes = [n for n in wf["status"]["nodes"].values() if n["type"] == "Pod"]
        if sorted(n["displayName"] for n in nodes) != ["t0", "t1", "t2"]:
            failures.append(f"{name}: pods {sorted(n['displayName'] for n in nodes)}")
        for n in nodes:
            k = n["displayName"][1:]
            if n["outputs"].get("result") != f"start-{k}\nend-{k}":
                failures.append(f"{name}.{n['displayName']}: result {n['outputs'].get('result')!r}")
        with open(os.path.join(marks, name)) as f:
            ran = f.read().split()
        if ran != ["0", "1", "2"]:
            failures.append(f"{name}: steps ran {ran} (each must run exactly once)")
        logs = call(base, "GET", f"/api/v1/workflows/argo/{name}/log?logOptions.container=main", raw=True)
        lines = {json.loads(line)["result"]["content"] for line in logs.splitlines() if line}
        want = {f"{w}-{k}" for w in ("start", "end") for k in range(3)}
        if not want <= lines:
            failures.append(f"{name}: log lacks {sorted(want - lines)}")


def round_trip(skiff, data, port, marks, prefix, how, failures, count=COUNT, executor=("--executor", "host")):
    """Submits `count` workflows, stops the server `how` while steps run, restarts it and
    checks every workflow."""
    base = f"http://127.0.0.1:{port}"
    server = start(skiff, data, port, executor)
    names = [f"{prefix}-{i}" for i in range(count)]
    for name in names:
        call(base, "POST", "/api/v1/workflows/argo", workflow(name, marks))
    time.sleep(1.0)
    mine = [call(base, "GET", f"/api/v1/workflows/argo/{name}") for name in names[::10]]  # a sample
    running = sum(1 for w in mine if w["status"].get("phase") in (None, "Pending", "Running"))
    steps = sum(1 for w in mine for n in w["status"].get("nodes", {}).values()
                if n["type"] == "Pod" and n["phase"] == "Running")
    if how == "kill":
        server.kill()  # SIGKILL: no chance to save anything more
    else:
        server.send_signal(signal.SIGTERM)
    server.communicate(timeout=60)
    if running == 0 or steps == 0:
        failures.append(f"{prefix}: nothing was running at the {how}: the test proves nothing")
    time.sleep(0.8)  # some steps end while no server runs
    server = start(skiff, data, port, executor)
    try:
        if not wait_all(base, names, 120):
            failures.append(f"{prefix}: workflows still unfinished 120 s after the restart")
        check(base, names, marks, failures)
        print(f"{prefix}: of {len(mine)} workflows looked at, {running} and {steps} of their steps were running "
          f"at the {how}")
    finally:
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=60)
        if failures:
            print("server output:\n" + out[-2000:])


def deadline_round(skiff, data, port, failures):
    """A template's activeDeadlineSeconds counts from the step's start, across a restart."""
    base = f"http://127.0.0.1:{port}"
    server = start(skiff, data, port)
    call(base, "POST", "/api/v1/workflows/argo", {"workflow": {
        "metadata": {"name": "deadline"},
        "spec": {"entrypoint": "slow", "templates": [
            {"name": "slow", "activeDeadlineSeconds": 4,
             "container": {"image": "busybox", "command": ["sleep", "60"]}}]}}})
    time.sleep(1.0)
    before = call(base, "GET", "/api/v1/workflows/argo/deadline")["status"]
    server.kill()
    server.communicate(timeout=60)
    time.sleep(4.0)  # the deadline passes while no server runs
    server = start(skiff, data, port)
    try:
        restarted = time.time()
        if not wait_all(base, ["deadline"], 30):
            failures.append("deadline: still running 30 s after the restart")
        took = time.time() - restarted
        after = call(base, "GET", "/api/v1/workflows/argo/deadline")["status"]
        pod = next(n for n in after["nodes"].values() if n["type"] == "Pod")
        old = next(n for n in before["nodes"].values() if n["type"] == "Pod")
        if after["phase"] != "Failed" or "deadline" not in pod.get("message", ""):
            failures.append(f"deadline: {after['phase']} {pod.get('message')}")
        if pod["startedAt"] != old["startedAt"] or after["startedAt"] != before["startedAt"]:
            failures.append(f"deadline: start times changed across the restart: {old['startedAt']} -> "
                            f"{pod['startedAt']}")
        if took > 10:
            failures.append(f"deadline: ended {took:.1f} s after the restart although it had passed")
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=60)


def main():
    skiff = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory(prefix="skiff-crash-") as data, \
            tempfile.TemporaryDirectory(prefix="skiff-crash-marks-") as marks:
        port = free_port()
        round_trip(skiff, data, port, marks, "killed", "kill", failures)
        round_trip(skiff, data, port, marks, "stopped", "term", failures)
        deadline_round(skiff, data, port, failures)
        if len(sys.argv) > 2:  # a test registry (tests/registry/registry.py): runc containers too
            registry = sys.argv[2]
            round_trip(skiff, data, port, marks, "contained", "kill", failures, count=20,
                       executor=("--executor", "container", "--registries", f"{registry}/registries.yaml",
                                 "--registry-config", f"{registry}/config.json"))
    for f in failures[:20]:
        print("FAIL:", f)
    print("crash: all checks passed" if not failures else f"crash: {len(failures)} checks failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
