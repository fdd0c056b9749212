#!/usr/bin/env python3
"""Applications deploying to the real test cluster (scripts/k8s-up) from a git repository:

  cd_test.py SOURCE_DIR SKIFF

- CreateNamespace, a ConfigMap and a Deployment: Synced, and Healthy once the Deployment is
  available, the objects carrying Argo CD's tracking annotation;
- drift (the Deployment scaled by hand) healed by selfHeal;
- a file removed from git is pruned from the cluster;
- a sync wave orders the objects;
- delete with cascade removes them from the cluster;
- the sync operation: a PreSync Job hook (generateName) runs first, then wave 0 (a ConfigMap
  and a Deployment consuming it), and wave 1's Deployment is created only once wave 0's is
  available (Healthy);
- the same web app through a cluster secret (Argo CD's format) on a server with no
  --kubeconfig, and an unknown cluster named in a condition.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients"))
from cluster import cluster_env  # noqa: E402
from skiffserver import Checks, Server, running  # noqa: E402

source = os.path.abspath(sys.argv[1])
skiff = os.path.abspath(sys.argv[2])
env = cluster_env(source)
run_id = f"{os.getpid()}-{int(time.time()) % 100000}"
ns = f"cd-{run_id}"

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - {name: web, image: busybox:latest, command: [sleep, "3600"]}
"""
CONFIG = """apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  annotations: {argocd.argoproj.io/sync-wave: "-1"}
data: {greeting: hello}
"""


MIGRATE = """apiVersion: batch/v1
kind: Job
metadata:
  generateName: migrate-
  annotations: {argocd.argoproj.io/hook: PreSync}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - {name: migrate, image: busybox:latest, command: [sh, -c, "sleep 1"]}
"""
API = """apiVersion: v1
kind: ConfigMap
metadata: {name: api-settings}
data: {GREETING: hello}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - name: api
          image: busybox:latest
          command: [sh, -c, 'test "$GREETING" = hello && sleep 3600']
          envFrom: [{configMapRef: {name: api-settings}}]
"""
FRONT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: front
  annotations: {argocd.argoproj.io/sync-wave: "1"}
spec:
  replicas: 1
  selector: {matchLabels: {app: front}}
  template:
    metadata: {labels: {app: front}}
    spec:
      containers:
        - {name: front, image: busybox:latest, command: [sleep, "3600"]}
"""


def kubectl(*args, check=True, namespace=None):
    r = subprocess.run([f"{env['bin']}/kubectl", "--kubeconfig", env["kubeconfig"], "-n", namespace or ns, *args],
                       capture_output=True, text=True, timeout=120)
    if check and r.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)}: {r.stderr.strip()}")
    return r


def git(repo, *args):
    subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True,
                   env=dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
                            GIT_COMMITTER_EMAIL="t@t"))
    return subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()


def until(srv, pred, what, timeout=120, app="web"):
    deadline = time.monotonic() + timeout
    last = {}
    while time.monotonic() < deadline:
        st, a = srv.call("GET", f"/api/v1/applications/{app}?appNamespace=argocd")
        last = a.get("status", {}) if st == 200 else {}
        if pred(last):
            return last
        time.sleep(0.5)
    raise AssertionError(f"no {what} within {timeout} s: {json.dumps(last)[:2000]}")


def main():
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="skiff-k8s-cd-") as data:
        repo = f"{data}/repo"
        os.makedirs(f"{repo}/deploy")
        git(repo, "init", "-q", "-b", "main")
        for name, text in (("deployment.yaml", DEPLOYMENT), ("config.yaml", CONFIG)):
            with open(f"{repo}/deploy/{name}", "w") as f:
                f.write(text)
        os.makedirs(f"{repo}/hooked")
        for name, text in (("migrate.yaml", MIGRATE), ("api.yaml", API), ("front.yaml", FRONT)):
            with open(f"{repo}/hooked/{name}", "w") as f:
                f.write(text)
        git(repo, "add", "-A")
        first = git(repo, "commit", "-q", "-m", "one")
        srv = Server(skiff, data, "--kubeconfig", env["kubeconfig"], "--app-resync", "2").start()
        with running(check, srv):
            application = {"metadata": {"name": "web", "namespace": "argocd"}, "spec": {
                "project": "default",
                "source": {"repoURL": f"file://{repo}", "path": "deploy", "targetRevision": "main"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
                "syncPolicy": {"automated": {"prune": True, "selfHeal": True}, "syncOptions": ["CreateNamespace=true"]}}}
            st, body = srv.call("POST", "/api/v1/applications", application)
            check("create", st == 200, f"{st} {body}")
            s = until(srv, lambda s: s.get("sync", {}).get("status") == "Synced" and s.get("health", {}).get("status") == "Healthy",
                      "Synced+Healthy")
            results = s.get("operationState", {}).get("syncResult", {}).get("resources", [])
            order = [r["kind"] for r in results]
            check("the wave -1 ConfigMap first", order[:2] in (["Namespace", "ConfigMap"], ["ConfigMap", "Deployment"]), order)
            d = json.loads(kubectl("get", "deployment", "web", "-o", "json").stdout)
            check("tracked", d["metadata"]["annotations"].get("argocd.argoproj.io/tracking-id") == f"web:apps/Deployment:{ns}/web",
                  d["metadata"].get("annotations"))
            kubectl("scale", "deployment", "web", "--replicas=1")
            time.sleep(1)
            until(srv, lambda s: json.loads(kubectl("get", "deployment", "web", "-o", "json").stdout)["spec"]["replicas"] == 2,
                  "drift healed", timeout=60)
            os.unlink(f"{repo}/deploy/config.yaml")
            git(repo, "add", "-A")
            second = git(repo, "commit", "-q", "-m", "two")
            until(srv, lambda s: s.get("sync", {}).get("revision") == second and s["sync"]["status"] == "Synced", "second commit synced")
            check("the removed ConfigMap is pruned", kubectl("get", "configmap", "settings", check=False).returncode != 0)
            st, _ = srv.call("DELETE", "/api/v1/applications/web?appNamespace=argocd&cascade=true")
            check("delete", st == 200, st)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and kubectl("get", "deployment", "web", check=False).returncode == 0:
                time.sleep(0.5)
            check("the Deployment went with the app", kubectl("get", "deployment", "web", check=False).returncode != 0)

            # The sync operation: PreSync Job hook, wave 0 (ConfigMap, Deployment using it), wave 1.
            hooked_ns = f"{ns}-hooks"
            hooked = {"metadata": {"name": "hooked", "namespace": "argocd"}, "spec": {
                "project": "default",
                "source": {"repoURL": f"file://{repo}", "path": "hooked", "targetRevision": first},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": hooked_ns},
                "syncPolicy": {"automated": {}, "syncOptions": ["CreateNamespace=true"]}}}
            check("create hooked", srv.call("POST", "/api/v1/applications", hooked)[0] == 200)
            s = until(srv, lambda s: s.get("operationState", {}).get("phase") in ("Succeeded", "Failed")
                      or "ComparisonError" in json.dumps(s.get("conditions", [])), "the operation's end", timeout=240, app="hooked")
            op = s["operationState"]
            check("Succeeded", op["phase"] == "Succeeded", op)
            order = [(r["kind"], r["name"], r["syncPhase"]) for r in op["syncResult"]["resources"] if r["kind"] != "Namespace"]
            job = order[0][1] if order else ""
            check("the PreSync Job first, then wave 0, then wave 1",
                  order == [("Job", job, "PreSync"), ("ConfigMap", "api-settings", "Sync"), ("Deployment", "api", "Sync"),
                            ("Deployment", "front", "Sync")] and job.startswith(f"migrate-{first[:7]}-presync-"), order)
            j = json.loads(kubectl("get", "job", job, "-o", "json", namespace=hooked_ns).stdout)
            check("the Job ran to completion",
                  any(c["type"] == "Complete" and c["status"] == "True" for c in j.get("status", {}).get("conditions", [])),
                  j.get("status"))
            api = json.loads(kubectl("get", "deployment", "api", "-o", "json", namespace=hooked_ns).stdout)
            front = json.loads(kubectl("get", "deployment", "front", "-o", "json", namespace=hooked_ns).stdout)
            available = next((c for c in api["status"].get("conditions", []) if c["type"] == "Available"), {})
            check("wave 1 was created only once wave 0's Deployment was available",
                  available.get("status") == "True" and
                  front["metadata"]["creationTimestamp"] >= available.get("lastTransitionTime", "~"),
                  f"{available} {front['metadata']['creationTimestamp']}")
            check("hooks are not resources of the app",
                  sorted(r["kind"] for r in s.get("resources", [])) == ["ConfigMap", "Deployment", "Deployment"], s.get("resources"))
        # A cluster kept as Argo CD keeps it (a secret in argocd with server and config), for
        # a server with no --kubeconfig of its own: the app names it by name.
        def kubeconfig_field(key):
            for line in open(env["kubeconfig"]):
                if line.strip().startswith(key + ":"):
                    return line.split(":", 1)[1].strip()
            raise AssertionError(f"{key} not in the test cluster's kubeconfig")
        config = {"tlsClientConfig": {"caData": kubeconfig_field("certificate-authority-data"),
                                      "certData": kubeconfig_field("client-certificate-data"),
                                      "keyData": kubeconfig_field("client-key-data")}}
        other = f"{data}/no-kubeconfig"
        subprocess.run([skiff, "secret", "create", "generic", "test-cluster", "-n", "argocd", "--data", other,
                        "--from-literal", "name=test-cluster", "--from-literal", f"server={env['api']}",
                        "--from-literal", f"config={json.dumps(config)}"], check=True, capture_output=True)
        srv = Server(skiff, other, "--app-resync", "2").start()
        with running(check, srv):
            application = {"metadata": {"name": "web", "namespace": "argocd"}, "spec": {
                "project": "default",
                "source": {"repoURL": f"file://{repo}", "path": "deploy", "targetRevision": "main"},
                "destination": {"name": "test-cluster", "namespace": ns},
                "syncPolicy": {"automated": {"prune": True}, "syncOptions": ["CreateNamespace=true"]}}}
            check("create on a cluster secret", srv.call("POST", "/api/v1/applications", application)[0] == 200)
            until(srv, lambda s: s.get("sync", {}).get("status") == "Synced" and s.get("health", {}).get("status") == "Healthy",
                  "Synced+Healthy through the cluster secret")
            check("deployed through the cluster secret", kubectl("get", "deployment", "web", check=False).returncode == 0)
            application["metadata"]["name"] = "nowhere"
            application["spec"]["destination"] = {"name": "no-such-cluster", "namespace": ns}
            srv.call("POST", "/api/v1/applications", application)
            st, a = srv.call("GET", "/api/v1/applications/nowhere?appNamespace=argocd")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not a.get("status", {}).get("conditions"):
                time.sleep(0.3)
                st, a = srv.call("GET", "/api/v1/applications/nowhere?appNamespace=argocd")
            check("an unknown cluster is named", "there are no clusters with this name: no-such-cluster"
                  in json.dumps(a.get("status", {}).get("conditions")), a.get("status"))
            srv.call("DELETE", "/api/v1/applications/web?appNamespace=argocd&cascade=true")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and kubectl("get", "deployment", "web", check=False).returncode == 0:
                time.sleep(0.5)
            check("cascade delete through the cluster secret", kubectl("get", "deployment", "web", check=False).returncode != 0)
    for namespace in (ns, f"{ns}-hooks"):
        subprocess.run([f"{env['bin']}/kubectl", "--kubeconfig", env["kubeconfig"], "delete", "namespace", namespace,
                        "--wait=false"], capture_output=True)
    return check.report("k8s cd")


if __name__ == "__main__":
    sys.exit(main())
