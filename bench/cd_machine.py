#!/usr/bin/env python3
"""Figures for Applications on this machine (docs/cd.md, "This machine"): the time from
creating an Application with a 2-replica Deployment (busybox httpd from the test registry)
and a Service until it is Synced and Healthy with the page answering on the published port,
and from a push changing the pod template until the rollout is Healthy and every answer is
the new page. Mean and range over ROUNDS rollouts. Needs root, runc and the test registry:

  python3 tests/registry/registry.py start build/test-registry
  bench/cd_machine.py build/skiff build/test-registry [ROUNDS]    (default 5)
"""
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "clients"))
from cd_machine_test import DEPLOYMENT, SERVICE, page  # noqa: E402
from cd_test import git, write  # noqa: E402
from skiffserver import Server  # noqa: E402


def main():
    skiff, registry = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    with tempfile.TemporaryDirectory(prefix="skiff-machine-bench-") as data:
        repo = f"{data}/repo"
        os.makedirs(repo)
        git(repo, "init", "-q", "-b", "main")
        write(repo, "web/deployment.yaml", DEPLOYMENT.format(page="v0", probe="/"))
        write(repo, "web/service.yaml", SERVICE)
        git(repo, "add", "-A")
        sha = git(repo, "commit", "-q", "-m", "v0")
        srv = Server(skiff, data, "--registries", f"{registry}/registries.yaml",
                     "--registry-config", f"{registry}/config.json").start()
        try:
            def wait(revision, want_page):
                while True:
                    st, a = srv.call("GET", "/api/v1/applications/web")
                    s = a.get("status", {}) if st == 200 else {}
                    if (s.get("sync", {}).get("revision") == revision and s.get("sync", {}).get("status") == "Synced"
                            and s.get("health", {}).get("status") == "Healthy"):
                        st, m = srv.call("GET", "/api/v1/applications/web/managed-resources")
                        svc = [json.loads(i["liveState"]) for i in m.get("items", []) if i["kind"] == "Service"]
                        ports = svc[0]["metadata"].get("annotations", {}).get("skiff.io/published-ports", "") if svc else ""
                        if ports and all(page(int(ports.split(":")[1])) == want_page for _ in range(4)):
                            return
                    time.sleep(0.05)

            app = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                   "metadata": {"name": "web", "namespace": "argocd"},
                   "spec": {"project": "default",
                            "source": {"repoURL": f"file://{repo}", "path": "web", "targetRevision": "HEAD"},
                            "destination": {"server": "https://kubernetes.default.svc", "namespace": "default"},
                            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}}}}
            start = time.monotonic()
            srv.call("POST", "/api/v1/applications", app)
            wait(sha, "v0")
            print(f"create -> Healthy, page served (2 replicas, first image pull): {time.monotonic() - start:.2f} s")
            times = []
            for i in range(1, rounds + 1):
                write(repo, "web/deployment.yaml", DEPLOYMENT.format(page=f"v{i}", probe="/"))
                git(repo, "add", "-A")
                sha = git(repo, "commit", "-q", "-m", f"v{i}")
                start = time.monotonic()
                srv.call("GET", "/api/v1/applications/web?refresh=normal")
                wait(sha, f"v{i}")
                times.append(time.monotonic() - start)
            print(f"push + refresh -> rollout Healthy, new page served (2 replicas, {rounds} rounds): "
                  f"mean {sum(times) / len(times):.2f} s, min {min(times):.2f} s, max {max(times):.2f} s")
        finally:
            srv.stop()


if __name__ == "__main__":
    main()
