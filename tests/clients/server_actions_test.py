#!/usr/bin/env python3
"""What `argo submit --from`, `stop`, `terminate`, `retry`, `resubmit`, `delete` and
`logs [--follow]` do through skiff server's REST API. Usage: server_actions_test.py SKIFF"""
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from skiffserver import free_port, wait_port



class Api:
    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None, raw=False):
        req = urllib.request.Request(self.base + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                text = r.read().decode()
                return r.status, (text if raw else json.loads(text or "{}"))
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def wait(self, name, phases=("Succeeded", "Failed", "Error"), timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st, wf = self.call("GET", f"/api/v1/workflows/argo/{name}")
            if st == 200 and wf["status"].get("phase") in phases:
                return wf
            time.sleep(0.1)
        raise AssertionError(f"{name} did not reach {phases}")


def read_events(port, name, wanted, timeout=10):
    """Reasons of the events Argo's event stream gives for workflow `name`, read until all
    of `wanted` came (the stream does not end by itself)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("GET", f"/api/v1/stream/events/argo?listOptions.fieldSelector=involvedObject.name%3D{name}")
    r = conn.getresponse()
    reasons = set()
    deadline = time.time() + timeout
    while not wanted <= reasons and time.time() < deadline:
        line = r.fp.readline()
        if not line:
            break
        if line.strip().startswith(b"{"):
            event = json.loads(line)["result"]
            if event["involvedObject"]["name"] == name:
                reasons.add(event["reason"])
    conn.close()
    return reasons


def flaky_template(state_dir):
    return {"template": {"metadata": {"name": "flaky"}, "spec": {
    "entrypoint": "main",
    "arguments": {"parameters": [{"name": "greeting", "value": "hi"}]},
    "volumes": [{"name": "state", "hostPath": {"path": state_dir}}],
    "templates": [
        {"name": "main", "steps": [[{"name": "first", "template": "say"}], [{"name": "second", "template": "once"}]]},
        {"name": "say", "container": {"image": "busybox", "command": ["sh", "-c", "echo first line; echo second line"]}},
        # Fails the first time (no marker yet), succeeds on a retry.
        {"name": "once", "container": {"image": "busybox", "command": ["sh", "-c"], "args": [
            "if [ -e /state/marker ]; then echo fixed; else touch /state/marker; exit 1; fi"],
            "volumeMounts": [{"name": "state", "mountPath": "/state"}]}},
    ]}}}

def omitting_dag(state_dir):
    """`after` depends on `once`, which fails the first time: Omitted, then run by a retry."""
    return {"workflow": {"metadata": {"name": "omits"}, "spec": {
        "entrypoint": "main",
        "volumes": [{"name": "state", "hostPath": {"path": state_dir}}],
        "templates": [
            {"name": "main", "dag": {"tasks": [{"name": "once", "template": "once"},
                                               {"name": "after", "template": "after", "depends": "once"}]}},
            {"name": "once", "container": {"image": "busybox", "command": ["sh", "-c"], "args": [
                "if [ -e /state/dag-marker ]; then echo fixed; else touch /state/dag-marker; exit 1; fi"],
                "volumeMounts": [{"name": "state", "mountPath": "/state"}]}},
            {"name": "after", "container": {"image": "busybox", "command": ["echo", "after ran"]}}]}}}


SLEEPER = {"workflow": {"metadata": {"generateName": "sleepy-"}, "spec": {
    "entrypoint": "main", "onExit": "bye",
    "templates": [{"name": "main", "container": {"image": "busybox", "command": ["sleep", "30"]}},
                  {"name": "bye", "container": {"image": "busybox", "command": ["echo", "exit handler"]}}]}}}


def main():
    skiff = sys.argv[1]
    failures = []

    def check(what, cond, detail=""):
        if not cond:
            failures.append(f"{what} {detail}")

    with tempfile.TemporaryDirectory(prefix="skiff-actions-") as top:
        # The steps' state lives beside the data directory: a hostPath inside it is refused.
        data, state = os.path.join(top, "data"), os.path.join(top, "state")
        os.makedirs(state)
        port = free_port()
        server = subprocess.Popen([skiff, "server", "--data", data, "--port", str(port), "--executor", "host",
                                   "--auth-mode", "server"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True)
        api = Api(f"http://127.0.0.1:{port}")
        try:
            wait_port(port)
            check("template", api.call("POST", "/api/v1/workflow-templates/argo", flaky_template(state))[0] == 200)
            st, wf = api.call("POST", "/api/v1/workflows/argo/submit", {
                "resourceKind": "WorkflowTemplate", "resourceName": "flaky",
                "submitOptions": {"parameters": ["greeting=hello"], "labels": "from=test"}})
            check("submit --from", st == 200 and wf["metadata"]["name"].startswith("flaky-"), f"{st} {wf}")
            name = wf["metadata"]["name"]
            done = api.wait(name)
            check("first run fails", done["status"]["phase"] == "Failed", done["status"].get("phase"))
            reasons = read_events(port, name, {"WorkflowRunning", "WorkflowNodeFailed", "WorkflowFailed"})
            check("event stream tells running, the failed node and the failed workflow",
                  {"WorkflowRunning", "WorkflowNodeFailed", "WorkflowFailed"} <= reasons, reasons)
            check("labels from submitOptions", done["metadata"]["labels"].get("from") == "test", done["metadata"])
            st, logs = api.call("GET", f"/api/v1/workflows/argo/{name}/log?logOptions.container=main", raw=True)
            lines = [json.loads(l)["result"]["content"] for l in logs.splitlines() if l]
            check("logs", st == 200 and "first line" in lines and "second line" in lines, f"{st} {lines}")
            st, _ = api.call("PUT", f"/api/v1/workflows/argo/{name}/retry", {})
            check("retry accepted", st == 200, st)
            again = api.wait(name)
            check("retry succeeds", again["status"]["phase"] == "Succeeded", again["status"])
            pods = [n for n in again["status"]["nodes"].values() if n["type"] == "Pod"]
            check("retry keeps the step that succeeded", sum(1 for n in pods if n["displayName"] == "first") == 1)
            check("retry reruns the failed step",
                  any(n["displayName"] == "second" and n["outputs"].get("result") == "fixed" for n in pods), pods)
            st, again2 = api.call("PUT", f"/api/v1/workflows/argo/{name}/retry", {})
            check("retry of a success is refused", st == 400, f"{st} {again2}")
            st, _ = api.call("POST", "/api/v1/workflows/argo", omitting_dag(state))
            first = api.wait("omits")
            phases = {n["displayName"]: n["phase"] for n in first["status"]["nodes"].values()}
            check("a task after a failed one is Omitted", phases.get("after") == "Omitted", phases)
            api.call("PUT", "/api/v1/workflows/argo/omits/retry", {})
            again = api.wait("omits")
            phases = {n["displayName"]: n["phase"] for n in again["status"]["nodes"].values()}
            check("retry runs the omitted task once its dependency succeeds",
                  again["status"]["phase"] == "Succeeded" and phases.get("after") == "Succeeded", phases)
            st, re = api.call("PUT", f"/api/v1/workflows/argo/{name}/resubmit", {})
            check("resubmit", st == 200 and re["metadata"]["name"].startswith(name + "-"), f"{st} {re}")
            api.wait(re["metadata"]["name"])

            for verb, exit_runs in (("stop", True), ("terminate", False)):
                st, wf = api.call("POST", "/api/v1/workflows/argo", SLEEPER)
                n = wf["metadata"]["name"]
                time.sleep(0.5)
                started = time.time()
                st, _ = api.call("PUT", f"/api/v1/workflows/argo/{n}/{verb}", {})
                check(verb, st == 200, st)
                end = api.wait(n, timeout=20)
                check(f"{verb} ends the workflow quickly", time.time() - started < 15)
                check(f"{verb} fails it", end["status"]["phase"] == "Failed", end["status"])
                ran_exit = any(x["displayName"].endswith("onExit") for x in end["status"]["nodes"].values())
                check(f"{verb}: exit handler {'runs' if exit_runs else 'does not run'}", ran_exit == exit_runs)
            st, _ = api.call("PUT", f"/api/v1/workflows/argo/{name}/stop", {})
            check("stop of a finished workflow", st == 400, st)
            st, _ = api.call("DELETE", f"/api/v1/workflows/argo/{name}")
            check("delete", st == 200 and api.call("GET", f"/api/v1/workflows/argo/{name}")[0] == 404)
        except Exception as e:
            failures.append(f"{type(e).__name__}: {e}")
        finally:
            server.send_signal(signal.SIGTERM)
            out, _ = server.communicate(timeout=30)
            if failures:
                print("server output:\n" + out[-2000:])
    for f in failures:
        print("FAIL:", f)
    print("server-actions: all checks passed" if not failures else f"server-actions: {len(failures)} checks failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
