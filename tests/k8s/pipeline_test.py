#!/usr/bin/env python3
"""The reference CI/CD pipeline (examples/ci-cd/, unchanged) with the real test cluster
(scripts/k8s-up) as the Application's destination:

  pipeline_test.py SOURCE_DIR SKIFF WORKDIR

The set-up is tests/pipeline/pipeline.py's, given the cluster: `skiff server --kubeconfig`
(so https://kubernetes.default.svc is the cluster), container-build pushing to the cluster's
own plain-HTTP registry, the page looked for at the node's address. Steps still run here.

- success: the workflow Succeeds; the cluster's registry serves the digest container-build
  output; the Application is Healthy and Synced in skiff and nothing of it is on this
  machine; kubectl shows the Deployment running that digest (containerd pulled
  <registry>/demo-app@sha256:...); the page answers at <node IP>:<nodePort> naming the
  workflow;
- unhealthy: a readiness probe that never passes with progressDeadlineSeconds: 5 -> the
  cluster's Deployment controller says ProgressDeadlineExceeded -> Degraded ->
  deploy-application fails -> delete-application removes the Application, and kubectl shows
  its Deployment, ReplicaSets and Service gone.
Exits 77 (skipped) when this machine cannot run the cluster or containers, or BuildKit was
not built (scripts/buildkit-build).
"""
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, f"{ROOT}/tests/pipeline")
sys.path.insert(0, f"{ROOT}/tests/registry")
from cluster import cluster_env  # noqa: E402
import pipeline  # noqa: E402
import pipeline_test  # noqa: E402
import registry  # noqa: E402
from pipeline_test import check, failures, node, until  # noqa: E402

RUN = f"pipe-{os.getpid()}"
SUCCESS_NS, UNHEALTHY_NS = RUN, f"{RUN}-unhealthy"


def kubectl(cenv, namespace, *args):
    r = subprocess.run([f"{cenv['bin']}/kubectl", "--kubeconfig", cenv["kubeconfig"], "-n", namespace, *args],
                       capture_output=True, text=True, timeout=60)
    return r.stdout if r.returncode == 0 else None


def kube_json(cenv, namespace, *args):
    out = kubectl(cenv, namespace, *args, "-o", "json")
    return json.loads(out) if out else {}


def success(env, cenv):
    t0 = time.monotonic()
    name = pipeline.submit(env, "feature-1", "final-application", {"app_namespace": SUCCESS_NS})
    wf, seen = pipeline.wait(env, name, timeout=300)
    pipeline.report(env, name, wf, seen, t0)
    check("success: the workflow Succeeded", wf["status"]["phase"] == "Succeeded", json.dumps(wf["status"])[:2000])
    digest = next((p["value"] for p in node(wf, "container-build").get("outputs", {}).get("parameters", [])
                   if p["name"] == "digest"), "")
    check("success: container-build output a digest", digest.startswith("sha256:"), digest)
    push = env["push_registry"]
    served = pipeline_test.manifest_digest(env, "demo-app", name, registry.Registry(f"http://{push}", None))
    check(f"success: the cluster's registry {push} serves that digest for the tag", served == digest,
          f"{served} != {digest}")
    status = pipeline.app_status(env, "final-application")
    check("success: the Application is Healthy and Synced in skiff",
          status.get("health", {}).get("status") == "Healthy" and status.get("sync", {}).get("status") == "Synced",
          json.dumps(status)[:1500])
    st, app = pipeline.call(env["base"], "GET", "/api/v1/applications/final-application?appNamespace=argocd")
    check("success: its destination is the in-cluster URL, as the template writes it",
          app.get("spec", {}).get("destination", {}).get("server") == "https://kubernetes.default.svc", app.get("spec"))
    here = f"{env['data']}/machine/objects/{SUCCESS_NS}"
    check("success: nothing of it runs on this machine", not os.path.exists(here), here)

    image = f"{push}/demo-app@{digest}"
    dep = kube_json(cenv, SUCCESS_NS, "get", "deployment", "final-application")
    containers = dep.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
    check("success: kubectl: the Deployment runs the pushed digest", [c.get("image") for c in containers] == [image],
          [c.get("image") for c in containers])
    check("success: kubectl: the Deployment is available",
          dep.get("status", {}).get("availableReplicas") == 1, dep.get("status"))
    pods = kube_json(cenv, SUCCESS_NS, "get", "pods", "-l", "app=final-application").get("items", [])
    ids = [cs.get("imageID", "") for p in pods for cs in p.get("status", {}).get("containerStatuses", [])
           if cs.get("ready")]
    check("success: kubectl: a ready pod whose image containerd pulled by that digest",
          any(i.endswith(digest) for i in ids), ids)
    svc = kube_json(cenv, SUCCESS_NS, "get", "service", "final-application")
    check("success: the Service is a NodePort", svc.get("spec", {}).get("type") == "NodePort", svc.get("spec"))

    url = pipeline.page_of(env, "final-application")
    check(f"success: the page's URL is on the node's address {env['node_address']}",
          bool(url) and url.startswith(f"http://{env['node_address']}:"), url)
    body = ""
    try:
        body = pipeline.fetch_page(url) if url else ""
    except OSError as e:
        body = repr(e)
    check("success: the deployed page names the workflow", name in body and "Now with a feature." in body, body[:500])
    answered = time.monotonic() - t0
    print(f"     the page answered {answered:.2f} s after the submit: {url}", flush=True)
    # The server's resync is 180 s: sooner means it heard of the Deployment turning ready
    # from its watch on the cluster (server/cluster_watch.h).
    check("success: the page answered within 60 s of the submit", answered < 60, f"{answered:.1f} s")
    if url:  # kube-proxy here serves NodePorts on the node IP only (nodePortAddresses): say so
        local = url.replace(env["node_address"], "127.0.0.1")
        try:
            pipeline.fetch(local, timeout=2)
            print(f"     {local} answers too", flush=True)
        except (OSError, urllib.error.URLError) as e:
            print(f"     {local} does not answer ({e}): NodePorts are on the node IP only", flush=True)


def unhealthy(env, cenv):
    # Watch the Deployment's conditions on the cluster while the workflow runs: it is gone
    # once delete-application has run, within a second of turning Degraded.
    watch = subprocess.Popen([f"{cenv['bin']}/kubectl", "--kubeconfig", cenv["kubeconfig"], "-n", UNHEALTHY_NS, "get",
                              "deployments", "--watch", "-o", "json"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    name = pipeline.submit(env, "unhealthy", "unhealthy", {"app_namespace": UNHEALTHY_NS})
    health, deadline = set(), time.monotonic() + 300
    while True:
        st, wf = pipeline.call(env["base"], "GET", f"/api/v1/workflows/{pipeline.NAMESPACE}/{name}")
        if st == 200 and wf.get("status", {}).get("phase") in ("Succeeded", "Failed", "Error"):
            break
        if time.monotonic() > deadline:
            watch.kill()
            check("unhealthy: the workflow ended within 300 s", False, wf.get("status", {}).get("phase"))
            return
        s = pipeline.app_status(env, "unhealthy")
        if s.get("health"):
            health.add((s["health"].get("status"), s["health"].get("message", "")))
        time.sleep(0.1)
    time.sleep(1)  # the watch's last events
    watch.terminate()
    reasons, text, at = set(), watch.communicate()[0], 0
    while text[at:].strip():  # one JSON document per event, one after the other
        obj, at = json.JSONDecoder().raw_decode(text, len(text) - len(text[at:].lstrip()))
        reasons |= {c.get("reason") for c in obj.get("status", {}).get("conditions", []) if c.get("type") == "Progressing"}
    print(f"     {name}: {wf['status']['phase']} " + ", ".join(
        f"{s}={n.get('phase')}" for s, n in pipeline.step_nodes(wf).items()), flush=True)
    print(f"     seen: Progressing reasons {sorted(r for r in reasons if r)}, health {sorted(health)}", flush=True)
    check("unhealthy: kubectl: the cluster's Deployment controller said ProgressDeadlineExceeded",
          "ProgressDeadlineExceeded" in reasons, reasons)
    deploy = node(wf, "deploy-application")
    # Degraded lasts only until delete-application runs, which can be sooner than a poll
    # here: the resource step's own message says it saw it too.
    check("unhealthy: the Application turned Degraded", any(h[0] == "Degraded" for h in health)
          or "failure condition 'status.health.status==Degraded' evaluated true" in deploy.get("message", ""),
          (health, deploy))
    pipeline_test.check_handled_deploy_failure(env, wf, "unhealthy")
    def nothing_left():
        out = kubectl(cenv, UNHEALTHY_NS, "get", "deployments,replicasets,services", "-o", "name")
        return out is not None and out.strip() == ""
    left = until("objects gone", nothing_left, timeout=60)
    check("unhealthy: kubectl: its Deployment, ReplicaSets and Service are gone from the cluster", left,
          kubectl(cenv, UNHEALTHY_NS, "get", "deployments,replicasets,services", "-o", "name"))


def main():
    source, skiff, work = (os.path.abspath(a) for a in sys.argv[1:4])
    cenv = cluster_env(source)
    reason = pipeline.cannot_run()
    if reason:
        print("skipped:", reason)
        return 77
    try:
        t = time.monotonic()
        env = pipeline.up(work, skiff, kubeconfig=cenv["kubeconfig"], push_registry=cenv["registry"],
                          node_address=cenv["node_ip"])
        print(f"     set-up ready in {time.monotonic() - t:.1f} s", flush=True)
        for case in (success, unhealthy):
            try:
                case(env, cenv)
            except Exception as e:  # one case's surprise must not hide the other's results
                check(f"{case.__name__} ran", False, repr(e))
    finally:
        if failures and os.path.exists(f"{work}/server.log"):
            print("--- server log (tail)")
            print(open(f"{work}/server.log").read()[-4000:])
        pipeline.down(work)  # deletes the Applications (and their objects) on the cluster first
        for ns in (SUCCESS_NS, UNHEALTHY_NS):
            subprocess.run([f"{cenv['bin']}/kubectl", "--kubeconfig", cenv["kubeconfig"], "delete", "namespace", ns,
                            "--ignore-not-found", "--wait=false"], capture_output=True)
    if not failures:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
