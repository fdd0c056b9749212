#!/usr/bin/env python3
"""Large workflows on `skiff server`: a loop past --max-nodes is refused with the limit
named; GET with Argo's `fields` leaves the nodes out when asked; terminate ends a loop of
600 steps (most still waiting for a slot) as Argo does, and delete removes it; with a low
open-file limit, 400 steps at once wait for a slot instead of failing with "Too many open
files". Behaviour only: bench/large_workflow.py measures. Usage: large_workflow_test.py SKIFF"""
import resource
import sys
import tempfile

from skiffserver import Checks, Server, running

FINISHED = ("Succeeded", "Failed", "Error", "Skipped", "Omitted")


def loop(name, count, command, steps=False):
    task = {"name": "t", "template": "s", "withSequence": {"count": str(count)}}
    main = {"name": "main", "steps": [[task]]} if steps else {"name": "main", "dag": {"tasks": [task]}}
    return {"workflow": {"metadata": {"name": name}, "spec": {"entrypoint": "main", "templates": [
        main, {"name": "s", "container": {"image": "busybox", "command": command}}]}}}


def limits_fields_terminate_delete(check, skiff):
    with tempfile.TemporaryDirectory(prefix="skiff-large-") as data:
        srv = Server(skiff, data, "--max-nodes", "1000", "--max-steps", "8").start()
        with running(check, srv):
            for steps in (False, True):
                name = "too-big-steps" if steps else "too-big-dag"
                st, body = srv.call("POST", "/api/v1/workflows/argo", loop(name, 2000, ["true"], steps))
                check(f"{name} is accepted", st == 200, f"{st} {body}")
                wf = srv.wait("argo", name)
                message = wf["status"].get("message", "")
                check(f"{name} ends in Error", wf["status"]["phase"] == "Error", wf["status"])
                check(f"{name} names the limit and its flag",
                      "a loop of 2000 items would take the workflow past the limit of 1000 nodes" in message
                      and "skiff server --max-nodes" in message, message)
                check(f"{name} made no loop children", len(wf["status"].get("nodes", {})) <= 4,
                      len(wf["status"].get("nodes", {})))

            path = "/api/v1/workflows/argo/wide"
            check("create", srv.call("POST", "/api/v1/workflows/argo", loop("wide", 600, ["sleep", "60"]))[0] == 200)
            srv.until(path, lambda wf: any(n["phase"] == "Running" for n in wf["status"].get("nodes", {}).values()),
                      what="a step running")
            st, wf = srv.call("GET", path + "?fields=metadata.name,status.phase")
            check("fields=metadata.name,status.phase keeps just those",
                  st == 200 and wf == {"metadata": {"name": "wide"}, "status": {"phase": "Running"}}, f"{st} {wf}")
            st, wf = srv.call("GET", path + "?fields=-status.nodes")
            check("fields=-status.nodes drops the nodes only",
                  st == 200 and "nodes" not in wf.get("status", {}) and wf.get("spec", {}).get("entrypoint") == "main"
                  and wf["status"].get("phase") == "Running", f"{st} {str(wf)[:300]}")
            st, wf = srv.call("GET", path)
            check("a whole GET has every node", st == 200 and len(wf["status"].get("nodes", {})) == 602,
                  len(wf.get("status", {}).get("nodes", {})))
            st, body = srv.call("GET", "/api/v1/workflows/argo")
            check("the list never carries nodes",
                  st == 200 and all("nodes" not in i.get("status", {}) for i in body["items"]), st)

            st, body = srv.call("PUT", path + "/terminate", {})
            check("terminate", st == 200, f"{st} {str(body)[:300]}")
            wf = srv.wait("argo", "wide")
            check("terminated: Failed with Argo's message",
                  wf["status"]["phase"] == "Failed" and wf["status"].get("message") == "Stopped with strategy 'Terminate'",
                  wf["status"].get("phase") + " " + wf["status"].get("message", ""))
            nodes = wf["status"].get("nodes", {}).values()
            check("every node ended", len(nodes) == 602 and all(n["phase"] in FINISHED for n in nodes),
                  sorted({n["phase"] for n in nodes}))
            st, _ = srv.call("DELETE", path)
            check("delete", st == 200, st)
            check("deleted: 404", srv.call("GET", path)[0] == 404)


def few_open_files(check, skiff):
    """400 steps at once under an open-file limit of 1024 (each running step holds a few)."""
    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

    with tempfile.TemporaryDirectory(prefix="skiff-large-") as data:
        srv = Server(skiff, data)
        srv.preexec = low_limit
        srv.start()
        with running(check, srv):
            check("create", srv.call("POST", "/api/v1/workflows/argo", loop("many", 400, ["sleep", "1"]))[0] == 200)
            wf = srv.wait("argo", "many", timeout=180)
            nodes = wf["status"].get("nodes", {}).values()
            failed = [n.get("message", "") for n in nodes if n["phase"] != "Succeeded"]
            check("all 400 steps succeed", wf["status"]["phase"] == "Succeeded" and not failed,
                  f"{wf['status']['phase']}: {len(failed)} not Succeeded, e.g. {failed[:1]}")


def main():
    check = Checks()
    limits_fields_terminate_delete(check, sys.argv[1])
    few_open_files(check, sys.argv[1])
    return check.report("large_workflow_test")


if __name__ == "__main__":
    sys.exit(main())
