#!/usr/bin/env python3
"""Proves the test cluster (scripts/k8s-up) is a real Kubernetes, through kubectl:

  smoke_test.py SOURCE_DIR

- a Pod runs to completion: its exit code, phase and logs (stdout and stderr) as written;
- a Deployment of two replicas becomes Available;
- its Service's ClusterIP answers from the host and from another Pod;
- a Pod reaches the API through the `kubernetes` Service with its service-account token;
- a CustomResourceDefinition is created, an object of it written and read back, and one
  that breaks its schema is refused.

Exit 77 (skipped) only when the machine cannot run the cluster (scripts/k8s-up --check).
"""
import json
import os
import subprocess
import sys
import time
import urllib.request

from cluster import cluster_env

source = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
env = cluster_env(source)
ns = f"smoke-{os.getpid()}"
crd_group = "smoke.skiff.dev"


def kubectl(*args, stdin=None, check=True):
    r = subprocess.run([f"{env['bin']}/kubectl", "--kubeconfig", env["kubeconfig"], "-n", ns, *args],
                       input=stdin, capture_output=True, text=True, timeout=180)
    if check and r.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
    return r


def get(kind, name):
    return json.loads(kubectl("get", kind, name, "-o", "json").stdout)


def wait_until(what, predicate, seconds=120, explain=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    detail = explain() if explain else ""
    raise AssertionError(f"no {what} within {seconds} s\n{detail}")


def describe(kind, name):
    return lambda: kubectl("describe", kind, name, check=False).stdout


def run_pod(name, image, *command, phase):
    kubectl("run", name, "--image", image, "--restart", "Never", "--command", "--", *command)

    def ended():
        pod = get("pod", name)
        return pod if pod["status"].get("phase") in ("Succeeded", "Failed") else None
    pod = wait_until(f"end of pod {name}", ended, explain=describe("pod", name))
    assert pod["status"]["phase"] == phase, (phase, describe("pod", name)())
    return pod


def pod_completes():
    pod = run_pod("step", "busybox:1.36", "sh", "-c", "echo step-output; echo step-error >&2; exit 3",
                  phase="Failed")
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 3, terminated
    assert terminated["reason"] == "Error", terminated
    logs = kubectl("logs", "step").stdout
    # Both streams, each line whole; their order is the runtime's (two pipes).
    assert sorted(logs.splitlines()) == ["step-error", "step-output"], repr(logs)
    ok = run_pod("ok", "busybox:1.36", "true", phase="Succeeded")
    assert ok["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    print("PASS a pod runs to completion: exit code 3, phase Failed, its logs; another Succeeded")


def deployment_and_service():
    kubectl("create", "deployment", "web", "--image", "busybox:1.36", "--replicas", "2", "--port", "8080", "--",
            "sh", "-c", "mkdir /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www")
    kubectl("expose", "deployment", "web", "--port", "80", "--target-port", "8080")
    kubectl("wait", "--for", "condition=Available", "deployment/web", "--timeout", "120s")
    assert get("deployment", "web")["status"]["availableReplicas"] == 2
    print("PASS deployment web Available with 2 replicas")

    ip = get("service", "web")["spec"]["clusterIP"]

    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy

    def from_host():
        try:
            with direct.open(f"http://{ip}/", timeout=2) as r:
                return r.read().decode().strip()
        except OSError:
            return None
    body = wait_until(f"answer from service web at {ip} on the host", from_host, 60)
    assert body.startswith("web-"), body
    print(f"PASS service ClusterIP {ip} answers the host: {body}")

    # Debian's busybox-static wget crashes in an image; nc does the request.
    request = f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc {ip} 80 | tail -n 1"
    pod = run_pod("client", "busybox:1.36", "sh", "-c", request, phase="Succeeded")
    body = kubectl("logs", "client").stdout.strip()
    assert body.startswith("web-"), (body, pod["status"])
    print(f"PASS service ClusterIP {ip} answers a pod: {body}")


def api_from_pod():
    run_pod("in-cluster", f"registry.k8s.io/kubectl:{env['version']}", "kubectl", "get", "--raw", "/version",
            phase="Succeeded")
    version = json.loads(kubectl("logs", "in-cluster").stdout)
    assert version["gitVersion"] == env["version"], version
    print(f"PASS a pod reaches the API through the kubernetes Service: {version['gitVersion']}")


def custom_resource():
    spec_schema = {"type": "object", "required": ["size"],
                   "properties": {"size": {"type": "integer", "minimum": 1}, "colour": {"type": "string"}}}
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{crd_group}"},
        "spec": {"group": crd_group, "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                     "openAPIV3Schema": {"type": "object", "properties": {"spec": spec_schema}}}}]}}
    kubectl("apply", "-f", "-", stdin=json.dumps(crd))
    kubectl("wait", "--for", "condition=Established", f"crd/widgets.{crd_group}", "--timeout", "60s")
    widget = {"apiVersion": f"{crd_group}/v1", "kind": "Widget", "metadata": {"name": "w1"},
              "spec": {"size": 3, "colour": "teal"}}
    kubectl("create", "-f", "-", stdin=json.dumps(widget))
    read = get(f"widgets.{crd_group}", "w1")
    assert read["spec"] == {"size": 3, "colour": "teal"}, read
    assert read["metadata"]["resourceVersion"], read
    names = [w["metadata"]["name"] for w in json.loads(kubectl("get", "widgets", "-o", "json").stdout)["items"]]
    assert names == ["w1"], names
    bad = dict(widget, metadata={"name": "w2"}, spec={"size": 0})
    r = kubectl("create", "-f", "-", stdin=json.dumps(bad), check=False)
    assert r.returncode != 0 and "spec.size" in r.stderr, r.stderr
    print("PASS CRD Widget: an object written and read back, one breaking the schema refused")


def main():
    kubectl("create", "namespace", ns)
    try:
        wait_until("default service account", lambda: kubectl("get", "serviceaccount", "default", check=False)
                   .returncode == 0, 60)
        pod_completes()
        deployment_and_service()
        api_from_pod()
        custom_resource()
    finally:
        kubectl("delete", "namespace", ns, "--wait=false", check=False)
        kubectl("delete", "crd", f"widgets.{crd_group}", "--ignore-not-found", "--wait=false", check=False)


if __name__ == "__main__":
    main()
