#!/usr/bin/env python3
"""Argo CD's REST API for Applications and AppProjects on a real `skiff server` (without the
application controller, so it checks the API's own behaviour): create/get/list with filters,
an update keeps the controller's status, delete with and without cascade, sync stores the
operation (409 on a second), rollback of a missing id, terminate, refresh, projects (the
implicit default, a missing one refused), the resource tree, the 503 views, the watch stream,
and token auth on appNamespace. Usage: app_api_test.py SKIFF"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import urllib.request

from skiffserver import Checks, Server, running


def app(name, project="default", labels=None, **spec):
    body = {"metadata": {"name": name, "labels": labels or {}},
            "spec": {"project": project,
                     "source": {"repoURL": "https://git.example.com/web.git", "path": "deploy", "targetRevision": "main"},
                     "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"}}}
    body["spec"].update(spec)
    return body


def stored_status(data, name, status):
    """Writes `status` into the stored app as the controller would (no client may: a PUT
    keeps the stored status), in the database of a stopped server."""
    import sqlite3
    db = sqlite3.connect(os.path.join(data, "skiff.db"))
    row = db.execute("select body from objects where kind='Application' and name=?", (name,)).fetchone()
    doc = json.loads(row[0])
    doc["status"] = status
    db.execute("update objects set body=?, version=version+1 where kind='Application' and name=?", (json.dumps(doc), name))
    db.commit()
    db.close()


def watch(srv, query, events, stop):
    """Appends the stream's results to `events` until `stop`; an error is appended too."""
    try:
        req = urllib.request.Request(srv.base + "/api/v1/stream/applications" + query)
        with urllib.request.urlopen(req, timeout=30) as r:
            for line in r:
                if line.strip():
                    events.append(json.loads(line)["result"])
                if stop.is_set():
                    return
    except Exception as e:  # noqa: BLE001 - shown by the check that looks at events
        events.append({"type": "error", "application": {"metadata": {"name": repr(e)}}})


def main():
    skiff = sys.argv[1]
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="skiff-app-api-") as data:
        srv = Server(skiff, data, "--no-app-controller")  # the API alone: its own behaviour
        with running(check, srv):
            srv.start()

            # create, get, the same again (idempotent), another spec (refused without upsert)
            st, body = srv.call("POST", "/api/v1/applications", app("web", labels={"team": "web"}))
            check("create", st == 200 and body["metadata"]["namespace"] == "argocd"
                  and body["kind"] == "Application" and body["metadata"].get("resourceVersion"), body)
            st, body = srv.call("POST", "/api/v1/applications", app("web", labels={"team": "web"}))
            check("the same create again is fine", st == 200, body)
            st, body = srv.call("POST", "/api/v1/applications", app("web", revisionHistoryLimit=3))
            check("another spec needs upsert", st == 400 and body.get("error") == body.get("message")
                  and "use upsert flag" in body.get("message", ""), body)
            st, body = srv.call("POST", "/api/v1/applications?upsert=true", app("web", labels={"team": "web"},
                                                                                 revisionHistoryLimit=3))
            check("upsert replaces", st == 200 and body["spec"]["revisionHistoryLimit"] == 3, body)
            st, body = srv.call("GET", "/api/v1/applications/web")
            check("get", st == 200 and body["spec"]["source"]["path"] == "deploy", body)
            st, body = srv.call("GET", "/api/v1/applications/nope")
            check("get of a missing one is Argo CD's 404", st == 404 and body.get("code") == 5
                  and body.get("message") == 'applications.argoproj.io "nope" not found', body)

            # strict decoding and Argo CD's checks
            bad = app("bad")
            bad["spec"]["syncPolicy"] = {"syncOptions": ["CreateNamespaces=true"]}
            st, body = srv.call("POST", "/api/v1/applications", bad)
            check("an unknown sync option is refused, named", st == 400 and "CreateNamespaces" in body.get("message", ""), body)
            for junk in ({"metadata": "x"}, {"metadata": {"name": 5}}, {"metadata": {"name": "j"}, "spec": []}):
                st, body = srv.call("POST", "/api/v1/applications", junk)
                check(f"a malformed body is 400, not a 500: {junk}", st == 400 and body.get("message"), f"{st} {body}")
            st, body = srv.call("POST", "/api/v1/applications", app("lost", project="nowhere"))
            check("a missing project is refused", st == 400 and
                  "application references project nowhere which does not exist" in body.get("message", ""), body)

            # projects
            st, body = srv.call("GET", "/api/v1/projects/default")
            check("the default project exists implicitly", st == 200 and body["spec"]["sourceRepos"] == ["*"], body)
            project = {"metadata": {"name": "team"}, "spec": {"sourceRepos": ["*"],
                                                                "destinations": [{"server": "*", "namespace": "*"}]}}
            st, body = srv.call("POST", "/api/v1/projects", {"project": project})
            check("create a project", st == 200 and body["metadata"]["namespace"] == "argocd", body)
            st, body = srv.call("POST", "/api/v1/projects", {"project": project})
            check("a second create is 409", st == 409, body)
            st, body = srv.call("GET", "/api/v1/projects")
            names = [p["metadata"]["name"] for p in body.get("items", [])]
            check("projects list default and team", st == 200 and names == ["default", "team"], body)
            project["spec"]["description"] = "the team's"
            st, body = srv.call("PUT", "/api/v1/projects/team", {"project": project})
            check("update a project", st == 200 and body["spec"]["description"] == "the team's", body)
            st, body = srv.call("POST", "/api/v1/applications", app("api", project="team"))
            check("an app in the new project", st == 200, body)
            st, body = srv.call("DELETE", "/api/v1/projects/team")
            check("a project in use is not deleted", st == 400 and "referenced by 1 applications" in body.get("message", ""), body)

            # list filters
            st, body = srv.call("GET", "/api/v1/applications")
            check("list", st == 200 and sorted(a["metadata"]["name"] for a in body["items"]) == ["api", "web"]
                  and body["metadata"].get("resourceVersion"), body)
            st, body = srv.call("GET", "/api/v1/applications?projects=team")
            check("list by project", [a["metadata"]["name"] for a in body["items"]] == ["api"], body)
            st, body = srv.call("GET", "/api/v1/applications?selector=team%3Dweb")
            check("list by selector", [a["metadata"]["name"] for a in body["items"]] == ["web"], body)
            st, body = srv.call("GET", "/api/v1/applications?appNamespace=other")
            check("another namespace is empty", st == 200 and body["items"] == [], body)

        # the controller's status, written while the server is down (no client may write it)
        status = {"sync": {"status": "Synced", "revision": "abc"}, "health": {"status": "Healthy"},
                  "history": [{"id": 1, "revision": "abc", "source": {"repoURL": "https://git.example.com/web.git",
                                                                       "path": "deploy", "targetRevision": "v1"}}],
                  "resources": [{"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "web",
                                 "name": "web", "health": {"status": "Healthy"}}]}
        stored_status(data, "web", status)
        stored_status(data, "api", status)
        with running(check, srv):
            srv.start()
            events, stop = [], threading.Event()
            watcher = threading.Thread(target=watch, args=(srv, "?appNamespace=argocd", events, stop), daemon=True)
            watcher.start()
            srv.until("/api/v1/version", lambda _: len(events) >= 2, 10, "the ADDED events")

            # an update keeps the controller's status; a stale version is 409
            st, cur = srv.call("GET", "/api/v1/applications/web")
            cur["spec"]["source"]["targetRevision"] = "v2"
            cur["status"] = {"sync": {"status": "OutOfSync"}}
            st, body = srv.call("PUT", "/api/v1/applications/web", cur)
            check("update", st == 200 and body["spec"]["source"]["targetRevision"] == "v2", body)
            check("the update kept the stored status", body.get("status") == status, body.get("status"))
            st, body = srv.call("PUT", "/api/v1/applications/web", cur)
            check("a stale resourceVersion is 409", st == 409, body)
            spec = body_spec = srv.call("GET", "/api/v1/applications/web")[1]["spec"]
            spec["source"]["targetRevision"] = "v3"
            st, body = srv.call("PUT", "/api/v1/applications/web/spec", body_spec)
            check("PUT .../spec returns the spec", st == 200 and body.get("source", {}).get("targetRevision") == "v3", body)
            st, body = srv.call("GET", "/api/v1/applications/web")
            check("... and kept the status", body.get("status") == status, body)

            # refresh
            st, body = srv.call("GET", "/api/v1/applications/web?refresh=hard")
            check("refresh sets the annotation", st == 200 and
                  body["metadata"].get("annotations", {}).get("argocd.argoproj.io/refresh") == "hard", body)

            # resource tree and the controller's views
            st, body = srv.call("GET", "/api/v1/applications/web/resource-tree")
            check("resource tree from status.resources", st == 200 and body["nodes"] == [
                {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "web", "name": "web",
                 "health": {"status": "Healthy"}, "parentRefs": []}], body)
            for view in ("managed-resources", "manifests?revision=main"):
                st, body = srv.call("GET", "/api/v1/applications/web/" + view)
                check(f"{view} without the controller is 503", st == 503 and
                      body.get("message") == "the application controller is not running", body)

            # sync, a second sync, terminate, rollback
            st, body = srv.call("POST", "/api/v1/applications/web/sync",
                                {"revision": "v3", "prune": True, "resources": [{"group": "apps", "kind": "Deployment",
                                                                                 "name": "web", "namespace": "web"}],
                                 "syncOptions": {"items": ["CreateNamespace=true"]}})
            op = body.get("operation", {})
            check("sync stores the operation", st == 200 and op.get("sync", {}).get("revision") == "v3"
                  and op["sync"].get("prune") is True and op["sync"].get("syncOptions") == ["CreateNamespace=true"]
                  and op["sync"].get("resources", [{}])[0].get("kind") == "Deployment"
                  and op.get("initiatedBy", {}).get("username"), body)
            st, body = srv.call("POST", "/api/v1/applications/web/sync", {})
            check("a second sync is 409", st == 409 and body.get("message") == "another operation is already in progress", body)
            st, body = srv.call("DELETE", "/api/v1/applications/web/operation")
            check("terminate marks the operation", st == 200 and
                  body["status"].get("operationState", {}).get("phase") == "Terminating", body)
            st, body = srv.call("DELETE", "/api/v1/applications/api/operation")
            check("terminate without an operation is 400", st == 400 and "No operation is in progress" in body["message"], body)
            st, body = srv.call("POST", "/api/v1/applications/api/rollback", {"id": 7})
            check("rollback of a missing id names it", st == 400 and
                  body.get("message") == "application api does not have deployment id 7 in history", body)
            st, body = srv.call("POST", "/api/v1/applications/api/rollback", {"id": 1, "prune": True})
            check("rollback makes the entry the operation", st == 200 and body["operation"]["sync"] == {
                "revision": "abc", "source": status["history"][0]["source"], "prune": True}, body)

            # delete: cascade marks it, without cascade it goes at once
            st, body = srv.call("DELETE", "/api/v1/applications/web?cascade=true&propagationPolicy=background")
            st, body = srv.call("GET", "/api/v1/applications/web")
            check("a cascading delete marks the app", st == 200 and body["metadata"].get("deletionTimestamp")
                  and body["metadata"].get("finalizers") == ["resources-finalizer.argocd.argoproj.io/background"], body)
            st, body = srv.call("DELETE", "/api/v1/applications/api?cascade=false")
            check("delete without cascade", st == 200 and srv.call("GET", "/api/v1/applications/api")[0] == 404, body)
            st, body = srv.call("DELETE", "/api/v1/projects/team")
            check("a project no app uses is deleted", st == 200, body)

            srv.until("/api/v1/version", lambda _: any(e["type"] in ("DELETED", "error") for e in events), 10,
                      "the DELETED event")
            stop.set()
            kinds = {(e["type"], e["application"]["metadata"]["name"]) for e in events}
            check("the watch saw ADDED, MODIFIED and DELETED",
                  {("ADDED", "web"), ("MODIFIED", "web"), ("ADDED", "api"), ("DELETED", "api")} <= kinds, kinds)

        # auth: a token for namespace "argocd" may use the default namespace, not another
        token = subprocess.run([skiff, "token", "create", "-n", "argocd", "--data", data], check=True,
                               capture_output=True, text=True).stdout.strip()
        srv = Server(skiff, data, "--no-app-controller", auth="client", token=token)
        with running(check, srv):
            srv.start()
            st, body = srv.call("GET", "/api/v1/applications")
            check("the token reads argocd", st == 200 and body["items"], body)
            st, body = srv.call("GET", "/api/v1/applications?appNamespace=other")
            check("... not another appNamespace", st == 403, body)
            st, body = srv.call("POST", "/api/v1/applications?appNamespace=other", app("x"))
            check("... nor create there", st == 403, body)
            other = app("x")
            other["metadata"]["namespace"] = "other"
            st, body = srv.call("POST", "/api/v1/applications", other)
            check("... nor by naming it in the body", st == 400 and "?appNamespace=other" in body.get("message", ""), body)
            st, body = srv.call("GET", "/api/v1/applications", token="bogus")
            check("a bad token is 401", st == 401, body)
    return check.report("app_api_test")


if __name__ == "__main__":
    sys.exit(main())
