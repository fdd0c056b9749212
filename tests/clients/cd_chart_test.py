#!/usr/bin/env python3
"""Applications whose source is a chart of a Helm repository (the test git server's
/charts: HTTPS from a test CA, basic auth), under `skiff server` with no cluster: the
chart renders skiff's own kinds.

- the repository's credentials come from a Secret (type helm, url) and its CA from
  argocd-tls-certs-cm, as Argo CD keeps them; the app syncs at the exact version asked;
- a version constraint resolves to the newest match; history and rollback by chart version;
- `sources`: the chart with value files from a git source's `ref` ("$values/prod.yaml");
- a missing chart version ends in a ComparisonError naming it.
Usage: cd_chart_test.py SKIFF (SKIFF_TEST_GITSERVER: the fixture's directory)"""
import json
import os
import sys
import tempfile

from cd_test import app, git, repo_credentials, synced, until_status, write
from skiffserver import Checks, Server, running


def chart_app(name, env, version, namespace, helm=None):
    a = app(name, "unused", ".", True, namespace)
    a["spec"]["source"] = {"repoURL": env["charts_url"], "chart": "web", "targetRevision": version}
    if helm:
        a["spec"]["source"]["helm"] = helm
    return a


def greeting(srv, ns, name):
    st, t = srv.call("GET", f"/api/v1/workflow-templates/{ns}/{name}")
    return t["spec"]["templates"][0]["container"]["command"][1] if st == 200 else f"HTTP {st}"


def main():
    check = Checks()
    env = json.load(open(os.path.join(os.environ["SKIFF_TEST_GITSERVER"], "env.json")))
    skiff = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="skiff-cd-chart-") as data:
        repo_credentials(skiff, data, "helm", env["charts_url"], env)
        repo = f"{data}/values"
        os.makedirs(repo)
        git(repo, "init", "-q", "-b", "main")
        write(repo, "prod.yaml", "greeting: hello from git values\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "values")

        srv = Server(skiff, data, "--app-resync", "60").start()
        with running(check, srv):
            st, body = srv.call("POST", "/api/v1/applications", chart_app("web", env, "0.1.0", "charts"))
            check("create", st == 200, f"{st} {body}")
            s = until_status(srv, "web", lambda s: synced(s, "0.1.0"), "Synced+Healthy at chart version 0.1.0")
            check("sourceType Helm", s.get("sourceType") == "Helm", s.get("sourceType"))
            check("the chart's template is in skiff", greeting(srv, "charts", "web-web") == "hello from 0.1.0",
                  greeting(srv, "charts", "web-web"))

            # A constraint: the newest match; then rollback to the first deploy.
            st, a = srv.call("GET", "/api/v1/applications/web?appNamespace=argocd")
            a["spec"]["source"]["targetRevision"] = "0.*"
            a["spec"]["source"]["helm"] = {"parameters": [{"name": "greeting", "value": "set by a parameter"}]}
            st, body = srv.call("PUT", "/api/v1/applications/web?appNamespace=argocd", a)
            check("update to a constraint", st == 200, f"{st} {body}")
            s = until_status(srv, "web", lambda s: synced(s, "0.2.0"), "Synced at 0.2.0")
            check("the parameter is rendered", greeting(srv, "charts", "web-web") == "set by a parameter",
                  greeting(srv, "charts", "web-web"))
            check("history names chart versions", [h.get("revision") for h in s.get("history", [])] == ["0.1.0", "0.2.0"],
                  s.get("history"))
            a = srv.call("GET", "/api/v1/applications/web?appNamespace=argocd")[1]
            a["spec"]["syncPolicy"] = {}
            srv.call("PUT", "/api/v1/applications/web?appNamespace=argocd", a)
            st, body = srv.call("POST", "/api/v1/applications/web/rollback?appNamespace=argocd", {"id": 0})
            check("rollback", st == 200, f"{st} {body}")
            until_status(srv, "web", lambda s: s.get("operationState", {}).get("syncResult", {}).get("revision") == "0.1.0"
                         and s["operationState"].get("phase") == "Succeeded", "rolled back to 0.1.0")
            check("rolled back", greeting(srv, "charts", "web-web") == "hello from 0.1.0", greeting(srv, "charts", "web-web"))

            # Several sources: the chart, with a value file from a git source's ref.
            multi = chart_app("multi", env, "0.2.0", "multi", {"valueFiles": ["$values/prod.yaml"]})
            multi["spec"]["sources"] = [multi["spec"].pop("source"),
                                        {"repoURL": f"file://{repo}", "targetRevision": "HEAD", "ref": "values"}]
            st, body = srv.call("POST", "/api/v1/applications", multi)
            check("create multi-source", st == 200, f"{st} {body}")
            until_status(srv, "multi", lambda s: synced(s), "Synced")
            check("the value file came from the git source", greeting(srv, "multi", "web-multi") == "hello from git values",
                  greeting(srv, "multi", "web-multi"))

            # Mistakes end in a condition naming them.
            srv.call("POST", "/api/v1/applications", chart_app("missing", env, "9.9.9", "missing"))
            s = until_status(srv, "missing", lambda s: s.get("conditions"), "a condition")
            check("a missing chart version is a ComparisonError naming it",
                  s["conditions"][0]["type"] == "ComparisonError" and "9.9.9" in s["conditions"][0]["message"],
                  s["conditions"])
    return check.report("cd-chart")


if __name__ == "__main__":
    sys.exit(main())
