#!/usr/bin/env python3
"""POST /api/webhook under `skiff server` (Argo CD's git webhook): Applications with a long
--app-resync follow a push at once when the push's webhook arrives.

- argocd-secret's webhook.github.secret set: an unsigned push is 400, a wrongly signed one
  401, and neither refreshes anything;
- a push of another branch refreshes only the apps that track that branch;
- a signed push of the default branch (the repository named by another spelling of its URL)
  brings the HEAD app to the new commit in seconds; an app pinned to a commit is left alone;
- GitLab's token and a Gitea payload (signed with webhook.gogs.secret) are read too;
- with --auth-mode client the webhook needs no token (its signature is its auth).
Prints the time from the webhook to Synced at the new revision (a figure, not asserted).
Usage: cd_webhook_test.py SKIFF"""
import hashlib
import hmac
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request

from cd_test import app, git, status, synced, until_status, write
from skiffserver import Checks, Server, running

TEMPLATE = """apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: {name}
spec:
  entrypoint: hi
  templates:
    - name: hi
      container: {{image: busybox, command: [echo, "{message}"]}}
"""
SECRET = "s3cret"


def post_hook(srv, headers, payload):
    body = json.dumps(payload).encode()
    req = urllib.request.Request(srv.base + "/api/webhook", data=body, method="POST",
                                 headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read().decode() or "{}")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def github_push(repo_url, ref, default_branch="main"):
    return {"ref": ref, "after": "0" * 40,
            "repository": {"html_url": repo_url, "clone_url": repo_url + ".git", "default_branch": default_branch}}


def signed(payload, secret=SECRET):
    return "sha256=" + hmac.new(secret.encode(), json.dumps(payload).encode(), hashlib.sha256).hexdigest()


def git_fetches(srv):
    """argocd_git_request_total summed over repositories, from /metrics."""
    with urllib.request.urlopen(srv.base + "/metrics", timeout=10) as r:
        lines = r.read().decode().splitlines()
    return sum(float(line.split()[-1]) for line in lines if line.startswith("argocd_git_request_total{"))


def revision(srv, name):
    return status(srv, name).get("sync", {}).get("revision")


def main():
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="skiff-cd-webhook-") as data:
        repo = f"{data}/repo"
        os.makedirs(repo)
        git(repo, "init", "-q", "-b", "main")
        write(repo, "main/t.yaml", TEMPLATE.format(name="on-main", message="one"))
        write(repo, "dev/t.yaml", TEMPLATE.format(name="on-dev", message="one"))
        write(repo, "pinned/t.yaml", TEMPLATE.format(name="pinned", message="one"))
        git(repo, "add", "-A")
        first = git(repo, "commit", "-q", "-m", "one")
        git(repo, "branch", "dev")

        srv = Server(sys.argv[1], data, "--app-resync", "3600").start()
        with running(check, srv):
            st, body = srv.call("POST", "/api/v1/secrets/argocd", {"secret": {"metadata": {"name": "argocd-secret"}, "stringData": {
                "webhook.github.secret": SECRET, "webhook.gitlab.secret": "gl-token", "webhook.gogs.secret": "gogs"}}})
            check("argocd-secret", st == 200, f"{st} {body}")
            apps = {"on-main": app("on-main", repo, "main"), "on-dev": app("on-dev", repo, "dev"),
                    "pinned": app("pinned", repo, "pinned")}
            apps["on-dev"]["spec"]["source"]["targetRevision"] = "dev"
            apps["pinned"]["spec"]["source"]["targetRevision"] = first
            for name, a in apps.items():
                check(f"create {name}", srv.call("POST", "/api/v1/applications", a)[0] == 200)
            for name in apps:
                until_status(srv, name, lambda s: synced(s, first), f"{name} Synced at the first commit")

            write(repo, "main/t.yaml", TEMPLATE.format(name="on-main", message="two"))
            write(repo, "pinned/t.yaml", TEMPLATE.format(name="pinned", message="two"))
            git(repo, "add", "-A")
            second = git(repo, "commit", "-q", "-m", "two")
            url = f"file://{repo}"

            # With a secret set, unsigned and wrongly signed pushes refresh nothing.
            push = github_push(url, "refs/heads/main")
            st, body = post_hook(srv, {"X-GitHub-Event": "push"}, push)
            check("unsigned push is 400 naming the header", st == 400 and "X-Hub-Signature-256" in body, f"{st} {body}")
            st, body = post_hook(srv, {"X-GitHub-Event": "push", "X-Hub-Signature-256": signed(push, "wrong")}, push)
            check("wrongly signed push is 401", st == 401 and "does not match" in body, f"{st} {body}")
            bad = {"ref": 7, "repository": {"html_url": url}}
            st, body = post_hook(srv, {"X-GitHub-Event": "push", "X-Hub-Signature-256": signed(bad)}, bad)
            check("a malformed payload is 400 naming the field", st == 400 and '"ref"' in body, f"{st} {body}")
            st, body = post_hook(srv, {"X-Nobody-Event": "push"}, push)
            check("an unknown sender is 400", st == 400 and "unknown webhook event" in body, f"{st} {body}")
            time.sleep(2)
            check("nothing refreshed by refused pushes", revision(srv, "on-main") == first, status(srv, "on-main"))

            # Another branch's push refreshes only the app of that branch.
            dev_push = github_push(url, "refs/heads/dev")
            st, body = post_hook(srv, {"X-GitHub-Event": "push", "X-Hub-Signature-256": signed(dev_push)}, dev_push)
            check("dev push accepted", st == 200, f"{st} {body}")
            check("dev push refreshes only the dev app", st == 200 and body.get("refreshed") == ["argocd/on-dev"], body)
            time.sleep(2)
            check("the main app stays at the first commit", revision(srv, "on-main") == first, status(srv, "on-main"))

            # A signed push of main, the repository spelt another way: the HEAD app follows.
            push = github_push(f"file://{repo}.git/", "refs/heads/main")
            fetches = git_fetches(srv)
            started = time.monotonic()
            st, body = post_hook(srv, {"X-GitHub-Event": "push", "X-Hub-Signature-256": signed(push)}, push)
            check("signed push accepted", st == 200, f"{st} {body}")
            check("the push refreshes the HEAD app, not the pinned one",
                  st == 200 and body.get("refreshed") == ["argocd/on-main"], body)
            until_status(srv, "on-main", lambda s: synced(s, second), "Synced at the pushed commit", timeout=15)
            print(f"webhook to Synced at the new commit: {time.monotonic() - started:.2f} s")
            check("one fetch for the push", git_fetches(srv) - fetches == 1, git_fetches(srv) - fetches)
            st, t = srv.call("GET", "/api/v1/workflow-templates/argo/on-main")
            check("the template follows the push", "two" in json.dumps(t.get("spec", {})), t.get("spec"))
            check("the pinned app stays", revision(srv, "pinned") == first, status(srv, "pinned"))

            # GitLab (token) and Gitea (signed with the gogs secret; its GitHub header is not used).
            gl = {"object_kind": "push", "ref": "refs/heads/dev", "project": {"web_url": url, "default_branch": "main"}}
            st, body = post_hook(srv, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "nope"}, gl)
            check("GitLab wrong token is 401", st == 401, f"{st} {body}")
            st, body = post_hook(srv, {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "gl-token"}, gl)
            check("GitLab push", st == 200 and body.get("refreshed") == ["argocd/on-dev"], f"{st} {body}")
            gitea = github_push(url, "refs/heads/main")
            sig = hmac.new(b"gogs", json.dumps(gitea).encode(), hashlib.sha256).hexdigest()
            st, body = post_hook(srv, {"X-Gitea-Event": "push", "X-GitHub-Event": "push", "X-Gitea-Signature": sig}, gitea)
            check("Gitea push", st == 200 and body.get("provider") == "gitea" and "argocd/on-main" in body.get("refreshed", []),
                  f"{st} {body}")
            st, body = post_hook(srv, {"X-GitHub-Event": "ping", "X-Hub-Signature-256": signed({"zen": "z"})}, {"zen": "z"})
            check("GitHub ping", st == 200 and body.get("refreshed") == [], f"{st} {body}")

        # The webhook needs no token where every other /api/ path does (its auth is the signature).
        guarded = Server(sys.argv[1], f"{data}/guarded", auth="client").start()
        with running(check, guarded):
            st, body = post_hook(guarded, {"X-GitHub-Event": "ping"}, {"zen": "z"})
            check("no token needed with --auth-mode client", st == 200, f"{st} {body}")
            st, _ = guarded.call("GET", "/api/v1/applications")
            check("other routes still need one", st == 401, st)
    return check.report("server/cd-webhook")


if __name__ == "__main__":
    sys.exit(main())
