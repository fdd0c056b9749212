#!/usr/bin/env python3
"""Proves the test cluster (scripts/k8s-up) provisions volumes dynamically, through kubectl:

  storage_test.py SOURCE_DIR

- the StorageClass local-path exists, is the default, deletes its volumes and binds at once;
- a ReadWriteMany claim that names no class gets local-path and binds; its volume is a
  directory under the cluster's volumes directory ($SKIFF_K8S_STATE/volumes);
- a ReadWriteOnce claim binds too;
- a Pod writes a file to the shared claim and, while it still runs, a second Pod reads it
  and answers through the same volume (both mount it at once); the file is on the host;
- the claims are deleted and their volumes and directories go away.

Exit 77 (skipped) only when the machine cannot run the cluster (scripts/k8s-up --check).
"""
import json
import os
import subprocess
import sys
import time

from cluster import cluster_env

source = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
env = cluster_env(source)
ns = f"storage-{os.getpid()}"
volumes = env.get("volumes", "/var/tmp/skiff-k8s/volumes")


def kubectl(*args, stdin=None, check=True):
    r = subprocess.run([f"{env['bin']}/kubectl", "--kubeconfig", env["kubeconfig"], "-n", ns, *args],
                       input=stdin, capture_output=True, text=True, timeout=180)
    if check and r.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
    return r


def get(kind, name, check=True):
    r = kubectl("get", kind, name, "-o", "json", check=check)
    return json.loads(r.stdout) if r.returncode == 0 else None


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
    def explain():
        text = kubectl("describe", kind, name, check=False).stdout
        log = f"{os.environ.get('SKIFF_K8S_STATE', '/var/tmp/skiff-k8s')}/logs/local-path-provisioner.log"
        try:
            with open(log) as f:
                text += "\nlocal-path-provisioner.log ends:\n" + "".join(f.readlines()[-20:])
        except OSError:
            pass
        return text
    return explain


def storage_class():
    sc = json.loads(kubectl("get", "storageclass", "local-path", "-o", "json").stdout)
    assert sc["metadata"]["annotations"].get("storageclass.kubernetes.io/is-default-class") == "true", sc
    assert sc["reclaimPolicy"] == "Delete", sc
    assert sc["volumeBindingMode"] == "Immediate", sc
    classes = json.loads(kubectl("get", "storageclass", "-o", "json").stdout)["items"]
    defaults = [c["metadata"]["name"] for c in classes
                if c["metadata"].get("annotations", {}).get("storageclass.kubernetes.io/is-default-class") == "true"]
    assert defaults == ["local-path"], defaults
    print(f"PASS StorageClass local-path is the only default, provisioner {sc['provisioner']}, "
          "reclaimPolicy Delete, volumeBindingMode Immediate")


def claim(name, mode, storage_class_name=None):
    spec = {"accessModes": [mode], "resources": {"requests": {"storage": "64Mi"}}}
    if storage_class_name:
        spec["storageClassName"] = storage_class_name
    kubectl("create", "-f", "-", stdin=json.dumps(
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": spec}))
    t0 = time.monotonic()

    def bound():
        pvc = get("pvc", name)
        return pvc if pvc["status"].get("phase") == "Bound" else None
    pvc = wait_until(f"Bound claim {name}", bound, 90, describe("pvc", name))
    seconds = time.monotonic() - t0
    assert pvc["spec"]["storageClassName"] == "local-path", pvc["spec"]
    pv = get("pv", pvc["spec"]["volumeName"])
    assert pv["spec"]["accessModes"] == [mode], pv["spec"]
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete", pv["spec"]
    path = pv["spec"]["hostPath"]["path"]
    assert os.path.dirname(path) == volumes, (path, volumes)
    assert os.path.isdir(path), path
    named = f"class {storage_class_name} named" if storage_class_name else "no class named"
    print(f"PASS {mode} claim {name} ({named}) bound in {seconds:.1f} s to {pv['metadata']['name']}, "
          f"directory {path}")
    return pv


def pod(name, claim_name, script):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "main", "image": "busybox:1.36", "command": ["sh", "-c", script],
                                     "volumeMounts": [{"name": "work", "mountPath": "/work"}]}],
                     "volumes": [{"name": "work", "persistentVolumeClaim": {"claimName": claim_name}}]}}


def phase(name):
    return get("pod", name)["status"].get("phase")


def share(pv):
    # The writer stays running until the reader has answered through the volume: both pods
    # have it mounted at the same time.
    writer = ("echo written-by-writer > /work/greeting; i=0; "
              "while [ ! -f /work/answer ] && [ $i -lt 600 ]; do sleep 0.2; i=$((i+1)); done; cat /work/answer")
    kubectl("create", "-f", "-", stdin=json.dumps(pod("writer", "shared", writer)))
    wait_until("writer running", lambda: phase("writer") == "Running", explain=describe("pod", "writer"))
    wait_until("the greeting on the host", lambda: os.path.isfile(f"{pv['spec']['hostPath']['path']}/greeting"), 60)
    reader = "cat /work/greeting && echo read-by-reader > /work/answer"
    kubectl("create", "-f", "-", stdin=json.dumps(pod("reader", "shared", reader)))
    for name in ("reader", "writer"):
        wait_until(f"end of pod {name}", lambda: phase(name) in ("Succeeded", "Failed"),
                   explain=describe("pod", name))
        assert phase(name) == "Succeeded", describe("pod", name)()
    assert kubectl("logs", "reader").stdout == "written-by-writer\n", kubectl("logs", "reader").stdout
    assert kubectl("logs", "writer").stdout == "read-by-reader\n", kubectl("logs", "writer").stdout
    with open(f"{pv['spec']['hostPath']['path']}/greeting") as f:
        assert f.read() == "written-by-writer\n"
    print("PASS a pod wrote to the ReadWriteMany claim, a second read it while the first ran and "
          "answered; the file is in the volume's directory on the host")


def release(name, pv):
    kubectl("delete", "pod", "--all", "--wait=true", "--timeout", "60s")
    t0 = time.monotonic()
    kubectl("delete", "pvc", name, "--wait=true", "--timeout", "60s")
    path = pv["spec"]["hostPath"]["path"]
    pv_name = pv["metadata"]["name"]
    wait_until(f"deletion of {pv_name}", lambda: get("pv", pv_name, check=False) is None, 90,
               describe("pv", pv_name))
    wait_until(f"removal of {path}", lambda: not os.path.exists(path), 30)
    print(f"PASS claim {name} deleted: volume {pv_name} and {path} gone after {time.monotonic() - t0:.1f} s")


def main():
    storage_class()
    kubectl("create", "namespace", ns)
    try:
        wait_until("default service account", lambda: kubectl("get", "serviceaccount", "default", check=False)
                   .returncode == 0, 60)
        shared = claim("shared", "ReadWriteMany")
        single = claim("single", "ReadWriteOnce", "local-path")
        share(shared)
        release("shared", shared)
        release("single", single)
    finally:
        kubectl("delete", "namespace", ns, "--wait=false", check=False)


if __name__ == "__main__":
    main()
