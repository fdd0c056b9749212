"""The test cluster as the k8s tests see it (scripts/k8s-up): its env.json, or exit 77
(skipped) when this machine cannot run it."""
import json
import os
import subprocess
import sys


def cluster_env(source):
    """env.json of the running test cluster (kubeconfig, bin, addresses)."""
    check = subprocess.run([f"{source}/scripts/k8s-up", "--check"], capture_output=True, text=True)
    if check.returncode == 77:
        print(check.stderr.strip())
        sys.exit(77)
    state = os.environ.get("SKIFF_K8S_STATE", "/var/tmp/skiff-k8s")
    try:
        with open(f"{state}/env.json") as f:
            return json.load(f)
    except OSError as e:
        raise SystemExit(f"the test cluster is not up ({e}): run scripts/k8s-up")
