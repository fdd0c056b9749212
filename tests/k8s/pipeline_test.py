#!/usr/bin/env python3
"""The reference CI/CD pipeline (examples/ci-cd/, unchanged) with the real test cluster
(scripts/k8s-up) as the Application's destination:

  pipeline_test.py SOURCE_DIR SKIFF WORKDIR [--pods]

The set-up is tests/pipeline/pipeline.py's, given the cluster: `skiff server --kubeconfig`
(so https://kubernetes.default.svc is the cluster), container-build pushing to the cluster's
own plain-HTTP registry, the page looked for at the node's address. Steps run here, as
containers (k8s/pipeline), or with --pods (k8s/pipeline-pods) each as a Pod on the cluster:
`skiff server --executor kubernetes`, the step images in the cluster's registry, the
Secrets and ConfigMap they mount in the workflow's namespace on the cluster (docs/pipeline.md,
"Every step as a Pod"). --pods then runs the success case once more with the steps here, and
prints both wall times.

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
With --pods, success also checks, with kubectl, that git-checkout-pr, html-modifier and
container-build each ran as a Pod labelled workflows.argoproj.io/workflow=<name> (hostNetwork,
as the workflow says; container-build's privileged) and that the resource steps made none.
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
SUCCESS_NS, UNHEALTHY_NS, HOST_NS, WORKFLOW_NS = RUN, f"{RUN}-unhealthy", f"{RUN}-host", f"{RUN}-wf"
POD_STEPS = ["git-checkout-pr", "html-modifier", "container-build"]


def kubectl(cenv, namespace, *args):
    r = subprocess.run([f"{cenv['bin']}/kubectl", "--kubeconfig", cenv["kubeconfig"], "-n", namespace, *args],
                       capture_output=True, text=True, timeout=60)
    return r.stdout if r.returncode == 0 else None


def kube_json(cenv, namespace, *args):
    out = kubectl(cenv, namespace, *args, "-o", "json")
    return json.loads(out) if out else {}


def success(env, cenv, app_ns=SUCCESS_NS):
    """The success case; returns (submit to the workflow's end, submit to the page answering) in s."""
    t0 = time.monotonic()
    name = pipeline.submit(env, "feature-1", "final-application", {"app_namespace": app_ns})
    wf, seen = pipeline.wait(env, name, timeout=600)
    wall = time.monotonic() - t0
    pipeline.report(env, name, wf, seen, t0)
    if env.get("executor") == "kubernetes":
        step_pods(env, cenv, name)
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
    here = f"{env['data']}/machine/objects/{app_ns}"
    check("success: nothing of it runs on this machine", not os.path.exists(here), here)

    image = f"{push}/demo-app@{digest}"
    dep = kube_json(cenv, app_ns, "get", "deployment", "final-application")
    containers = dep.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
    check("success: kubectl: the Deployment runs the pushed digest", [c.get("image") for c in containers] == [image],
          [c.get("image") for c in containers])
    check("success: kubectl: the Deployment is available",
          dep.get("status", {}).get("availableReplicas") == 1, dep.get("status"))
    pods = kube_json(cenv, app_ns, "get", "pods", "-l", "app=final-application").get("items", [])
    ids = [cs.get("imageID", "") for p in pods for cs in p.get("status", {}).get("containerStatuses", [])
           if cs.get("ready")]
    check("success: kubectl: a ready pod whose image containerd pulled by that digest",
          any(i.endswith(digest) for i in ids), ids)
    svc = kube_json(cenv, app_ns, "get", "service", "final-application")
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
    return wall, answered


def step_pods(env, cenv, name):
    """kubectl's view of the workflow's Pods: one per container step, none for the resource steps."""
    # A step ends when its main and wait containers have; the kubelet then sets the Pod's
    # phase at its next sync, seconds later on a loaded node: wait for that (60 s at most).
    deadline = time.monotonic() + 60
    while True:
        items = kube_json(cenv, env["namespace"], "get", "pods", "-l",
                          f"workflows.argoproj.io/workflow={name}").get("items", [])
        settled = all(p.get("status", {}).get("phase") in ("Succeeded", "Failed") for p in items)
        if settled or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    pods = {}
    for p in items:
        step = p["metadata"].get("annotations", {}).get("workflows.argoproj.io/node-name", "").rsplit(".", 1)[-1]
        pods[step] = p
        st = p.get("status", {})
        main = next((c for c in st.get("containerStatuses", []) if c["name"] == "main"), {})
        term = main.get("state", {}).get("terminated", {})
        print(f"     pod {p['metadata']['name']}: {st.get('phase')} on {p['spec'].get('nodeName')}, made "
              f"{p['metadata'].get('creationTimestamp')}, main {term.get('startedAt', '?')} .. "
              f"{term.get('finishedAt', '?')} exit {term.get('exitCode')}", flush=True)
    check(f"pods: kubectl shows one Pod labelled workflows.argoproj.io/workflow={name} for each of "
          f"{', '.join(POD_STEPS)} and none for the resource steps", sorted(pods) == sorted(POD_STEPS), sorted(pods))
    for step in POD_STEPS:
        p = pods.get(step, {})
        spec = p.get("spec", {})
        check(f"pods: {step}'s Pod Succeeded on the node {cenv['node']} in the host's network",
              p.get("status", {}).get("phase") == "Succeeded" and spec.get("nodeName") == cenv["node"]
              and spec.get("hostNetwork") is True, (p.get("status", {}).get("phase"), spec.get("nodeName"),
                                                   spec.get("hostNetwork")))
    main = next((c for c in pods.get("container-build", {}).get("spec", {}).get("containers", [])
                 if c["name"] == "main"), {})
    check("pods: BuildKit ran in a privileged Pod (moby/buildkit:v0.34.2)",
          main.get("securityContext", {}).get("privileged") is True and main.get("image") == "moby/buildkit:v0.34.2",
          main)


def no_marker(env, cenv):
    """html-modifier's Pod fails; the node says why as on the other executors (the kubelet's
    termination message from the log: FallbackToLogsOnError)."""
    wf = pipeline_test.no_marker(env)
    msg = node(wf, "html-modifier").get("message", "")
    want = "Error (exit code 1): CHANGEMEPLEASE not found in /workdir/src/CI/index.html: nothing to replace"
    check("no-marker: html-modifier's message is the step's own words, as on the other executors",
          msg.startswith(want), msg)


def unhealthy(env, cenv):
    # Watch the Deployment's conditions on the cluster while the workflow runs: it is gone
    # once delete-application has run, within a second of turning Degraded.
    watch = subprocess.Popen([f"{cenv['bin']}/kubectl", "--kubeconfig", cenv["kubeconfig"], "-n", UNHEALTHY_NS, "get",
                              "deployments", "--watch", "-o", "json"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    name = pipeline.submit(env, "unhealthy", "unhealthy", {"app_namespace": UNHEALTHY_NS})
    health, deadline = set(), time.monotonic() + 300
    while True:
        st, wf = pipeline.call(env["base"], "GET", f"/api/v1/workflows/{pipeline.ns(env)}/{name}")
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


def run_cases(env, cenv, cases):
    out = {}
    for case in cases:
        try:
            out[case.__name__] = case(env, cenv)
        except Exception as e:  # one case's surprise must not hide the other's results
            check(f"{case.__name__} ran", False, repr(e))
    return out


def stop(work):
    if failures and os.path.exists(f"{work}/server.log"):
        print(f"--- server log (tail) {work}")
        print(open(f"{work}/server.log").read()[-4000:])
    pipeline.down(work)  # deletes the Applications (and their objects) on the cluster first


def main():
    source, skiff, work = (os.path.abspath(a) for a in sys.argv[1:4])
    pods = sys.argv[4:] == ["--pods"]
    if sys.argv[4:] and not pods:
        raise SystemExit("usage: pipeline_test.py SOURCE_DIR SKIFF WORKDIR [--pods]")
    cenv = cluster_env(source)
    reason = pipeline.cannot_run()
    if reason:
        print("skipped:", reason)
        return 77
    cluster = {"kubeconfig": cenv["kubeconfig"], "push_registry": cenv["registry"], "node_address": cenv["node_ip"]}
    host_work = f"{work}-host"
    try:
        t = time.monotonic()
        if pods:
            state = os.path.dirname(cenv["kubeconfig"])
            try:
                with open(f"{state}/emissary-image") as f:
                    emissary = f.read().strip()
            except OSError as e:
                raise SystemExit(f"skiff's image is not in the cluster's registry ({e}): run the k8s/images test")
            env = pipeline.up(work, skiff, **cluster, executor="kubernetes", kubectl_bin=f"{cenv['bin']}/kubectl",
                              emissary_image=emissary, namespace=WORKFLOW_NS)
        else:
            env = pipeline.up(work, skiff, **cluster)
        print(f"     set-up ready in {time.monotonic() - t:.1f} s", flush=True)
        times = run_cases(env, cenv, (success, no_marker, unhealthy) if pods else (success, unhealthy)).get("success")
        if pods:
            # The same success case with the steps here (k8s/pipeline's set-up), to compare.
            stop(work)
            print("     the same pipeline with its steps on this machine (container executor):", flush=True)
            host = pipeline.up(host_work, skiff, **cluster)
            host_times = run_cases(host, cenv, [lambda e, c: success(e, c, HOST_NS)]).get("<lambda>")
            if times and host_times:
                print(f"     wall time, submit to Succeeded: {times[0]:.1f} s with every step a Pod, "
                      f"{host_times[0]:.1f} s with the steps on this machine; submit to the page answering: "
                      f"{times[1]:.1f} s / {host_times[1]:.1f} s", flush=True)
    finally:
        stop(work)
        if pods:
            stop(host_work)
        for ns in (SUCCESS_NS, UNHEALTHY_NS, HOST_NS, WORKFLOW_NS):
            subprocess.run([f"{cenv['bin']}/kubectl", "--kubeconfig", cenv["kubeconfig"], "delete", "namespace", ns,
                            "--ignore-not-found", "--wait=false"], capture_output=True)
    if not failures:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(host_work, ignore_errors=True)
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
