#!/usr/bin/env python3
"""`skiff app ...` against a real `skiff server` (no application controller: it checks what
the commands send and print): create from a file and from flags, list (table, -o name,
-o json, -o wide), get, set, sync --async with --prune/--revision/--resource stored as the
operation, a second sync refused, history, rollback of a missing id, wait timing out,
diff without the controller, delete with and without cascade, and mistakes' exit codes and
messages. Usage: app_cli_test.py SKIFF"""
import json
import os
import sys
import subprocess
import tempfile

from skiffserver import Checks, Server, running

APP = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
spec:
  project: default
  source:
    repoURL: https://git.example.com/guestbook.git
    path: guestbook
    targetRevision: HEAD
  destination:
    server: https://kubernetes.default.svc
    namespace: guestbook
  syncPolicy:
    syncOptions: [CreateNamespace=true]
"""


def main():
    skiff = sys.argv[1]
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="skiff-app-cli-") as data:
        srv = Server(skiff, data, "--no-app-controller")  # the API alone: its own behaviour
        env = dict(os.environ, ARGO_SERVER=f"127.0.0.1:{srv.port}", ARGO_SECURE="false")

        def app(*args):
            p = subprocess.run([skiff, "app", *args], capture_output=True, text=True, env=env, timeout=60)
            return p.returncode, p.stdout, p.stderr

        with running(check, srv):
            srv.start()
            path = os.path.join(data, "app.yaml")
            with open(path, "w") as f:
                f.write(APP)
            rc, out, err = app("create", "-f", path)
            check("create -f", rc == 0 and "application 'guestbook' created" in out, out + err)
            rc, out, err = app("create", "--name", "web", "--repo", "https://git.example.com/web.git", "--path", "deploy",
                               "--revision", "main", "--dest-server", "https://kubernetes.default.svc",
                               "--dest-namespace", "web", "--sync-policy", "automated", "--auto-prune", "--self-heal",
                               "--sync-option", "PruneLast=true")
            check("create from flags", rc == 0, out + err)
            st, web = srv.call("GET", "/api/v1/applications/web")
            check("the flags became the spec", web["spec"]["source"] == {
                "repoURL": "https://git.example.com/web.git", "path": "deploy", "targetRevision": "main"}
                and web["spec"]["syncPolicy"] == {"automated": {"prune": True, "selfHeal": True},
                                                  "syncOptions": ["PruneLast=true"]}
                and web["spec"]["destination"]["namespace"] == "web", web)
            with open(path, "w") as f:
                f.write(APP.replace("syncOptions: [CreateNamespace=true]", "syncOptions: [CreateNamespaces=true]"))
            rc, out, err = app("create", "-f", path)
            check("a bad file is refused before sending, exit 2", rc == 2 and "CreateNamespaces" in err
                  and "app.yaml:" in err, out + err)
            rc, out, err = app("create", "--name", "x")
            check("create without -f or --repo: exit 2", rc == 2 and "--repo" in err, out + err)

            rc, out, err = app("list")
            check("list", rc == 0 and "argocd/guestbook" in out and "argocd/web" in out and "Auto" in out
                  and out.startswith("NAME"), out + err)
            rc, out, err = app("list", "-o", "name")
            check("list -o name", rc == 0 and out.split() == ["argocd/guestbook", "argocd/web"], out + err)
            rc, out, err = app("list", "-o", "json")
            check("list -o json", rc == 0 and len(json.loads(out)) == 2, out + err)
            rc, out, err = app("list", "-o", "wide")
            check("list -o wide shows the repo", rc == 0 and "https://git.example.com/web.git deploy main" in out, out + err)
            rc, out, err = app("get", "guestbook")
            check("get", rc == 0 and "Name:               argocd/guestbook" in out and "Path:               guestbook" in out
                  and "Sync Policy:        Manual" in out, out + err)
            rc, out, err = app("get", "nope")
            check("get of a missing app: exit 1 with Argo CD's message", rc == 1 and
                  'applications.argoproj.io "nope" not found' in err, out + err)

            rc, out, err = app("set", "guestbook", "--revision", "v2", "--path", "guestbook/prod")
            st, gb = srv.call("GET", "/api/v1/applications/guestbook")
            check("set", rc == 0 and gb["spec"]["source"]["targetRevision"] == "v2"
                  and gb["spec"]["source"]["path"] == "guestbook/prod", out + err)

            rc, out, err = app("sync", "guestbook", "--async", "--prune", "--revision", "abc123",
                               "--resource", "apps:Deployment:guestbook/ui")
            st, gb = srv.call("GET", "/api/v1/applications/guestbook")
            check("sync --async stores the operation", rc == 0 and gb.get("operation", {}).get("sync") == {
                "revision": "abc123", "prune": True,
                "resources": [{"group": "apps", "kind": "Deployment", "namespace": "guestbook", "name": "ui"}]},
                out + err + json.dumps(gb))
            rc, out, err = app("sync", "guestbook", "--async")
            check("a second sync: exit 1, says why", rc == 1 and "another operation is already in progress" in err, out + err)
            rc, out, err = app("sync", "web", "--async", "--resource", "Deployment")
            check("a bad --resource: exit 2", rc == 2 and "GROUP:KIND:NAME" in err, out + err)
            rc, out, err = app("history", "web")
            check("history of a new app is its header", rc == 0 and out.split() == ["ID", "DATE", "REVISION"], out + err)
            rc, out, err = app("rollback", "guestbook", "3")
            check("rollback names the missing id", rc == 2 and "does not have deployment id 3" in err, out + err)
            rc, out, err = app("rollback", "guestbook", "one")
            check("a history ID that is no number: exit 2", rc == 2 and "must be a number" in err, out + err)
            rc, out, err = app("rollback", "web", "1")
            check("no rollback with auto-sync on", rc == 2 and "auto-sync is enabled" in err, out + err)
            rc, out, err = app("wait", "web", "--health", "--timeout", "1")
            check("wait times out as argocd says", rc == 1 and 'timed out (1s) waiting for app "web"' in err, out + err)
            rc, out, err = app("diff", "web")
            check("diff without the controller", rc == 1 and "the application controller is not running" in err, out + err)

            rc, out, err = app("delete", "web", "--cascade=false")
            check("delete --cascade=false", rc == 0 and srv.call("GET", "/api/v1/applications/web")[0] == 404, out + err)
            rc, out, err = app("delete", "guestbook")
            st, gb = srv.call("GET", "/api/v1/applications/guestbook")
            check("delete cascades: marked for the controller", rc == 0 and gb["metadata"].get("deletionTimestamp")
                  and gb["metadata"].get("finalizers") == ["resources-finalizer.argocd.argoproj.io"], out + err)
    return check.report("app_cli_test")


if __name__ == "__main__":
    sys.exit(main())
