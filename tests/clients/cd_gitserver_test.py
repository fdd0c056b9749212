#!/usr/bin/env python3
"""Applications synced from the real git server (tests/git/gitserver.py: lighttpd + git
http-backend, HTTPS from a test CA, basic auth), its credentials kept as Argo CD keeps them:
a Secret in argocd labelled argocd.argoproj.io/secret-type: repository with the repository's
url, username and password, and the CA in argocd-tls-certs-cm. Pushes during the test drive:

- polling (--app-resync 2): a pushed commit is synced without being asked;
- the webhook (a server with a one-hour resync): a push and its GitHub webhook sync at once;
- drift: a template changed by hand is healed (selfHeal) on the next refresh;
- prune: a file removed by a push goes from skiff;
- rollback to the first deployment.
Usage: cd_gitserver_test.py SKIFF (SKIFF_TEST_GITSERVER: the fixture's directory)"""
import json
import os
import subprocess
import sys
import tempfile
import time

from cd_test import CRON, TEMPLATE, repo_credentials, synced, until_status
from cd_webhook_test import github_push, post_hook
from skiffserver import Checks, Server, running

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "git"))
import gitserver  # noqa: E402

def message(srv):
    st, t = srv.call("GET", "/api/v1/workflow-templates/web/hello-tmpl")
    return t["spec"]["templates"][0]["container"]["command"][1] if st == 200 else f"HTTP {st}"


def main():
    check = Checks()
    fixture = os.environ["SKIFF_TEST_GITSERVER"]
    env = json.load(open(f"{fixture}/env.json"))
    repo_name = f"cd-e2e-{os.getpid()}"
    url = f"{env['url_base']}/{repo_name}.git"
    skiff = sys.argv[1]
    first = gitserver.commit(fixture, repo_name, {"app/template.yaml": TEMPLATE.format(message="one"), "app/cron.yaml": CRON})
    with tempfile.TemporaryDirectory(prefix="skiff-cd-gitserver-") as data:
        repo_credentials(skiff, data, "git", f"{env['url_base']}/", env)
        # The CA as above; the credentials for this one repository as Argo CD's declarative
        # setup writes them: labelled `repository`, the exact url, no type (git).
        subprocess.run([skiff, "secret", "rm", "git-repo", "-n", "argocd", "--data", data], check=True, capture_output=True)
        application = {"metadata": {"name": "web", "namespace": "argocd"}, "spec": {
            "project": "default", "source": {"repoURL": url, "path": "app", "targetRevision": "HEAD"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "web"},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}}}}

        # Polling: a push is synced within the resync period, unasked.
        srv = Server(skiff, data, "--app-resync", "2").start()
        with running(check, srv):
            secret = {"metadata": {"name": "web-repo", "labels": {"argocd.argoproj.io/secret-type": "repository"}},
                      "stringData": {"url": url, "username": env["username"], "password": env["password"]}}
            st, body = srv.call("POST", "/api/v1/secrets/argocd", {"secret": secret})
            check("a labelled repository secret", st == 200, f"{st} {body}")
            st, body = srv.call("POST", "/api/v1/applications", application)
            check("create", st == 200, f"{st} {body}")
            until_status(srv, "web", lambda s: synced(s, first), "Synced at the first commit over HTTPS")
            check("deployed", message(srv) == "one", message(srv))
            second = gitserver.commit(fixture, repo_name, {"app/template.yaml": TEMPLATE.format(message="two")})
            until_status(srv, "web", lambda s: synced(s, second), "the pushed commit, by polling")
            check("polling follows a push", message(srv) == "two", message(srv))

        # The webhook: with an hour's resync, only the push's webhook brings the next commit.
        srv = Server(skiff, data, "--app-resync", "3600").start()
        with running(check, srv):
            until_status(srv, "web", lambda s: synced(s, second), "Synced after the restart")
            third = gitserver.commit(fixture, repo_name, {"app/template.yaml": TEMPLATE.format(message="three")})
            time.sleep(1)
            check("no refresh without the webhook", message(srv) == "two", message(srv))
            start = time.monotonic()
            st, body = post_hook(srv, {"X-GitHub-Event": "push"}, github_push(env["url_base"] + "/" + repo_name, "refs/heads/main"))
            check("webhook accepted", st == 200, f"{st} {body}")
            until_status(srv, "web", lambda s: synced(s, third), "the pushed commit, by the webhook", timeout=20)
            print(f"webhook to Synced over HTTPS: {time.monotonic() - start:.2f} s")
            check("the webhook brings the push", message(srv) == "three", message(srv))

            # Drift: healed by selfHeal on the next refresh.
            t = srv.call("GET", "/api/v1/workflow-templates/web/hello-tmpl")[1]
            t["spec"]["templates"][0]["container"]["command"] = ["echo", "by hand"]
            check("change by hand", srv.call("PUT", "/api/v1/workflow-templates/web/hello-tmpl", {"template": t})[0] == 200)
            srv.call("GET", "/api/v1/applications/web?appNamespace=argocd&refresh=normal")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and message(srv) != "three":
                time.sleep(0.2)
            check("drift healed", message(srv) == "three", message(srv))

            # Prune: a file removed by a push goes.
            fourth = gitserver.commit(fixture, repo_name, {"app/cron.yaml": None})
            post_hook(srv, {"X-GitHub-Event": "push"}, github_push(url, "refs/heads/main"))
            until_status(srv, "web", lambda s: synced(s, fourth), "the commit removing the CronWorkflow", timeout=20)
            check("pruned", srv.call("GET", "/api/v1/cron-workflows/web/nightly")[0] == 404)

            # Rollback to the first deployment (automated sync off, as Argo CD requires).
            a = srv.call("GET", "/api/v1/applications/web?appNamespace=argocd")[1]
            a["spec"].pop("syncPolicy", None)
            check("automation off", srv.call("PUT", "/api/v1/applications/web?appNamespace=argocd", a)[0] == 200)
            st, body = srv.call("POST", "/api/v1/applications/web/rollback?appNamespace=argocd", {"id": 0})
            check("rollback", st == 200, f"{st} {body}")
            s = until_status(srv, "web", lambda s: s.get("operationState", {}).get("syncResult", {}).get("revision") == first
                             and s["operationState"].get("phase") == "Succeeded", "rolled back")
            check("the first deployment is back", message(srv) == "one", message(srv))
            check("OutOfSync with git after a rollback", s.get("sync", {}).get("status") == "OutOfSync", s.get("sync"))
    return check.report("cd-gitserver")


if __name__ == "__main__":
    sys.exit(main())
