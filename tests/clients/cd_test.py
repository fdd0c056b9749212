#!/usr/bin/env python3
"""Applications under `skiff server` with no cluster: a git repository (file://, made and
pushed to by the test) holding skiff's own kinds is synced into skiff.

- automated sync: the app becomes Synced and Healthy, its WorkflowTemplate and CronWorkflow
  exist with Argo CD's tracking annotation, history has the revision;
- a new commit and a refresh update the template; a removed file is pruned;
- a manual app is OutOfSync until POST .../sync; rollback to a history id;
- a workflow's resource step creates an Application and waits for it to be Healthy (the
  reference pipeline's deploy step);
- a missing path and a kind that needs a cluster end in conditions with clear messages;
- RespectIgnoreDifferences keeps an ignored field's live value through a selfHeal sync;
- delete with cascade removes what the app made.
Usage: cd_test.py SKIFF"""
import json
import os
import subprocess
import sys
import tempfile
import time

from skiffserver import Checks, Server, running

TEMPLATE = """apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: hello-tmpl
spec:
  entrypoint: hi
  templates:
    - name: hi
      container: {{image: busybox, command: [echo, "{message}"]}}
"""
CRON = """apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata:
  name: nightly
spec:
  schedule: "0 3 * * *"
  workflowSpec:
    workflowTemplateRef: {name: hello-tmpl}
"""


def git(repo, *args):
    subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True,
                   env=dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
                            GIT_COMMITTER_EMAIL="t@t"))
    return subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()


def write(repo, path, text):
    os.makedirs(os.path.dirname(f"{repo}/{path}"), exist_ok=True)
    with open(f"{repo}/{path}", "w") as f:
        f.write(text)


def repo_credentials(skiff, data, kind, url, env):
    """As Argo CD keeps them, in argocd: a Secret (type `kind`, url prefix, the git server's
    user and password) and the server's CA in argocd-tls-certs-cm (tests/git/gitserver.py's env)."""
    def cli(*args):
        subprocess.run([skiff, *args, "-n", "argocd", "--data", data], check=True, capture_output=True)
    cli("secret", "create", "generic", f"{kind}-repo", "--from-literal", f"type={kind}", "--from-literal", f"url={url}",
        "--from-literal", f"username={env['username']}", "--from-literal", f"password={env['password']}")
    cli("configmap", "create", "argocd-tls-certs-cm", "--from-file", f"127.0.0.1={env['ca_file']}")


def app(name, repo, path, automated=True, namespace="argo"):
    a = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
         "metadata": {"name": name, "namespace": "argocd"},
         "spec": {"project": "default",
                  "source": {"repoURL": f"file://{repo}", "path": path, "targetRevision": "HEAD"},
                  "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace}}}
    if automated:
        a["spec"]["syncPolicy"] = {"automated": {"prune": True, "selfHeal": True}}
    return a


def status(srv, name):
    st, a = srv.call("GET", f"/api/v1/applications/{name}?appNamespace=argocd")
    return a.get("status", {}) if st == 200 else {}


def until_status(srv, name, pred, what, timeout=30):
    deadline = time.monotonic() + timeout
    last = {}
    while time.monotonic() < deadline:
        last = status(srv, name)
        if pred(last):
            return last
        time.sleep(0.2)
    raise AssertionError(f"{name}: no {what} within {timeout} s: {json.dumps(last)[:1500]}")


def synced(s, revision=None):
    return (s.get("sync", {}).get("status") == "Synced" and s.get("health", {}).get("status") == "Healthy"
            and (revision is None or s["sync"].get("revision") == revision))


def main():
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="skiff-cd-") as data:
        repo = f"{data}/repo"
        os.makedirs(repo)
        git(repo, "init", "-q", "-b", "main")
        write(repo, "skiff/template.yaml", TEMPLATE.format(message="one"))
        write(repo, "skiff/cron.yaml", CRON)
        write(repo, "config/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, labels: {tier: web}}\n"
              "data: {greeting: hello}\n")
        write(repo, "config/keep.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep}\ndata: {a: b}\n")
        write(repo, "cluster/ds.yaml", "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: needs-a-cluster}\n"
              "spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: []}}}\n")
        write(repo, "broken/cron.yaml", CRON.replace('"0 3 * * *"', '"61 * * * *"'))
        write(repo, "respect/template.yaml",
              TEMPLATE.format(message="git").replace("name: hello-tmpl", "name: hello-tmpl\n  labels: {team: git}"))
        git(repo, "add", "-A")
        first = git(repo, "commit", "-q", "-m", "one")

        srv = Server(sys.argv[1], data, "--app-resync", "60").start()
        with running(check, srv):
            st, body = srv.call("POST", "/api/v1/applications", app("skiff-kinds", repo, "skiff"))
            check("create", st == 200, f"{st} {body}")
            s = until_status(srv, "skiff-kinds", lambda s: synced(s, first), "Synced+Healthy at the first commit")
            check("sourceType", s.get("sourceType") == "Directory", s.get("sourceType"))
            check("history has the revision", [h.get("revision") for h in s.get("history", [])] == [first], s.get("history"))
            kinds = sorted(r["kind"] for r in s.get("resources", []))
            check("resources listed", kinds == ["CronWorkflow", "WorkflowTemplate"], s.get("resources"))
            st, t = srv.call("GET", "/api/v1/workflow-templates/argo/hello-tmpl")
            check("the template is in skiff", st == 200, f"{st} {t}")
            check("tracked as Argo CD tracks it",
                  t.get("metadata", {}).get("annotations", {}).get("argocd.argoproj.io/tracking-id")
                  == "skiff-kinds:argoproj.io/WorkflowTemplate:argo/hello-tmpl", t.get("metadata"))

            # A new commit, a refresh: the template changes; a removed file is pruned.
            write(repo, "skiff/template.yaml", TEMPLATE.format(message="two"))
            os.unlink(f"{repo}/skiff/cron.yaml")
            git(repo, "add", "-A")
            second = git(repo, "commit", "-q", "-m", "two")
            st, _ = srv.call("GET", "/api/v1/applications/skiff-kinds?appNamespace=argocd&refresh=normal")
            check("refresh", st == 200, st)
            until_status(srv, "skiff-kinds", lambda s: synced(s, second), "Synced at the second commit")
            st, t = srv.call("GET", "/api/v1/workflow-templates/argo/hello-tmpl")
            check("the template follows git", "two" in json.dumps(t.get("spec", {})), t.get("spec"))
            st, _ = srv.call("GET", "/api/v1/cron-workflows/argo/nightly")
            check("the removed CronWorkflow is pruned", st == 404, st)

            # Drift: a change by hand is healed (selfHeal).
            t["spec"]["templates"][0]["container"]["command"] = ["echo", "by hand"]
            st, _ = srv.call("PUT", "/api/v1/workflow-templates/argo/hello-tmpl", {"template": t})
            check("change by hand", st == 200, st)
            srv.call("GET", "/api/v1/applications/skiff-kinds?appNamespace=argocd&refresh=normal")
            time.sleep(1)
            until_status(srv, "skiff-kinds", lambda s: synced(s), "healed")
            st, t = srv.call("GET", "/api/v1/workflow-templates/argo/hello-tmpl")
            check("drift healed", "by hand" not in json.dumps(t.get("spec", {})), t.get("spec"))

            # A manual app: OutOfSync until synced; rollback to the first deploy.
            check("create manual", srv.call("POST", "/api/v1/applications", app("manual", repo, "skiff", False, "team"))[0] == 200)
            until_status(srv, "manual", lambda s: s.get("sync", {}).get("status") == "OutOfSync", "OutOfSync")
            st, _ = srv.call("GET", "/api/v1/workflow-templates/team/hello-tmpl")
            check("nothing applied before a sync", st == 404, st)
            st, body = srv.call("POST", "/api/v1/applications/manual/sync?appNamespace=argocd", {"prune": True})
            check("sync", st == 200, f"{st} {body}")
            s = until_status(srv, "manual", lambda s: synced(s, second), "Synced after sync")
            check("operationState", s.get("operationState", {}).get("phase") == "Succeeded", s.get("operationState"))
            st, body = srv.call("POST", "/api/v1/applications/manual/rollback?appNamespace=argocd", {"id": 0})
            check("rollback", st == 200, f"{st} {body}")

            # The reference pipeline's deploy step: a resource step creates an Application
            # and waits for it to be Healthy.
            deploy = {"workflow": {"metadata": {"name": "deploy"}, "spec": {"entrypoint": "deploy", "templates": [
                {"name": "deploy", "resource": {
                    "action": "create",
                    "successCondition": "status.health.status == Healthy",
                    "failureCondition": "status.health.status == Degraded",
                    "manifest": json.dumps(app("from-a-step", repo, "skiff", True, "pipeline"))}}]}}}
            check("submit deploy", srv.call("POST", "/api/v1/workflows/argo", deploy)[0] == 200)
            wf = srv.wait("argo", "deploy", timeout=60)
            check("the deploy step waits for Healthy", wf["status"]["phase"] == "Succeeded", wf["status"])

            # Mistakes end in conditions that say what is wrong.
            srv.call("POST", "/api/v1/applications", app("no-path", repo, "nowhere"))
            s = until_status(srv, "no-path", lambda s: s.get("conditions"), "a condition")
            check("a missing path is a ComparisonError naming it",
                  s["conditions"][0]["type"] == "ComparisonError" and "nowhere" in s["conditions"][0]["message"], s["conditions"])
            srv.call("POST", "/api/v1/applications", app("needs-cluster", repo, "cluster"))
            s = until_status(srv, "needs-cluster", lambda s: s.get("conditions"), "a condition")
            said = json.dumps(s["conditions"])  # this machine refuses the kind, or cannot run containers
            check("a kind that needs a cluster says so", "kind DaemonSet (apps/v1) is not supported on this machine" in said
                  or "no cluster" in said, s["conditions"])

            # A ConfigMap on this machine (kept in skiff's own store) keeps the labels and the
            # tracking annotation it was applied with: it settles Synced, and is pruned once git drops it.
            srv.call("POST", "/api/v1/applications", app("config", repo, "config", True, "config"))
            until_status(srv, "config", lambda s: synced(s), "Synced")
            time.sleep(1.5)
            srv.call("GET", "/api/v1/applications/config?appNamespace=argocd&refresh=normal")
            s = until_status(srv, "config", lambda s: "refresh" not in json.dumps(s) and synced(s), "Synced after a refresh")
            check("a ConfigMap stays Synced", synced(s), s.get("resources"))
            st, cm = srv.call("GET", "/api/v1/configmaps/config/settings")
            meta = cm.get("metadata", {})
            check("it keeps its labels and tracking annotation", meta.get("labels", {}).get("tier") == "web" and
                  meta.get("annotations", {}).get("argocd.argoproj.io/tracking-id") == "config:/ConfigMap:config/settings", cm)
            os.unlink(f"{repo}/config/cm.yaml")
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", "drop the ConfigMap")
            srv.call("GET", "/api/v1/applications/config?appNamespace=argocd&refresh=normal")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and srv.call("GET", "/api/v1/configmaps/config/settings")[0] != 404:
                time.sleep(0.2)
            check("a ConfigMap git dropped is pruned", srv.call("GET", "/api/v1/configmaps/config/settings")[0] == 404)

            # A sync that fails is retried as syncPolicy.retry says, then given up.
            broken = app("broken", repo, "broken", True, "retry")
            broken["spec"]["syncPolicy"]["retry"] = {"limit": 2, "backoff": {"duration": "1s", "factor": 1}}
            srv.call("POST", "/api/v1/applications", broken)
            s = until_status(srv, "broken", lambda s: s.get("operationState", {}).get("retryCount") == 2, "two retries", timeout=40)
            check("the failure names the object and why",
                  s["operationState"]["phase"] == "Failed" and "cronworkflow.argoproj.io/nightly:" in s["operationState"]["message"],
                  s["operationState"])
            time.sleep(3)
            check("no third retry", status(srv, "broken").get("operationState", {}).get("retryCount") == 2, status(srv, "broken"))

            # An AppProject's limits hold: a repository it does not list, a kind it does not allow.
            project = {"metadata": {"name": "strict", "namespace": "argocd"}, "spec": {
                "sourceRepos": ["https://example.com/*"],
                "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "strict-*"}]}}
            st, body = srv.call("POST", "/api/v1/projects", {"project": project})
            check("create project", st == 200, f"{st} {body}")
            limited = app("limited", repo, "skiff", True, "strict-a")
            limited["spec"]["project"] = "strict"
            srv.call("POST", "/api/v1/applications", limited)
            s = until_status(srv, "limited", lambda s: s.get("conditions"), "a condition")
            check("a repository the project does not list is refused",
                  "is not permitted in project 'strict'" in json.dumps(s["conditions"]) and s["sync"]["status"] == "Unknown",
                  s)
            check("nothing applied for it", srv.call("GET", "/api/v1/workflow-templates/strict-a/hello-tmpl")[0] == 404)
            # A kind the project does not allow is left out of the app's diff too (managed-resources).
            no_cron = {"metadata": {"name": "no-cron", "namespace": "argocd"}, "spec": {
                "sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
                "namespaceResourceBlacklist": [{"group": "argoproj.io", "kind": "CronWorkflow"}]}}
            check("create no-cron project", srv.call("POST", "/api/v1/projects", {"project": no_cron})[0] == 200)
            blocked = app("blocked", repo, "broken", False, "blocked")
            blocked["spec"]["project"] = "no-cron"
            srv.call("POST", "/api/v1/applications", blocked)
            s = until_status(srv, "blocked", lambda s: s.get("conditions"), "a condition")
            check("a kind the project forbids is a ComparisonError",
                  any(c["message"] == 'resource argoproj.io:CronWorkflow "nightly" is not permitted in project no-cron'
                      for c in s["conditions"]),
                  s["conditions"])
            st, managed = srv.call("GET", "/api/v1/applications/blocked/managed-resources?appNamespace=argocd")
            check("and is not in managed-resources", st == 200 and not any(
                i.get("kind") == "CronWorkflow" for i in managed.get("items", [])), f"{st} {managed}")

            # What skiff does not carry out yet: sync windows stop the sync (refused), roles are
            # warned about; an automated sync that would prune everything waits for allowEmpty.
            windowed = {"metadata": {"name": "windowed", "namespace": "argocd"}, "spec": {
                "sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
                "roles": [{"name": "ci"}], "syncWindows": [{"kind": "deny", "schedule": "* * * * *", "duration": "1h"}]}}
            check("create windowed project", srv.call("POST", "/api/v1/projects", {"project": windowed})[0] == 200)
            w = app("windowed", repo, "skiff", True, "windowed")
            w["spec"]["project"] = "windowed"
            w["spec"]["source"]["helm"] = {"skipTests": True}
            srv.call("POST", "/api/v1/applications", w)
            s = until_status(srv, "windowed", lambda s: s.get("conditions"), "a condition")
            text = json.dumps(s["conditions"])
            check("syncWindows refused, roles and unapplied helm options warned", "spec.syncWindows is not enforced" in text
                  and "spec.roles is not supported" in text and "spec.source.helm.skipTests is not supported" in text
                  and s["sync"]["status"] == "Unknown", s["conditions"])
            check("nothing synced under an unenforced window", srv.call("GET", "/api/v1/workflow-templates/windowed/hello-tmpl")[0] == 404)
            write(repo, "shrink/template.yaml", TEMPLATE.format(message="shrink"))
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", "shrink")
            srv.call("POST", "/api/v1/applications", app("shrink", repo, "shrink", True, "shrink"))
            until_status(srv, "shrink", lambda s: synced(s), "Synced before it shrinks")
            os.unlink(f"{repo}/shrink/template.yaml")
            write(repo, "shrink/README.md", "nothing to deploy\n")
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", "nothing left")
            srv.call("GET", "/api/v1/applications/shrink?appNamespace=argocd&refresh=normal")
            s = until_status(srv, "shrink", lambda s: "wipe out" in json.dumps(s.get("conditions", [])), "the allowEmpty guard")
            check("an automated sync that would prune everything waits for allowEmpty",
                  srv.call("GET", "/api/v1/workflow-templates/shrink/hello-tmpl")[0] == 200, s)

            # RespectIgnoreDifferences: a selfHeal sync restores what drifted but keeps the
            # live value of an ignored field.
            respect = app("respect", repo, "respect", True, "respect")
            respect["spec"]["ignoreDifferences"] = [{"group": "argoproj.io", "kind": "WorkflowTemplate",
                                                     "jsonPointers": ["/metadata/labels/team"]}]
            respect["spec"]["syncPolicy"]["syncOptions"] = ["RespectIgnoreDifferences=true"]
            srv.call("POST", "/api/v1/applications", respect)
            until_status(srv, "respect", lambda s: synced(s), "Synced")
            st, t = srv.call("GET", "/api/v1/workflow-templates/respect/hello-tmpl")
            t["metadata"]["labels"]["team"] = "by-hand"
            t["spec"]["templates"][0]["container"]["command"] = ["echo", "by hand"]
            check("change by hand", srv.call("PUT", "/api/v1/workflow-templates/respect/hello-tmpl", {"template": t})[0] == 200)
            srv.call("GET", "/api/v1/applications/respect?appNamespace=argocd&refresh=normal")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                t = srv.call("GET", "/api/v1/workflow-templates/respect/hello-tmpl")[1]
                if "by hand" not in json.dumps(t.get("spec", {})):
                    break
                time.sleep(0.2)
            check("RespectIgnoreDifferences: drift healed, the ignored label kept",
                  "by hand" not in json.dumps(t.get("spec", {})) and t["metadata"]["labels"].get("team") == "by-hand",
                  t.get("metadata"))

            # Delete with cascade: what the app made goes with it.
            st, _ = srv.call("DELETE", "/api/v1/applications/skiff-kinds?appNamespace=argocd&cascade=true")
            check("delete", st == 200, st)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and srv.call("GET", "/api/v1/applications/skiff-kinds?appNamespace=argocd")[0] != 404:
                time.sleep(0.2)
            check("the app is gone", srv.call("GET", "/api/v1/applications/skiff-kinds?appNamespace=argocd")[0] == 404)
            check("its template went with it", srv.call("GET", "/api/v1/workflow-templates/argo/hello-tmpl")[0] == 404)
            # ... also with background propagation (the finalizer ".../background").
            st, _ = srv.call("DELETE", "/api/v1/applications/manual?appNamespace=argocd&propagationPolicy=background")
            check("delete with background propagation", st == 200, st)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and srv.call("GET", "/api/v1/workflow-templates/team/hello-tmpl")[0] != 404:
                time.sleep(0.2)
            check("its template went with it too", srv.call("GET", "/api/v1/workflow-templates/team/hello-tmpl")[0] == 404)
        # The same deploy step under `skiff run`: the Application syncs in the run's own skiff.
        with open(f"{data}/deploy.json", "w") as f:
            json.dump({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                       "metadata": {"name": "deploy", "namespace": "argo"},
                       "spec": {"entrypoint": "deploy", "templates": [
                           {"name": "deploy", "resource": {
                               "action": "create", "successCondition": "status.health.status == Healthy",
                               "manifest": json.dumps(app("run-app", repo, "skiff", True, "argo"))},
                            "outputs": {"parameters": [{"name": "sync", "valueFrom": {"jsonPath": "{.status.sync.status}"}}]}}]}},
                      f)
        r = subprocess.run([sys.argv[1], "run", f"{data}/deploy.json", "--executor", "host", "--data", f"{data}/run", "-o", "json"],
                           capture_output=True, text=True, timeout=60)
        wf = json.loads(r.stdout or "{}")
        params = [p for n in wf.get("status", {}).get("nodes", {}).values() for p in n.get("outputs", {}).get("parameters", [])]
        check("skiff run: the deploy step's Application syncs", r.returncode == 0 and {"name": "sync", "value": "Synced"} in params,
              f"{r.returncode} {params} {r.stderr[-1000:]}")
    return check.report("cd")


if __name__ == "__main__":
    sys.exit(main())
