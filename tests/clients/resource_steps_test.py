#!/usr/bin/env python3
"""Resource steps under `skiff server`, on skiff's own kinds: a child Workflow and a
ConfigMap made with setOwnerReference go when their parent workflow is deleted (child
workflows with their own children); a CronWorkflow and a WorkflowTemplate made by steps
pass the API's checks and show in its lists; Applications made and deleted by steps (one
with finalizers finalized by the controller); the step's log says what it did.
Usage: resource_steps_test.py SKIFF"""
import sys
import tempfile
import time

from skiffserver import Checks, Server, running


def owner_workflow(name, depth):
    """A workflow whose step creates a child (owned) that creates a grandchild, and a
    ConfigMap, both owned."""
    child = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
             "metadata": {"name": f"{name}-child"},
             "spec": {"entrypoint": "say", "templates": [
                 {"name": "say", "container": {"image": "busybox", "command": ["echo", "child"]}}]}}
    if depth > 1:
        child = owner_workflow(f"{name}-child", depth - 1)["workflow"]
        child["apiVersion"], child["kind"] = "argoproj.io/v1alpha1", "Workflow"
    import json
    return {"workflow": {"metadata": {"name": name}, "spec": {
        "entrypoint": "main",
        "templates": [
            {"name": "main", "steps": [[{"name": "child", "template": "child"}, {"name": "cm", "template": "cm"}]]},
            {"name": "child", "resource": {
                "action": "create", "setOwnerReference": True,
                "successCondition": "status.phase == Succeeded", "failureCondition": "status.phase in (Failed, Error)",
                "manifest": json.dumps(child)}},
            {"name": "cm", "resource": {
                "action": "create", "setOwnerReference": True,
                "manifest": json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                                        "metadata": {"name": f"{name}-settings"}, "data": {"a": "b"}})}}]}}}


STORE = {"workflow": {"metadata": {"name": "stores"}, "spec": {
    "entrypoint": "main",
    "templates": [
        {"name": "main", "steps": [[{"name": "template", "template": "template"}], [{"name": "cron", "template": "cron"}]]},
        {"name": "template", "resource": {"action": "apply", "manifest": """
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: from-a-step}
spec:
  entrypoint: hi
  templates:
    - name: hi
      container: {image: busybox, command: [echo, hi]}
"""}},
        {"name": "cron", "resource": {"action": "create", "manifest": """
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  workflowSpec:
    workflowTemplateRef: {name: from-a-step}
"""}}]}}}

BAD_CRON = {"workflow": {"metadata": {"name": "bad-cron"}, "spec": {
    "entrypoint": "cron",
    "templates": [{"name": "cron", "resource": {"action": "create", "manifest": """
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: never}
spec:
  schedule: "61 * * * *"
  workflowSpec: {entrypoint: x, templates: [{name: x, container: {image: busybox}}]}
"""}}]}}}


def app_manifest(name, extra_meta="", project="default"):
    return f"""
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: {name}{extra_meta}}}
spec:
  project: {project}
  source: {{repoURL: "https://git.example.com/web.git", path: deploy}}
  destination: {{server: "https://kubernetes.default.svc", namespace: web}}
"""


# Applications made and deleted by steps, as the reference pipeline's deploy-application and
# delete-application: kept by skiff itself; one with the resources finalizer is left to the
# controller (marked), one without goes at once; a missing project fails the step. Steps
# act in their workflow's namespace only, so these live in "argo" (appNamespace=argo).
DEPLOY = {"workflow": {"metadata": {"name": "deploy"}, "spec": {
    "entrypoint": "main",
    "templates": [
        {"name": "main", "steps": [[{"name": "kept", "template": "kept"}, {"name": "plain", "template": "plain"}],
                                   [{"name": "rm-kept", "template": "rm-kept"}, {"name": "rm-plain", "template": "rm-plain"}]]},
        {"name": "kept", "resource": {"action": "create", "manifest": app_manifest(
            "kept", ", finalizers: [resources-finalizer.argocd.argoproj.io]")}},
        {"name": "plain", "resource": {"action": "apply", "manifest": app_manifest("plain")}},
        {"name": "rm-kept", "resource": {"action": "delete", "manifest": app_manifest("kept")}},
        {"name": "rm-plain", "resource": {"action": "delete", "manifest": app_manifest("plain")}}]}}}

LOST = {"workflow": {"metadata": {"name": "lost"}, "spec": {
    "entrypoint": "app",
    "templates": [{"name": "app", "resource": {"action": "create", "manifest": app_manifest("lost", project="nowhere")}}]}}}


def main():
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="skiff-resource-") as data:
        srv = Server(sys.argv[1], data).start()
        with running(check, srv):
            st, body = srv.call("POST", "/api/v1/workflows/argo", owner_workflow("top", 2))
            check("create", st == 200, body)
            wf = srv.wait("argo", "top")
            check("the parent succeeds once its child did", wf["status"]["phase"] == "Succeeded", wf["status"])
            for name in ("top-child", "top-child-child"):
                st, child = srv.call("GET", f"/api/v1/workflows/argo/{name}")
                check(f"{name} ran", st == 200 and child["status"]["phase"] == "Succeeded", child.get("status"))
                owners = child.get("metadata", {}).get("ownerReferences", [])
                check(f"{name} names its owner", len(owners) == 1 and owners[0]["kind"] == "Workflow", owners)
            st, cm = srv.call("GET", "/api/v1/configmaps/argo/top-settings")
            check("the owned ConfigMap exists", st == 200 and cm.get("data") == {"a": "b"}, f"{st} {cm}")
            node = next(n for n in wf["status"]["nodes"].values() if n["displayName"] == "cm")
            st, log = srv.call("GET", f"/api/v1/workflows/argo/top/log?logOptions.container=main&podName={node['id']}", raw=True)
            check("the step's log says what it did", st == 200 and "ConfigMap argo/top-settings created" in log, f"{st} {log[:500]}")

            st, _ = srv.call("DELETE", "/api/v1/workflows/argo/top")
            check("delete the parent", st == 200, st)
            for name in ("top-child", "top-child-child"):
                st, _ = srv.call("GET", f"/api/v1/workflows/argo/{name}")
                check(f"{name} went with its owner", st == 404, st)
            st, _ = srv.call("GET", "/api/v1/configmaps/argo/top-settings")
            check("the owned ConfigMap went with its owner", st == 404, st)

            check("create stores", srv.call("POST", "/api/v1/workflows/argo", STORE)[0] == 200)
            wf = srv.wait("argo", "stores")
            check("stores succeeds", wf["status"]["phase"] == "Succeeded", wf["status"])
            st, t = srv.call("GET", "/api/v1/workflow-templates/argo/from-a-step")
            check("the template is served by the API", st == 200 and t["metadata"]["name"] == "from-a-step", f"{st} {t}")
            st, c = srv.call("GET", "/api/v1/cron-workflows/argo/nightly")
            check("the CronWorkflow is served by the API", st == 200 and c["spec"]["schedule"] == "0 3 * * *", f"{st} {c}")

            check("create bad-cron", srv.call("POST", "/api/v1/workflows/argo", BAD_CRON)[0] == 200)
            wf = srv.wait("argo", "bad-cron")
            node = next(iter(wf["status"]["nodes"].values()))
            check("a CronWorkflow the API refuses fails the step with the API's reason",
                  wf["status"]["phase"] == "Failed" and "61" in node.get("message", ""), node)

            check("create deploy", srv.call("POST", "/api/v1/workflows/argo", DEPLOY)[0] == 200)
            wf = srv.wait("argo", "deploy")
            check("deploy succeeds", wf["status"]["phase"] == "Succeeded", wf["status"])
            # With the finalizer, the delete is the controller's: it deletes what the app made,
            # then the app.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and srv.call("GET", "/api/v1/applications/kept?appNamespace=argo")[0] != 404:
                time.sleep(0.2)
            st, app = srv.call("GET", "/api/v1/applications/kept?appNamespace=argo")
            check("an Application with finalizers goes once the controller finalized it", st == 404, f"{st} {app}")
            st, _ = srv.call("GET", "/api/v1/applications/plain?appNamespace=argo")
            check("one without finalizers went at once", st == 404, st)
            check("create lost", srv.call("POST", "/api/v1/workflows/argo", LOST)[0] == 200)
            wf = srv.wait("argo", "lost")
            node = next(iter(wf["status"]["nodes"].values()))
            check("an Application naming a missing project fails its step with Argo CD's reason",
                  wf["status"]["phase"] == "Failed" and "project nowhere which does not exist" in node.get("message", ""), node)
    return check.report("resource steps")


if __name__ == "__main__":
    sys.exit(main())
