#!/usr/bin/env python3
"""The sync operation as Argo CD runs it, under `skiff server` with no cluster, on skiff's own
kinds from a file:// repository:

- phases and hooks: a PreSync Workflow hook (host executor: a short sleep), a WorkflowTemplate
  in wave 0 and a PostSync Workflow (generateName, HookSucceeded): the operation is Running
  while the PreSync hook runs, then Succeeded with all three in syncResult in order; the
  PostSync hook is deleted after success; the resource tree shows the hook that is left;
  the next sync replaces the PreSync hook (BeforeHookCreation);
- a failing PreSync hook: the operation Failed with its message, nothing of the Sync phase
  applied, the SyncFail hook ran;
- DELETE .../operation while a hook runs: Failed "operation terminated", the hook deleted;
- app of apps: a parent with child Applications in waves 0 and 1 does not wait for the
  first child's health (Argo CD >= 1.8), and waits for it to be Healthy with argocd-cm's
  resource.customizations.health.argoproj.io_Application.
Usage: cd_hooks_test.py SKIFF"""
import json
import os
import sys
import tempfile
import time

from cd_test import app, git, status, until_status, write
from skiffserver import Checks, Server, running


def workflow(name, hook, script, policy=None, wave=None):
    key = "generateName" if name.endswith("-") else "name"
    annotations = {"argocd.argoproj.io/hook": hook}
    if policy:
        annotations["argocd.argoproj.io/hook-delete-policy"] = policy
    if wave is not None:
        annotations["argocd.argoproj.io/sync-wave"] = str(wave)
    return json.dumps({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                       "metadata": {key: name, "annotations": annotations},
                       "spec": {"entrypoint": "main", "templates": [
                           {"name": "main", "container": {"image": "busybox", "command": ["sh", "-c", script]}}]}})


TEMPLATE = """apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {{name: {name}, annotations: {{argocd.argoproj.io/sync-wave: "0"}}}}
spec:
  entrypoint: hi
  templates: [{{name: hi, container: {{image: busybox, command: [echo, hi]}}}}]
"""


def child(name, wave, path, repo):
    a = app(name, repo, path, automated=False, namespace=name)
    a["metadata"]["annotations"] = {"argocd.argoproj.io/sync-wave": str(wave)}
    return json.dumps(a)


def operation(srv, name):
    return status(srv, name).get("operationState", {})


def sync(srv, name):
    return srv.call("POST", f"/api/v1/applications/{name}/sync?appNamespace=argocd", {})


def main():
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="skiff-cd-hooks-") as data:
        repo = f"{data}/repo"
        os.makedirs(repo)
        git(repo, "init", "-q", "-b", "main")
        write(repo, "phases/pre.yaml", workflow("pre", "PreSync", "sleep 3; exit 0"))
        write(repo, "phases/template.yaml", TEMPLATE.format(name="deployed"))
        write(repo, "phases/post.yaml", workflow("post-", "PostSync", "exit 0", policy="HookSucceeded"))
        write(repo, "failing/pre.yaml", workflow("bad-pre", "PreSync", "echo migration failed; exit 3"))
        write(repo, "failing/template.yaml", TEMPLATE.format(name="never"))
        write(repo, "failing/fail.yaml", workflow("on-fail", "SyncFail", "exit 0"))
        write(repo, "slow/pre.yaml", workflow("slow-pre", "PreSync", "sleep 60"))
        write(repo, "slow/template.yaml", TEMPLATE.format(name="slow"))
        write(repo, "leaf/template.yaml", TEMPLATE.format(name="leaf"))
        for parent in ("parent-plain", "parent-waits"):
            write(repo, f"{parent}/one.yaml", child(f"{parent}-one", 0, "leaf", repo))
            write(repo, f"{parent}/two.yaml", child(f"{parent}-two", 1, "leaf", repo))
        git(repo, "add", "-A")
        head = git(repo, "commit", "-q", "-m", "hooks")

        srv = Server(sys.argv[1], data, "--app-resync", "60").start()
        with running(check, srv):
            # Phases and hooks, over several reconciles.
            check("create", srv.call("POST", "/api/v1/applications", app("phases", repo, "phases", False, "phases"))[0] == 200)
            until_status(srv, "phases", lambda s: s.get("sync", {}).get("status") == "OutOfSync", "OutOfSync")
            check("sync", sync(srv, "phases")[0] == 200)
            s = until_status(srv, "phases", lambda s: s.get("operationState", {}).get("phase") == "Running", "Running")
            op = s["operationState"]
            check("Running while the PreSync hook runs, saying what it waits for",
                  op.get("message") == "waiting for completion of hook argoproj.io/Workflow/pre", op)
            check("nothing of the Sync phase yet", srv.call("GET", "/api/v1/workflow-templates/phases/deployed")[0] == 404)
            check("a second sync is refused while it runs", sync(srv, "phases")[0] == 409)
            s = until_status(srv, "phases", lambda s: s.get("operationState", {}).get("phase") in ("Succeeded", "Failed"),
                             "the end of the operation")
            op = s["operationState"]
            results = op.get("syncResult", {}).get("resources", [])
            check("Succeeded", op.get("phase") == "Succeeded" and op.get("message") == "successfully synced (all tasks run)", op)
            check("all three in syncResult, in order",
                  [(r["name"][:5], r["syncPhase"], r.get("hookType"), r["hookPhase"]) for r in results]
                  == [("pre", "PreSync", "PreSync", "Succeeded"), ("deplo", "Sync", None, "Succeeded"),
                      ("post-", "PostSync", "PostSync", "Succeeded")], results)
            post = results[-1]["name"] if results else ""
            check("a generateName hook is named by revision, phase and start",
                  post.startswith(f"post-{head[:7]}-postsync-"), post)
            check("hooks are not resources of the app",
                  [r["kind"] for r in s.get("resources", [])] == ["WorkflowTemplate"], s.get("resources"))
            check("no ExcludedResourceWarning", "ExcludedResourceWarning" not in json.dumps(s.get("conditions", [])))
            check("the template is applied", srv.call("GET", "/api/v1/workflow-templates/phases/deployed")[0] == 200)
            check("HookSucceeded: the PostSync hook is deleted", srv.call("GET", f"/api/v1/workflows/phases/{post}")[0] == 404)
            st, pre = srv.call("GET", "/api/v1/workflows/phases/pre")
            check("the PreSync hook stays (BeforeHookCreation)", st == 200 and pre["status"]["phase"] == "Succeeded", st)
            tree = srv.call("GET", "/api/v1/applications/phases/resource-tree?appNamespace=argocd")[1]
            names = [n.get("name") for n in tree.get("nodes", [])]
            check("the resource tree shows the hooks that exist", "pre" in names and post not in names, tree)
            first_uid = pre.get("metadata", {}).get("uid")
            time.sleep(1.1)  # a new start time
            check("sync again", sync(srv, "phases")[0] == 200)
            s = until_status(srv, "phases", lambda s: s.get("operationState", {}).get("phase") == "Succeeded"
                             and s["operationState"].get("startedAt") != op.get("startedAt"), "the second sync")
            st, pre = srv.call("GET", "/api/v1/workflows/phases/pre")
            check("BeforeHookCreation: the next sync replaced the hook",
                  st == 200 and pre.get("metadata", {}).get("uid") not in (None, first_uid), pre.get("metadata"))

            # A failing PreSync hook: SyncFail runs, the operation fails, nothing is applied.
            srv.call("POST", "/api/v1/applications", app("failing", repo, "failing", True, "failing"))
            s = until_status(srv, "failing", lambda s: s.get("operationState", {}).get("phase") == "Failed", "Failed", timeout=60)
            # As Argo CD: selfHeal does not sync again at a revision whose last sync failed.
            srv.call("GET", "/api/v1/applications/failing?appNamespace=argocd&refresh=normal")
            time.sleep(2.5)
            again = status(srv, "failing").get("operationState", {})
            check("a failed automated sync is not run again at the same revision (selfHeal)",
                  again.get("phase") == "Failed" and again.get("startedAt") == s["operationState"].get("startedAt"), again)
            op = s["operationState"]
            check("Failed with the hook's message",
                  op["message"].startswith("one or more synchronization tasks completed unsuccessfully, reason:")
                  and "exit code 3" in op["message"], op)
            check("nothing of the Sync phase applied", srv.call("GET", "/api/v1/workflow-templates/failing/never")[0] == 404)
            st, fail = srv.call("GET", "/api/v1/workflows/failing/on-fail")
            check("the SyncFail hook ran", st == 200 and fail["status"]["phase"] == "Succeeded", f"{st} {fail.get('status')}")
            check("SyncFail in syncResult",
                  [r["syncPhase"] for r in op["syncResult"]["resources"]] == ["PreSync", "SyncFail"], op["syncResult"])

            # Terminate while a hook runs.
            srv.call("POST", "/api/v1/applications", app("slow", repo, "slow", False, "slow"))
            until_status(srv, "slow", lambda s: s.get("sync", {}).get("status") == "OutOfSync", "OutOfSync")
            sync(srv, "slow")
            until_status(srv, "slow", lambda s: s.get("operationState", {}).get("phase") == "Running", "Running")
            st, body = srv.call("DELETE", "/api/v1/applications/slow/operation?appNamespace=argocd")
            check("terminate", st == 200, f"{st} {body}")
            s = until_status(srv, "slow", lambda s: s.get("operationState", {}).get("phase") == "Failed", "terminated")
            check("operation terminated", s["operationState"]["message"] == "operation terminated", s["operationState"])
            check("the running hook is deleted", srv.call("GET", "/api/v1/workflows/slow/slow-pre")[0] == 404)
            check("nothing of the Sync phase applied", srv.call("GET", "/api/v1/workflow-templates/slow/slow")[0] == 404)

            # App of apps: Argo CD's default does not wait for a child's health...
            srv.call("POST", "/api/v1/applications", app("parent-plain", repo, "parent-plain", True, "argocd"))
            s = until_status(srv, "parent-plain", lambda s: s.get("operationState", {}).get("phase") == "Succeeded", "synced")
            one = status(srv, "parent-plain-one")
            check("without the option both children are made at once, the first not Healthy",
                  srv.call("GET", "/api/v1/applications/parent-plain-two?appNamespace=argocd")[0] == 200
                  and one.get("health", {}).get("status") != "Healthy", one.get("health"))
            # ... and waits with argocd-cm's health customization for Applications.
            cm = {"metadata": {"name": "argocd-cm", "namespace": "argocd"},
                  "data": {"resource.customizations.health.argoproj.io_Application": "hs = {}\nreturn hs\n"}}
            st, body = srv.call("POST", "/api/v1/configmaps/argocd", {"configMap": cm})
            check("argocd-cm", st == 200, f"{st} {body}")
            srv.call("POST", "/api/v1/applications", app("parent-waits", repo, "parent-waits", True, "argocd"))
            s = until_status(srv, "parent-waits", lambda s: s.get("operationState", {}).get("phase") == "Running"
                             and "Application/parent-waits-one" in s["operationState"].get("message", ""), "waiting for the child")
            check("the parent waits for the first child to be Healthy",
                  s["operationState"]["message"] == "waiting for healthy state of argoproj.io/Application/parent-waits-one",
                  s["operationState"])
            time.sleep(2)
            check("the second child is not made yet",
                  srv.call("GET", "/api/v1/applications/parent-waits-two?appNamespace=argocd")[0] == 404)
            sync(srv, "parent-waits-one")
            until_status(srv, "parent-waits-one", lambda s: s.get("health", {}).get("status") == "Healthy", "the child Healthy")
            s = until_status(srv, "parent-waits", lambda s: s.get("operationState", {}).get("phase") == "Succeeded",
                             "the parent synced")
            check("then the second child is made",
                  srv.call("GET", "/api/v1/applications/parent-waits-two?appNamespace=argocd")[0] == 200)
    return check.report("cd-hooks")


if __name__ == "__main__":
    sys.exit(main())
