#!/usr/bin/env python3
"""Two skiff servers on one PostgreSQL database, one leading (docs/failover.md): the
first to start leads, the second follows and forwards the API to it (a workflow
submitted through the follower runs on the leader; its log and watch streams and an
error's status come through the follower). Then a chain of four steps, each sleeping 2 s
and passing its output to the next, runs when the leader is SIGKILLed: the follower must
lead within 15 s (measured), adopt the running step, and finish the chain with every step
run exactly once (each appends its number to a file) and the outputs passed along. The
killed server, started again, follows the new leader.
Usage: failover_test.py SKIFF_BINARY POSTGRES_DIR (from tests/postgres/postgres.py)"""
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from skiffserver import Checks, Server

STEPS = 4


def psql(url, sql):
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql")) or ["psql"]
    subprocess.run([found[-1], url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True)


def get(srv, path, timeout=5):
    """(status, body) or (None, error) when nothing answers."""
    try:
        with urllib.request.urlopen(srv.base + path, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")
    except OSError as e:
        return None, str(e)


def role(srv):
    st, body = get(srv, "/healthz", timeout=2)
    return body if st == 200 else {}


def until(what, pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def phase_of(srv, name):
    st, wf = get(srv, f"/api/v1/workflows/argo/{name}")
    return wf.get("status", {}).get("phase") if st == 200 else None


def finished(srv, name, timeout):
    until(f"{name} to finish", lambda: phase_of(srv, name) in ("Succeeded", "Failed", "Error"), timeout)
    return get(srv, f"/api/v1/workflows/argo/{name}")[1]


def chain(marks):
    step = {"name": "step", "inputs": {"parameters": [{"name": "n"}, {"name": "prev"}]},
            "container": {"image": "busybox", "command": ["sh", "-c"],
                          "args": ["sleep 2; echo {{inputs.parameters.n}} >> /marks/chain; "
                                   "echo {{inputs.parameters.prev}}{{inputs.parameters.n}}"],
                          "volumeMounts": [{"name": "marks", "mountPath": "/marks"}]}}
    tasks = []
    for k in range(STEPS):
        prev = f"{{{{tasks.t{k - 1}.outputs.result}}}}" if k else ""
        tasks.append({"name": f"t{k}", "template": "step", **({"dependencies": [f"t{k - 1}"]} if k else {}),
                      "arguments": {"parameters": [{"name": "n", "value": str(k)}, {"name": "prev", "value": prev}]}})
    return {"workflow": {"metadata": {"name": "chain"},
                         "spec": {"entrypoint": "main", "volumes": [{"name": "marks", "hostPath": {"path": marks}}],
                                  "templates": [{"name": "main", "dag": {"tasks": tasks}}, step]}}}


def through_follower(check, leader, follower):
    """The API through the follower: submit, read, an error, a log and a watch stream."""
    wf = {"workflow": {"metadata": {"name": "hello"}, "spec": {"entrypoint": "main", "templates": [
        {"name": "main", "container": {"image": "busybox", "command": ["sh", "-c", "echo hello from the leader"]}}]}}}
    st, body = follower.call("POST", "/api/v1/workflows/argo", wf)
    check("submit through the follower", st == 200, f"{st} {body}")
    wf = finished(follower, "hello", 30)
    check("it ran", wf["status"]["phase"] == "Succeeded", wf["status"])
    direct = get(leader, "/api/v1/workflows/argo/hello")[1]
    check("the follower shows the leader's workflow", direct["status"] == wf["status"])
    st, body = get(follower, "/api/v1/workflows/argo/nothing-here")
    check("an error keeps its status and body", (st, body) == get(leader, "/api/v1/workflows/argo/nothing-here"),
          f"{st} {body}")
    with urllib.request.urlopen(follower.base + "/api/v1/workflows/argo/hello/log?logOptions.container=main",
                                timeout=10) as r:
        log = r.read().decode()
    check("a log streams through the follower", "hello from the leader" in log, log)
    req = urllib.request.Request(follower.base + "/api/v1/workflow-events/argo?listOptions.fieldSelector="
                                 "metadata.name=hello", headers={"Accept": "text/event-stream"})
    with urllib.request.urlopen(req, timeout=10) as r:
        check("a watch streams as server-sent events", r.headers.get("Content-Type", "").startswith(
            "text/event-stream"), r.headers.get("Content-Type"))
        line = r.readline().decode()
        while line.strip() == "":
            line = r.readline().decode()
    check("the watch's first event names the workflow", '"hello"' in line, line)


def main():
    skiff, pgdir = sys.argv[1], sys.argv[2]
    with open(os.path.join(pgdir, "url")) as f:
        base_url = f.read().strip()
    db = f"failover_{os.getpid()}"
    psql(base_url, f"CREATE DATABASE {db}")
    url = base_url.rsplit("/", 1)[0] + "/" + db
    check = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        data, marks = os.path.join(tmp, "data"), os.path.join(tmp, "marks")
        os.makedirs(marks)
        # One machine, so both share the data directory: the steps' supervisors write their
        # results there, and whoever leads next reads them.
        a = Server(skiff, data, "--db", url)
        b = Server(skiff, data, "--db", url)
        try:
            a.start()
            until("a to lead", lambda: role(a).get("role") == "leader", 15)
            b.start()
            r = until("b to follow a", lambda: role(b).get("leader") and role(b), 15)
            check("b follows", r["role"] == "follower", r)
            check("b knows where a is", r["leader"] == a.base, r)
            through_follower(check, a, b)

            st, body = b.call("POST", "/api/v1/workflows/argo", chain(marks))
            check("chain submitted", st == 200, f"{st} {body}")
            st, body = get(b, "/api/v1/workflows/argo?listOptions.fieldSelector=metadata.name%3Dhello")
            names = [w["metadata"]["name"] for w in body.get("items") or []] if st == 200 else body
            check("the query string reaches the leader", names == ["hello"], names)
            until("t1 to run", lambda: any(n.get("displayName") == "t1" and n.get("phase") == "Running" for n in
                                            get(b, "/api/v1/workflows/argo/chain")[1].get("status", {})
                                            .get("nodes", {}).values()), 30)
            killed = time.time()
            a.proc.kill()
            until("b to lead", lambda: role(b).get("role") == "leader", 30)
            took = time.time() - killed
            print(f"takeover: {took:.2f} s from SIGKILL to the follower leading")
            check("takeover within 15 s", took < 15, f"{took:.1f} s")
            a.stop()

            wf = finished(b, "chain", 60)
            check("chain Succeeded", wf["status"]["phase"] == "Succeeded", wf["status"])
            pods = {n["displayName"]: n for n in wf["status"].get("nodes", {}).values() if n["type"] == "Pod"}
            check("one node per step", sorted(pods) == [f"t{k}" for k in range(STEPS)], sorted(pods))
            last = pods.get(f"t{STEPS - 1}", {}).get("outputs", {}).get("result")
            check("outputs passed along the chain", last == "".join(str(k) for k in range(STEPS)), last)
            with open(os.path.join(marks, "chain")) as f:
                ran = f.read().split()
            check("each step ran exactly once", ran == [str(k) for k in range(STEPS)], ran)

            a.start()  # the old leader comes back as a follower
            r = until("a to follow b", lambda: role(a).get("leader") == b.base and role(a), 15)
            check("a follows b", r["role"] == "follower", r)
            check("a serves b's workflows", phase_of(a, "chain") == "Succeeded")
        except Exception as e:  # noqa: BLE001 - reported as a failure
            check("no exception", False, f"{type(e).__name__}: {e}")
        finally:
            out_a, out_b = a.stop(), b.stop()
            if check.failures:
                print("--- a\n" + out_a[-3000:] + "\n--- b\n" + out_b[-3000:])
            psql(base_url, f"DROP DATABASE IF EXISTS {db}")
    return check.report("failover")


if __name__ == "__main__":
    sys.exit(main())
