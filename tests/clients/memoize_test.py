#!/usr/bin/env python3
"""memoize through `skiff server`: two workflows submitted one after the other share the
cache through its ConfigMap (the second's step is a hit and does not run), the ConfigMap
is visible at GET /api/v1/configmaps/{ns}/{name} with Argo's label and entry, a server
restart keeps it, and deleting the entry makes the next workflow run its step again.
Usage: memoize_test.py SKIFF"""
import json
import sys
import tempfile

from skiffserver import Checks, Server, running

NS = "argo"
CACHE = "uuid-cache"


def workflow(name):
    return {"workflow": {"metadata": {"name": name}, "spec": {
        "entrypoint": "uuid",
        "templates": [{
            "name": "uuid",
            "memoize": {"key": "one-uuid", "maxAge": "1h", "cache": {"configMap": {"name": CACHE}}},
            "container": {"image": "busybox", "command": ["cat", "/proc/sys/kernel/random/uuid"]}}]}}}


def root(wf):
    return wf["status"]["nodes"][wf["metadata"]["name"]]


def run(srv, check, name):
    st, body = srv.call("POST", f"/api/v1/workflows/{NS}", workflow(name))
    check(f"create {name}", st == 200, f"{st} {body}")
    wf = srv.wait(NS, name)
    check(f"{name} succeeds", wf["status"]["phase"] == "Succeeded", wf["status"])
    return root(wf)


def main():
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="skiff-memoize-") as data:
        srv = Server(sys.argv[1], data).start()
        with running(check, srv):
            first = run(srv, check, "memo-one")
            check("the first workflow's step ran (a miss)",
                  first.get("memoizationStatus") == {"hit": False, "key": "one-uuid", "cacheName": CACHE}, first)
            value = first.get("outputs", {}).get("result", "")
            check("it printed a uuid", len(value) == 36, value)

            st, cm = srv.call("GET", f"/api/v1/configmaps/{NS}/{CACHE}")
            check("the cache ConfigMap exists", st == 200, f"{st} {cm}")
            labels = cm.get("metadata", {}).get("labels", {})
            check("it carries Argo's cache label", labels.get("workflows.argoproj.io/configmap-type") == "Cache", labels)
            entry = json.loads(cm.get("data", {}).get("one-uuid", "{}"))
            check("its entry is Argo's: nodeID, outputs, timestamps",
                  entry.get("nodeID") == first["id"] and entry.get("outputs", {}).get("result") == value
                  and entry.get("creationTimestamp", "").endswith("Z") and "lastHitTimestamp" in entry, entry)
            st, listed = srv.call("GET", f"/api/v1/configmaps/{NS}")
            check("listed among the namespace's ConfigMaps",
                  st == 200 and CACHE in [i["metadata"]["name"] for i in listed.get("items", [])], listed)

            second = run(srv, check, "memo-two")
            check("the second workflow's step is a hit",
                  second.get("memoizationStatus") == {"hit": True, "key": "one-uuid", "cacheName": CACHE}, second)
            check("with the first's output: it did not run", second.get("outputs", {}).get("result") == value, second)

            srv.stop()
            srv.start()
            third = run(srv, check, "memo-three")
            check("the cache outlives a server restart", third.get("outputs", {}).get("result") == value, third)

            # Emptied by hand (as kubectl would): the next workflow runs the step again.
            cm_body = {"configMap": {"metadata": {"name": CACHE, "labels": {"workflows.argoproj.io/configmap-type": "Cache"}},
                                     "data": {"unrelated": "x"}}}
            st, body = srv.call("PUT", f"/api/v1/configmaps/{NS}/{CACHE}", cm_body)
            check("replace the cache", st == 200, f"{st} {body}")
            fourth = run(srv, check, "memo-four")
            check("without the entry the step runs again",
                  fourth.get("memoizationStatus", {}).get("hit") is False
                  and len(fourth.get("outputs", {}).get("result", "")) == 36
                  and fourth["outputs"]["result"] != value, fourth)
    return check.report("memoize")


if __name__ == "__main__":
    sys.exit(main())
