#!/usr/bin/env python3
"""`argo suspend`, `resume [--node-field-selector]` and `node set` through the REST API,
and that both a workflow-level suspend and what was set on a Suspend node outlive a
kill -9 of the server. Usage: suspend_test.py SKIFF"""
import sys
import tempfile
import time

from skiffserver import Checks, Server, running

APPROVAL = {"workflow": {"metadata": {"name": "approval"}, "spec": {
    "entrypoint": "main",
    "templates": [
        {"name": "main", "steps": [[{"name": "approve", "template": "ask"}],
                                   [{"name": "use", "template": "echo", "arguments": {"parameters": [
                                       {"name": "v", "value": "{{steps.approve.outputs.parameters.answer}}"}]}}]]},
        {"name": "ask", "suspend": {}, "outputs": {"parameters": [
            {"name": "answer", "valueFrom": {"supplied": {}, "default": "no"}}]}},
        {"name": "echo", "inputs": {"parameters": [{"name": "v"}]},
         "container": {"image": "busybox", "command": ["echo", "answer={{inputs.parameters.v}}"]}}]}}}

TWO_STEPS = {"workflow": {"metadata": {"name": "held"}, "spec": {
    "entrypoint": "main",
    "templates": [
        {"name": "main", "steps": [[{"name": "a", "template": "nap"}], [{"name": "b", "template": "nap"}]]},
        {"name": "nap", "container": {"image": "busybox", "command": ["sleep", "1"]}}]}}}


def node(wf, display):
    return next((n for n in wf["status"].get("nodes", {}).values() if n["displayName"] == display), None)


def main():
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="skiff-suspend-") as data:
        srv = Server(sys.argv[1], data).start()
        with running(check, srv):
            wf_path = "/api/v1/workflows/argo/approval"
            check("create", srv.call("POST", "/api/v1/workflows/argo", APPROVAL)[0] == 200)
            srv.until(wf_path, lambda wf: (node(wf, "approve") or {}).get("phase") == "Running", what="approve running")
            st, body = srv.call("PUT", wf_path + "/set", {"nodeFieldSelector": "displayName=nobody",
                                                          "outputParameters": '{"answer": "yes"}'})
            check("set on no node is 404", st == 404, f"{st} {body}")
            st, body = srv.call("PUT", wf_path + "/set", {"nodeFieldSelector": "colour=red"})
            check("a bad selector is 400", st == 400 and "colour" in body.get("message", ""), f"{st} {body}")
            st, body = srv.call("PUT", wf_path + "/set", {"nodeFieldSelector": "displayName=approve",
                                                          "outputParameters": '{"answer": "yes"}'})
            check("node set", st == 200, f"{st} {body}")
            # The server dies while the node waits: what was set must survive.
            srv.stop(kill=True)
            srv.start()
            wf = srv.until(wf_path, lambda wf: (node(wf, "approve") or {}).get("phase") == "Running",
                           what="approve running after restart")
            params = (node(wf, "approve").get("outputs") or {}).get("parameters", [])
            check("set outputs kept across a restart", {"name": "answer", "value": "yes"} in params, params)
            st, _ = srv.call("PUT", wf_path + "/resume", {"nodeFieldSelector": "displayName=approve"})
            check("resume", st == 200, st)
            wf = srv.wait("argo", "approval")
            check("resumed workflow succeeds", wf["status"]["phase"] == "Succeeded", wf["status"])
            check("the supplied output reaches the next step",
                  (node(wf, "use") or {}).get("outputs", {}).get("result") == "answer=yes", node(wf, "use"))
            st, _ = srv.call("PUT", wf_path + "/resume", {})
            check("resume of a finished workflow is refused", st == 400, st)
            st, _ = srv.call("PUT", "/api/v1/workflows/argo/ghost/suspend", {})
            check("suspend of an unknown workflow is 404", st == 404, st)

            held_path = "/api/v1/workflows/argo/held"
            check("create held", srv.call("POST", "/api/v1/workflows/argo", TWO_STEPS)[0] == 200)
            st, wf = srv.call("PUT", held_path + "/suspend", {})
            check("suspend", st == 200 and wf["spec"].get("suspend") is True, f"{st} {wf.get('spec')}")
            srv.until(held_path, lambda wf: (node(wf, "a") or {}).get("phase") == "Succeeded", what="a to end")
            time.sleep(1.5)
            srv.stop(kill=True)
            srv.start()
            time.sleep(1.5)
            st, wf = srv.call("GET", held_path)
            check("a suspended workflow stays suspended across a restart",
                  (node(wf, "b") or {}).get("phase") == "Pending" and wf["status"].get("phase") == "Running"
                  and (node(wf, "a") or {}).get("phase") == "Succeeded",
                  wf["status"])
            st, wf = srv.call("PUT", held_path + "/resume", {})
            check("resume clears spec.suspend", st == 200 and "suspend" not in wf["spec"], wf.get("spec"))
            wf = srv.wait("argo", "held")
            check("resumed workflow runs its held step", wf["status"]["phase"] == "Succeeded", wf["status"])
    return check.report("suspend")


if __name__ == "__main__":
    sys.exit(main())
