#!/usr/bin/env python3
"""Artifacts through skiff server: Argo Server's download paths stream what a step stored
(a tar.gz as stored, an archive-none file as it is, a directory as a listing of links), a
token must allow the namespace (in the header or the UI's cookie), and unknown artifacts
and nodes are 404s that say what is missing.
Usage: artifacts_test.py SKIFF"""
import io
import subprocess
import sys
import tarfile
import tempfile
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

            st, raw, _ = get(srv, f"/artifacts/argo/arts/{node}/nothing", auth)
            check("an unknown artifact: 404 naming it", st == 404 and b"nothing" in raw, f"{st} {raw[:200]}")
            st, raw, _ = get(srv, "/artifacts/argo/arts/no-such-node/packed", auth)
            check("an unknown node: 404 naming it", st == 404 and b"no-such-node" in raw, f"{st} {raw[:200]}")
    return check.report("artifacts")


if __name__ == "__main__":
    sys.exit(main())
