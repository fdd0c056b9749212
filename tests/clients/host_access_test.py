#!/usr/bin/env python3
"""What a workflow may do to the machine under `skiff server --executor host`. With tokens
(--auth-mode client, the default) the server serves many namespaces: hostPath volumes and
privileged steps are refused unless the operator allows them (--allow-host-path,
--allow-privileged), and no step sees the server's data directory (tokens, database,
other namespaces' secrets and logs). Usage: host_access_test.py SKIFF"""
import os
import subprocess
import sys
import tempfile

from skiffserver import Checks, Server, running


def workflow(name, container, volumes=()):
    container = {"image": "busybox", **container}
    return {"workflow": {"metadata": {"name": name}, "spec": {
        "entrypoint": "main", "volumes": list(volumes),
        "templates": [{"name": "main", "container": container}]}}}


def node_message(wf):
    return " ".join(n.get("message", "") for n in wf["status"].get("nodes", {}).values())


def main():
    skiff = sys.argv[1]
    check = Checks()
    # Not under /tmp: a step's private /tmp would hide it whatever else the sandbox does.
    with tempfile.TemporaryDirectory(prefix="skiff-host-access-", dir="/var/tmp") as top:
        data, shared = os.path.join(top, "data"), os.path.join(top, "shared")
        os.makedirs(shared)
        token = subprocess.run([skiff, "token", "create", "-n", "argo", "--data", data], check=True,
                               capture_output=True, text=True).stdout.strip()
        host_path = workflow("host-path", {"command": ["sh", "-c", "echo from-step > /shared/out"],
                                           "volumeMounts": [{"name": "shared", "mountPath": "/shared"}]},
                             [{"name": "shared", "hostPath": {"path": shared}}])
        privileged = workflow("privileged", {"command": ["true"], "securityContext": {"privileged": True}})
        snoop = workflow("snoop", {"command": ["sh", "-c", f"ls -A {data}; cat {data}/tokens.json || echo hidden"]})

        srv = Server(skiff, data, auth="client", token=token)
        with running(check, srv):
            srv.start()
            for wf in (host_path, privileged, snoop):
                st, body = srv.call("POST", "/api/v1/workflows/argo", wf)
                check(f"submit {wf['workflow']['metadata']['name']}", st == 200, body)
            wf = srv.wait("argo", "host-path")
            check("hostPath is refused by default", wf["status"]["phase"] == "Error", wf["status"])
            check("the message says how to allow it", "--allow-host-path" in node_message(wf), node_message(wf))
            check("nothing was written", not os.path.exists(os.path.join(shared, "out")))
            wf = srv.wait("argo", "privileged")
            check("privileged is refused by default", wf["status"]["phase"] == "Error", wf["status"])
            check("the message says how to allow it", "--allow-privileged" in node_message(wf), node_message(wf))
            wf = srv.wait("argo", "snoop")
            st, log = srv.call("GET", "/api/v1/workflows/argo/snoop/log?logOptions.container=main", raw=True)
            check("a step sees an empty data directory", wf["status"]["phase"] == "Succeeded" and "hidden" in log
                  and '"content":"tokens.json"' not in log and '"content":"skiff.db"' not in log, log)

        srv = Server(skiff, data, "--allow-host-path", "--allow-privileged", auth="client", token=token)
        with running(check, srv):
            srv.start()
            for wf in (host_path, privileged):
                wf["workflow"]["metadata"]["name"] += "-allowed"
                st, body = srv.call("POST", "/api/v1/workflows/argo", wf)
                check("submit", st == 200, body)
                done = srv.wait("argo", wf["workflow"]["metadata"]["name"])
                check(f"{wf['workflow']['metadata']['name']} runs when allowed",
                      done["status"]["phase"] == "Succeeded", done["status"])
            out = os.path.join(shared, "out")
            check("the hostPath step wrote to the host", os.path.exists(out) and open(out).read() == "from-step\n")
    return check.report("host_access_test")


if __name__ == "__main__":
    sys.exit(main())
