#!/usr/bin/env python3
"""Synchronization on `skiff server`: workflows with the same workflow-level mutex run one
after the other (the second Pending with Argo's waiting message and status.synchronization
until the first ends); a template-level mutex shows its waiting node; a semaphore's limit
comes from a ConfigMap; a kill -9 of the server while a workflow holds a mutex neither
lets the waiter in early nor deadlocks; deleting the holder lets the waiter in.
Usage: sync_test.py SKIFF"""
import sys
import tempfile
import time

from skiffserver import Checks, Server, running

NS = "argo"


def wf_level(name, mutex, seconds):
    return {"workflow": {"metadata": {"name": name}, "spec": {
        "entrypoint": "main",
        "synchronization": {"mutexes": [{"name": mutex}]},
        "templates": [{"name": "main", "container": {"image": "busybox", "command": ["sleep", str(seconds)]}}]}}}


def tmpl_level(name, mutex, seconds):
    return {"workflow": {"metadata": {"name": name}, "spec": {
        "entrypoint": "main",
        "templates": [
            {"name": "main", "steps": [[{"name": "locked", "template": "locked"}]]},
            {"name": "locked", "synchronization": {"mutexes": [{"name": mutex}]},
             "container": {"image": "busybox", "command": ["sleep", str(seconds)]}}]}}}


def path(name):
    return f"/api/v1/workflows/{NS}/{name}"


def phase(wf):
    return wf.get("status", {}).get("phase")


def node(wf, display):
    return next((n for n in wf.get("status", {}).get("nodes", {}).values() if n["displayName"] == display), None)


def main():
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="skiff-sync-") as data:
        srv = Server(sys.argv[1], data).start()
        with running(check, srv):
            # 1. Workflow-level mutex: the second waits, Pending, until the first ends.
            check("create first", srv.call("POST", f"/api/v1/workflows/{NS}", wf_level("first", "gate", 3))[0] == 200)
            srv.until(path("first"), lambda wf: phase(wf) == "Running", what="first running")
            check("create second", srv.call("POST", f"/api/v1/workflows/{NS}", wf_level("second", "gate", 0))[0] == 200)
            second = srv.until(path("second"), lambda wf: "Waiting" in wf.get("status", {}).get("message", ""),
                               what="second waiting")
            st = second["status"]
            check("second is Pending", st.get("phase") == "Pending", st)
            check("second says what it waits for",
                  st.get("message") == f"Waiting for {NS}/Mutex/gate lock. Lock status: 0/1", st.get("message"))
            check("second's status.synchronization names who holds the mutex",
                  st.get("synchronization") == {"mutex": {"waiting": [{"mutex": f"{NS}/Mutex/gate", "holder": f"{NS}/first"}]}},
                  st.get("synchronization"))
            check("second has no nodes yet", not st.get("nodes"), st.get("nodes"))
            _, first = srv.call("GET", path("first"))
            check("first's status.synchronization holds the mutex",
                  first["status"].get("synchronization") ==
                  {"mutex": {"holding": [{"mutex": f"{NS}/Mutex/gate", "holder": f"{NS}/first"}]}},
                  first["status"].get("synchronization"))
            first = srv.wait(NS, "first")
            second = srv.wait(NS, "second")
            check("both succeed", phase(first) == "Succeeded" and phase(second) == "Succeeded",
                  f"{first['status']} {second['status']}")
            started = second["status"]["nodes"]["second"]["startedAt"]
            check("second ran after first ended", started >= first["status"]["finishedAt"],
                  f"{started} < {first['status']['finishedAt']}")
            check("nothing held once ended", "synchronization" not in second["status"], second["status"])

            # 2. Template-level mutex across two workflows: the node waits, Pending.
            srv.call("POST", f"/api/v1/workflows/{NS}", tmpl_level("tmpl-a", "shared", 3))
            srv.until(path("tmpl-a"), lambda wf: (node(wf, "locked") or {}).get("phase") == "Running", what="a running")
            srv.call("POST", f"/api/v1/workflows/{NS}", tmpl_level("tmpl-b", "shared", 0))
            b = srv.until(path("tmpl-b"), lambda wf: (node(wf, "locked") or {}).get("synchronizationStatus"),
                          what="b's node waiting")
            n = node(b, "locked")
            check("b's node is Pending and waits for the mutex",
                  n["phase"] == "Pending" and n["synchronizationStatus"] == {"waiting": f"{NS}/Mutex/shared"}
                  and n.get("message") == f"Waiting for {NS}/Mutex/shared lock. Lock status: 0/1", n)
            check("b runs while its node waits", phase(b) == "Running", b["status"])
            check("b's status.synchronization waits on a's node",
                  b["status"].get("synchronization", {}).get("mutex", {}).get("waiting", [{}])[0].get("holder", "")
                  .startswith(f"{NS}/tmpl-a/"), b["status"].get("synchronization"))
            check("b succeeds after a", phase(srv.wait(NS, "tmpl-b")) == "Succeeded")
            check("a succeeds", phase(srv.wait(NS, "tmpl-a")) == "Succeeded")

            # 3. The server is killed while `holder` holds a mutex and `waiter` waits for it:
            # after the restart the waiter still waits until the holder ends, then runs.
            srv.call("POST", f"/api/v1/workflows/{NS}", wf_level("holder", "door", 4))
            srv.until(path("holder"), lambda wf: phase(wf) == "Running", what="holder running")
            srv.call("POST", f"/api/v1/workflows/{NS}", wf_level("waiter", "door", 0))
            srv.until(path("waiter"), lambda wf: "Waiting" in wf.get("status", {}).get("message", ""), what="waiter waiting")
            time.sleep(0.5)
            srv.stop(kill=True)
            srv.start()
            time.sleep(1)
            _, holder = srv.call("GET", path("holder"))
            _, waiter = srv.call("GET", path("waiter"))
            check("after a restart the holder goes on and the waiter still waits",
                  phase(waiter) == "Pending" or phase(holder) in ("Succeeded", "Failed"),
                  f"{holder['status']} {waiter['status']}")
            holder = srv.wait(NS, "holder")
            waiter = srv.wait(NS, "waiter")
            check("both end well after the restart", phase(holder) == "Succeeded" and phase(waiter) == "Succeeded",
                  f"{holder['status']} {waiter['status']}")
            check("the waiter ran after the holder ended",
                  waiter["status"]["nodes"]["waiter"]["startedAt"] >= holder["status"]["finishedAt"],
                  f"{waiter['status']} {holder['status']}")

            # 4. Deleting a holder that runs lets the waiter in (its lock is not leaked).
            srv.call("POST", f"/api/v1/workflows/{NS}", wf_level("long", "exit", 60))
            srv.until(path("long"), lambda wf: phase(wf) == "Running", what="long running")
            srv.call("POST", f"/api/v1/workflows/{NS}", wf_level("next", "exit", 0))
            srv.until(path("next"), lambda wf: "Waiting" in wf.get("status", {}).get("message", ""), what="next waiting")
            st, _ = srv.call("DELETE", path("long"))
            check("delete the holder", st == 200, st)
            check("the waiter runs once the holder is deleted", phase(srv.wait(NS, "next", timeout=20)) == "Succeeded")

            # 5. A semaphore with limit 2 from a ConfigMap, over three workflows.
            st, body = srv.call("POST", f"/api/v1/configmaps/{NS}",
                                {"configMap": {"metadata": {"name": "limits"}, "data": {"workflow": "2"}}})
            check("create the ConfigMap", st == 200, f"{st} {body}")
            sem = lambda name: {"workflow": {"metadata": {"name": name}, "spec": {
                "entrypoint": "main",
                "synchronization": {"semaphores": [{"configMapKeyRef": {"name": "limits", "key": "workflow"}}]},
                "templates": [{"name": "main", "container": {"image": "busybox", "command": ["sleep", "2"]}}]}}}
            if st == 200:
                for name in ("s1", "s2", "s3"):
                    srv.call("POST", f"/api/v1/workflows/{NS}", sem(name))
                s3 = srv.until(path("s3"), lambda wf: "Waiting" in wf.get("status", {}).get("message", ""),
                               what="the third waiting")
                check("the third waits for the semaphore of 2",
                      s3["status"]["message"] == f"Waiting for {NS}/ConfigMap/limits/workflow lock. Lock status: 0/2",
                      s3["status"])
                for name in ("s1", "s2", "s3"):
                    check(f"{name} succeeds", phase(srv.wait(NS, name)) == "Succeeded")
    return check.report("sync")


if __name__ == "__main__":
    sys.exit(main())
