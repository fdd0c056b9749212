#!/usr/bin/env python3
"""The reference CI/CD pipeline end to end (tests/pipeline/pipeline.py sets it up):

- success: the pull request's branch is checked out and merged, the page names the workflow,
  BuildKit pushes the image (the registry serves the digest the step output), the
  Application deploys it to this machine (Healthy, Synced, running that digest) and the page
  answers on its published port; Prometheus scraped the templates' metrics;
- the page lost its marker: html-modifier fails saying so, nothing is built;
- a Deployment that cannot become ready within its progressDeadlineSeconds: the Application
  turns Degraded, deploy-application fails on its failureCondition, delete-application
  removes the Application and its workloads, and the workflow ends as Argo ends it
  (Succeeded: the failure was handled);
- a wrong registry password and a CA that did not sign the registry: container-build fails
  and its message says why;
- the Hera variant (examples/ci-cd/hera/ci_workflow.py, tests/pipeline/hera_case.py): the
  same templates created from Python, created then updated, the Workflow submitted, waited
  for and linked, its page served.
Exits 77 (skipped) when containers cannot run here or BuildKit was not built
(scripts/buildkit-build). Usage: pipeline_test.py SKIFF WORKDIR"""
import json
import os
import shutil
import subprocess
import sys
import time

import hera_case
import pipeline
import registry
from prometheus import until_query

failures = []


def check(what, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + what + ("" if ok else f": {detail}"), flush=True)
    if not ok:
        failures.append(what)
    return ok


def node(wf, step):
    return pipeline.step_nodes(wf).get(step, {})


def until(what, fn, timeout=60, every=0.25):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(every)
    return last


def run_case(env, branch, app, extra=None):
    name = pipeline.submit(env, branch, app, extra)
    wf, _ = pipeline.wait(env, name, timeout=300)
    print(f"     {name}: {wf['status']['phase']} " + ", ".join(
        f"{s}={n.get('phase')}" for s, n in pipeline.step_nodes(wf).items()), flush=True)
    for s, n in pipeline.step_nodes(wf).items():
        if n.get("phase") in ("Failed", "Error"):
            print(f"     {s}: {n.get('message', '')[-400:]!r}", flush=True)
    return name, wf


def manifest_digest(env, repo, ref, reg=None):
    """The digest the registry serves for repo:ref (default: the set-up's own registry)."""
    reg = reg or registry.Registry(f"https://{env['registry']}", f"{env['registry_dir']}/ca.pem")
    accept = ", ".join(["application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
                        "application/vnd.docker.distribution.manifest.v2+json",
                        "application/vnd.docker.distribution.manifest.list.v2+json"])
    with reg.request("HEAD", f"/v2/{repo}/manifests/{ref}", headers={"Accept": accept}) as r:
        return r.headers.get("Docker-Content-Digest")


def success(env):
    name, wf = run_case(env, "feature-1", "final-application")
    check("success: the workflow Succeeded", wf["status"]["phase"] == "Succeeded", json.dumps(wf["status"])[:2000])
    for step in ("git-checkout-pr", "html-modifier", "container-build", "deploy-application"):
        check(f"success: {step} Succeeded", node(wf, step).get("phase") == "Succeeded", node(wf, step))
    check("success: delete-application did not run", node(wf, "delete-application").get("phase") in (None, "Omitted"),
          node(wf, "delete-application"))
    digest = next((p["value"] for p in node(wf, "container-build").get("outputs", {}).get("parameters", [])
                   if p["name"] == "digest"), "")
    check("success: container-build output a digest", digest.startswith("sha256:"), digest)
    served = manifest_digest(env, "demo-app", name)
    check("success: the registry serves that digest for the tag", served == digest, f"{served} != {digest}")
    status = pipeline.app_status(env, "final-application")
    check("success: the Application is Healthy and Synced",
          status.get("health", {}).get("status") == "Healthy" and status.get("sync", {}).get("status") == "Synced",
          json.dumps(status)[:1500])
    images = status.get("summary", {}).get("images", [])
    check("success: it runs the pushed digest", f"{env['registry']}/demo-app@{digest}" in images, images)
    url = pipeline.page_of(env, "final-application")
    body = pipeline.fetch(url) if url else ""
    check("success: the deployed page names the workflow", name in body and "Now with a feature." in body, body[:500])
    commit = next((p["value"] for p in node(wf, "git-checkout-pr").get("outputs", {}).get("parameters", [])
                   if p["name"] == "commit"), "")
    heads = subprocess.run(["git", "-C", f"{env['git_dir']}/repos/demo-app.git", "rev-parse", "feature-1", "main"],
                           capture_output=True, text=True).stdout.split()
    check("success: the checkout merged main into the branch (a new commit)", len(commit) == 40 and commit not in heads,
          f"{commit} vs {heads}")
    # Prometheus scrapes every second: the steps' counters and gauges arrive through it.
    for step in ("git-checkout-pr", "html-modifier", "container-build", "deploy-application"):
        expr = f'argo_workflows_result_counter{{name="{step}",status="Succeeded"}}'
        got = until_query(env["prometheus"], expr, lambda r: r and float(r[0]["value"][1]) >= 1, "counter", timeout=30)
        check(f"prometheus: {expr} >= 1", bool(got), got)
    expr = 'argo_workflows_exec_duration_gauge{name="container-build"}'
    got = until_query(env["prometheus"], expr, lambda r: r and float(r[0]["value"][1]) > 0, "gauge", timeout=30)
    check(f"prometheus: {expr} > 0", bool(got), got)


def no_marker(env):
    name, wf = run_case(env, "no-marker", "no-marker")
    check("no-marker: the workflow Failed", wf["status"]["phase"] == "Failed", wf["status"].get("phase"))
    msg = node(wf, "html-modifier").get("message", "")
    check("no-marker: html-modifier Failed saying why",
          node(wf, "html-modifier").get("phase") == "Failed" and "CHANGEMEPLEASE not found" in msg, msg)
    check("no-marker: nothing was built", "container-build" not in pipeline.step_nodes(wf)
          or node(wf, "container-build").get("phase") in ("Omitted", "Skipped"), node(wf, "container-build"))
    return wf


def check_handled_deploy_failure(env, wf, app):
    """deploy-application failed on its failureCondition, delete-application removed the
    Application, and the workflow Succeeded as Argo decides (the failure was handled)."""
    deploy = node(wf, "deploy-application")
    check("unhealthy: deploy-application Failed on its failureCondition",
          deploy.get("phase") == "Failed" and "failure condition" in deploy.get("message", ""), deploy)
    check("unhealthy: delete-application Succeeded", node(wf, "delete-application").get("phase") == "Succeeded",
          node(wf, "delete-application"))
    check("unhealthy: the workflow Succeeded (the failure was handled, as Argo decides)",
          wf["status"]["phase"] == "Succeeded", wf["status"].get("phase"))
    gone = until("app gone", lambda: pipeline.call(env["base"], "GET",
                                                   f"/api/v1/applications/{app}?appNamespace=argocd")[0] == 404,
                 timeout=60)
    check("unhealthy: the Application is gone", gone)


def unhealthy(env):
    _, wf = run_case(env, "unhealthy", "unhealthy")
    check_handled_deploy_failure(env, wf, "unhealthy")
    objects = f"{env['data']}/machine/objects/unhealthy"
    left = [f for _, _, fs in os.walk(objects) for f in fs] if os.path.isdir(objects) else []
    check("unhealthy: its workloads are gone", not left, left)


def replace_secret(env, name, *args):
    pipeline.skiff_cli(env, "secret", "rm", name, "-n", pipeline.NAMESPACE)
    pipeline.skiff_cli(env, "secret", "create", *args[:1], name, *args[1:], "-n", pipeline.NAMESPACE)


def bad_registry_access(env):
    reg = json.load(open(f"{env['registry_dir']}/env.json"))
    replace_secret(env, "registry-credentials", "docker-registry", "--docker-server", reg["host"],
                   "--docker-username", reg["user"], "--docker-password", "not-the-password")
    try:
        _, wf = run_case(env, "feature-1", "bad-password")
        msg = node(wf, "container-build").get("message", "")
        check("wrong password: container-build Failed saying the registry refused it",
              node(wf, "container-build").get("phase") == "Failed" and ("401" in msg or "nauthorized" in msg), msg)
        check("wrong password: the workflow Failed", wf["status"]["phase"] == "Failed", wf["status"].get("phase"))
    finally:
        replace_secret(env, "registry-credentials", "docker-registry", "--docker-server", reg["host"],
                       "--docker-username", reg["user"], "--docker-password", reg["password"])
    replace_secret(env, "harbor-ca", "generic", "--from-file", f"harbor-ca.crt={env['registry_dir']}/other-ca.pem")
    try:
        _, wf = run_case(env, "feature-1", "untrusted-ca")
        msg = node(wf, "container-build").get("message", "")
        check("untrusted CA: container-build Failed saying the certificate is not trusted",
              node(wf, "container-build").get("phase") == "Failed" and "certificate" in msg, msg)
    finally:
        replace_secret(env, "harbor-ca", "generic", "--from-file", f"harbor-ca.crt={env['registry_dir']}/ca.pem")


def hera(env):
    if not hera_case.hera(env, check):
        print("skipped: the Hera variant (no .clients: run scripts/install-test-clients)")


def main():
    skiff, work = sys.argv[1], sys.argv[2]
    reason = pipeline.cannot_run()
    if reason:
        print("skipped:", reason)
        return 77
    try:
        env = pipeline.up(work, skiff)
        for case in (success, no_marker, unhealthy, bad_registry_access, hera):
            try:
                case(env)
            except Exception as e:  # one case's surprise must not hide the others' results
                check(f"{case.__name__} ran", False, repr(e))
    finally:
        if failures and os.path.exists(f"{work}/server.log"):
            print("--- server log (tail)")
            print(open(f"{work}/server.log").read()[-4000:])
        check("every server stopped on SIGTERM", not pipeline.down(work))
    if not failures:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
