#!/usr/bin/env python3
"""Artifacts through skiff server: Argo Server's download paths stream what a step stored
(a tar.gz as stored, an archive-none file as it is, a directory as a listing of links), a
token must allow the namespace (in the header or the UI's cookie), and unknown artifacts
and nodes are 404s that say what is missing.
Usage: artifacts_test.py SKIFF"""
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request

from skiffserver import Checks, Server, running

WORKFLOW = {"workflow": {"metadata": {"name": "arts"}, "spec": {
    "entrypoint": "main",
    "templates": [{"name": "main", "container": {"image": "busybox", "command": ["sh", "-c",
                   "echo packed > /tmp/packed.txt; echo plain > /tmp/plain.txt; "
                   "mkdir -p /tmp/dir/sub; echo a > /tmp/dir/a; echo b > /tmp/dir/sub/b"]},
                   "outputs": {"artifacts": [
                       {"name": "packed", "path": "/tmp/packed.txt"},
                       {"name": "plain", "path": "/tmp/plain.txt", "archive": {"none": {}}},
                       {"name": "dir", "path": "/tmp/dir", "archive": {"none": {}}}]}}]}}}


def gc_workflow(name, strategy, where):
    """A workflow whose output artifact has artifactGC `strategy`, set on the artifact or
    (where == "workflow") as the workflow's default."""
    art = {"name": "out", "path": "/tmp/out.txt"}
    spec = {"entrypoint": "main", "templates": [{"name": "main", "container": {
        "image": "busybox", "command": ["sh", "-c", "echo x > /tmp/out.txt"]}, "outputs": {"artifacts": [art]}}]}
    if where == "workflow":
        spec["artifactGC"] = {"strategy": strategy}
    else:
        art["artifactGC"] = {"strategy": strategy}
    return {"workflow": {"metadata": {"name": name}, "spec": spec}}


def stored(data, name):
    """The objects the local repository holds for workflow `name`."""
    root = os.path.join(data, "artifacts", name)
    return [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]


def get(srv, path, headers=None):
    req = urllib.request.Request(srv.base + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def main():
    skiff = sys.argv[1]
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="skiff-artifacts-") as data:
        token = subprocess.run([skiff, "token", "create", "-n", "argo", "--data", data], check=True,
                               capture_output=True, text=True).stdout.strip()
        other = subprocess.run([skiff, "token", "create", "-n", "elsewhere", "--data", data], check=True,
                               capture_output=True, text=True).stdout.strip()
        srv = Server(skiff, data, auth="client", token=token).start()
        with running(check, srv):
            st, body = srv.call("POST", "/api/v1/workflows/argo", WORKFLOW)
            check("submitted", st == 200, f"{st} {body}")
            wf = srv.wait("argo", "arts")
            check("succeeded", wf["status"]["phase"] == "Succeeded", wf["status"])
            node = wf["status"]["nodes"]["arts"]["id"]
            names = sorted(a["name"] for a in wf["status"]["nodes"]["arts"]["outputs"]["artifacts"])
            check("the node lists its artifacts", names == ["dir", "packed", "plain"], names)
            auth = {"Authorization": "Bearer " + token}

            st, raw, headers = get(srv, f"/artifacts/argo/arts/{node}/packed", auth)
            check("/artifacts/ streams the stored tar.gz", st == 200, st)
            if st == 200:
                with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as t:
                    check("the tar holds the file by its base name", t.getnames() == ["packed.txt"], t.getnames())
                    check("with what the step wrote", t.extractfile("packed.txt").read() == b"packed\n")
                check("named in Content-Disposition", 'filename="packed.tgz"' in headers.get("Content-Disposition", ""),
                      headers)

            st, raw, _ = get(srv, f"/artifact-files/argo/workflows/arts/{node}/outputs/plain", auth)
            check("archive none: the file as it is", st == 200 and raw == b"plain\n", f"{st} {raw[:100]}")

            st, raw, _ = get(srv, f"/artifact-files/argo/workflows/arts/{node}/outputs/dir", auth)
            listing = raw.decode(errors="replace")
            check("a directory: a listing of its files", st == 200 and "sub/b" in listing and ">a<" in listing,
                  f"{st} {listing[:300]}")
            st, raw, _ = get(srv, f"/artifact-files/argo/workflows/arts/{node}/outputs/dir/sub/b", auth)
            check("a file of the directory", st == 200 and raw == b"b\n", f"{st} {raw[:100]}")
            st, raw, _ = get(srv, f"/artifact-files/argo/workflows/arts/{node}/outputs/dir/../../x", auth)
            check("no climbing out of the artifact", st in (400, 404), f"{st} {raw[:200]}")

            st, raw, _ = get(srv, f"/artifact-files/argo/workflows/arts/{node}/outputs/plain",
                             {"Cookie": "authorization=Bearer%20" + token})
            check("the UI's cookie is a token too", st == 200 and raw == b"plain\n", f"{st} {raw[:100]}")
            st, raw, _ = get(srv, f"/artifacts/argo/arts/{node}/packed")
            check("no token: 401", st == 401, st)
            st, raw, _ = get(srv, f"/artifacts/argo/arts/{node}/packed", {"Authorization": "Bearer " + other})
            check("another namespace's token: 403", st == 403, st)

            # artifactGC: OnWorkflowCompletion goes when the run ends, OnWorkflowDeletion with
            # the workflow, and an artifact without a strategy stays.
            for name, strategy, where in (("gc-done", "OnWorkflowCompletion", "artifact"),
                                          ("gc-deleted", "OnWorkflowDeletion", "workflow")):
                srv.call("POST", "/api/v1/workflows/argo", gc_workflow(name, strategy, where))
                wf = srv.wait("argo", name)
                check(f"{name} succeeded", wf["status"]["phase"] == "Succeeded", wf["status"])
                art = wf["status"]["nodes"][name]["outputs"]["artifacts"][0]
                check(f"{name}: the artifact records its strategy", art.get("artifactGC", {}).get("strategy") == strategy, art)
            deadline = time.time() + 10
            while stored(data, "gc-done") and time.time() < deadline:
                time.sleep(0.1)
            check("OnWorkflowCompletion: gone once the workflow ended", not stored(data, "gc-done"), stored(data, "gc-done"))
            check("OnWorkflowDeletion: kept while the workflow is", len(stored(data, "gc-deleted")) == 1, stored(data, "gc-deleted"))
            check("no strategy: kept", len(stored(data, "arts")) >= 3, stored(data, "arts"))
            st, _ = srv.call("DELETE", "/api/v1/workflows/argo/gc-deleted")
            deadline = time.time() + 10
            while stored(data, "gc-deleted") and time.time() < deadline:
                time.sleep(0.1)
            check("OnWorkflowDeletion: gone with the workflow", st == 200 and not stored(data, "gc-deleted"),
                  f"{st} {stored(data, 'gc-deleted')}")

            st, raw, _ = get(srv, f"/artifacts/argo/arts/{node}/nothing", auth)
            check("an unknown artifact: 404 naming it", st == 404 and b"nothing" in raw, f"{st} {raw[:200]}")
            st, raw, _ = get(srv, "/artifacts/argo/arts/no-such-node/packed", auth)
            check("an unknown node: 404 naming it", st == 404 and b"no-such-node" in raw, f"{st} {raw[:200]}")
    return check.report("artifacts")


if __name__ == "__main__":
    sys.exit(main())
