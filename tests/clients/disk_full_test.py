#!/usr/bin/env python3
"""A full disk loses no workflow: the server's data directory is a small tmpfs; a step
ends while it is full, and once space returns its workflow finishes with the step's real
result (not Running forever, not Error). A DELETE while the disk is full works.
Needs root (it mounts the tmpfs). Usage: disk_full_test.py SKIFF_BINARY"""
import os
import subprocess
import sys
import tempfile
import time

from skiffserver import Server

failures = []


def check(what, ok, detail=""):
    if not ok:
        failures.append(f"{what}: {detail}")


def fill(path):
    """Writes zeros to `path` until the disk is full (the last blocks too)."""
    with open(path, "wb", buffering=0) as f:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError:
                pass


def phase(api, name):
    st, wf = api.call("GET", f"/api/v1/workflows/argo/{name}")
    return wf.get("status", {}).get("phase") if st == 200 else st


def main():
    if os.geteuid() != 0:
        print("disk-full: needs root to mount a tmpfs")
        sys.exit(77)
    skiff = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="skiff-diskfull-") as top:
        data = os.path.join(top, "data")
        os.makedirs(data)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", data], check=True)
        server = Server(skiff, data)
        try:
            server.start()
            api = server
            done = {"workflow": {"metadata": {"name": "done"}, "spec": {"entrypoint": "a", "templates": [
                {"name": "a", "container": {"image": "busybox", "command": ["sh", "-c", "echo hello"]}}]}}}
            st, _ = api.call("POST", "/api/v1/workflows/argo", done)
            check("submit done", st == 200, st)
            slow = {"workflow": {"metadata": {"name": "slow"}, "spec": {"entrypoint": "a", "templates": [
                {"name": "a", "container": {"image": "busybox", "command": ["sh", "-c", "sleep 2; echo finished"]}}]}}}
            st, _ = api.call("POST", "/api/v1/workflows/argo", slow)
            check("submit slow", st == 200, st)
            deadline = time.time() + 20
            while time.time() < deadline and phase(api, "done") != "Succeeded":
                time.sleep(0.1)
            check("first workflow succeeds", phase(api, "done") == "Succeeded", phase(api, "done"))

            filler = os.path.join(data, "filler")
            fill(filler)
            time.sleep(3.5)  # the slow step ends while the disk is full
            st, _ = api.call("DELETE", "/api/v1/workflows/argo/done")
            check("DELETE while the disk is full", st == 200, st)
            st, _ = api.call("GET", "/api/v1/workflows/argo/done")
            check("deleted workflow is gone", st == 404, st)

            os.unlink(filler)
            deadline = time.time() + 20
            while time.time() < deadline and phase(api, "slow") not in ("Succeeded", "Failed", "Error"):
                time.sleep(0.2)
            st, wf = api.call("GET", "/api/v1/workflows/argo/slow")
            check("the step that ended on a full disk succeeds once space returns",
                  wf["status"].get("phase") == "Succeeded", wf.get("status"))
            pod = [n for n in wf["status"].get("nodes", {}).values() if n["type"] == "Pod"]
            check("its output arrived", pod and pod[0]["outputs"].get("result") == "finished", pod)
        finally:
            out = server.stop()
            subprocess.run(["umount", "-l", data])
            if failures:
                print("server output:\n" + out[-3000:])
    for f in failures:
        print("FAIL:", f)
    print("disk-full: all checks passed" if not failures else f"disk-full: {len(failures)} checks failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
