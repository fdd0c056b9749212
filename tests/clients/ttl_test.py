#!/usr/bin/env python3
"""ttlStrategy through skiff server: finished workflows go when their time comes (also
after a restart), the others stay; deleting a workflow takes its logs with it.
Usage: ttl_test.py SKIFF"""
import os
import sys
import tempfile
import time

from skiffserver import Checks, Server, running


def workflow(name, ttl, command="true"):
    return {"workflow": {"metadata": {"name": name}, "spec": {
        "entrypoint": "main", "ttlStrategy": ttl,
        "templates": [{"name": "main", "container": {"image": "busybox", "command": ["sh", "-c", command]}}]}}}


def main():
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="skiff-ttl-") as data:
        srv = Server(sys.argv[1], data).start()
        run_dir = lambda name: os.path.join(data, "runs", "argo", name)  # noqa: E731
        with running(check, srv):
            srv.call("POST", "/api/v1/workflows/argo", workflow("quick", {"secondsAfterCompletion": 1}))
            srv.call("POST", "/api/v1/workflows/argo", workflow("kept", {"secondsAfterSuccess": 600,
                                                                          "secondsAfterFailure": 1}))
            srv.call("POST", "/api/v1/workflows/argo", workflow("failing", {"secondsAfterSuccess": 600,
                                                                             "secondsAfterFailure": 3}, "exit 1"))
            for name in ("quick", "kept", "failing"):
                srv.wait("argo", name)
            check("logs kept while the workflow is", os.path.isdir(run_dir("quick")))
            srv.until("/api/v1/workflows/argo?listOptions.fieldSelector=metadata.name%3Dquick",
                      lambda p: not p.get("items"), timeout=10, what="quick to be deleted")
            check("its logs went with it", not os.path.exists(run_dir("quick")))
            # The server stops before `failing` is due: the new one still deletes it.
            srv.stop(kill=True)
            srv.start()
            srv.until("/api/v1/workflows/argo?listOptions.fieldSelector=metadata.name%3Dfailing",
                      lambda p: not p.get("items"), timeout=15, what="failing to be deleted after a restart")
            time.sleep(1)
            st, _ = srv.call("GET", "/api/v1/workflows/argo/kept")
            check("a success with secondsAfterSuccess 600 stays", st == 200, st)
            st, _ = srv.call("DELETE", "/api/v1/workflows/argo/kept")
            check("delete", st == 200 and not os.path.exists(run_dir("kept")), st)
    return check.report("ttl")


if __name__ == "__main__":
    sys.exit(main())
