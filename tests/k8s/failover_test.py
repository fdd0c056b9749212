#!/usr/bin/env python3
"""Two skiff servers on one PostgreSQL with --executor kubernetes (docs/failover.md,
docs/kubernetes-executor.md): each with a data directory of its own, as on two machines,
since a step's outputs live in its Pod. A chain of four steps (each sleeping 2 s and passing
its output on) runs when the leader is SIGKILLed: the follower leads within 15 s, adopts the
running step's Pod and finishes the chain, the outputs passed along, with exactly one Pod
made per step. With a cluster configured the leadership is the Lease skiff-server in the
kubeconfig context's namespace (here the test's own), naming the leader's URL.
Usage: failover_test.py SOURCE_DIR SKIFF POSTGRES_DIR"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients"))
from cluster import cluster_env  # noqa: E402
from failover_test import finished, get, psql, role, until  # noqa: E402
from skiffserver import Checks, Server  # noqa: E402

STEPS = 4


def main():
    source, skiff, pgdir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3]
    env = cluster_env(source)
    state = os.path.dirname(env["kubeconfig"])
    with open(os.path.join(state, "emissary-image")) as f:
        emissary = f.read().strip()
    ns = f"kfail-{os.getpid()}"
    kubectl = [f"{env['bin']}/kubectl", "--kubeconfig", env["kubeconfig"]]
    subprocess.run(kubectl + ["create", "namespace", ns], check=True, capture_output=True)

    def lease():
        got = subprocess.run(kubectl + ["get", "lease", "skiff-server", "-n", ns, "-o", "json"], capture_output=True,
                             text=True)
        return json.loads(got.stdout) if got.returncode == 0 else {}

    def lease_url():
        return lease().get("metadata", {}).get("annotations", {}).get("skiff.io/leader-url")
    with open(os.path.join(pgdir, "url")) as f:
        base_url = f.read().strip()
    db = f"kfailover_{os.getpid()}"
    psql(base_url, f"CREATE DATABASE {db}")
    url = base_url.rsplit("/", 1)[0] + "/" + db
    # The servers' kubeconfig: the cluster's, with the test's namespace as the context's.
    kubeconfig = os.path.join(pgdir, f"kubeconfig-{ns}")
    shutil.copyfile(env["kubeconfig"], kubeconfig)
    subprocess.run(kubectl[:-1] + [kubeconfig, "config", "set-context", "--current", f"--namespace={ns}"], check=True,
                   capture_output=True)
    cluster = ["--executor", "kubernetes", "--kubeconfig", kubeconfig, "--emissary-image", emissary,
               "--registry-mirror", f"docker.io=http://{env['registry']}", "--plain-http", env["registry"]]
    step = {"name": "step", "inputs": {"parameters": [{"name": "n"}, {"name": "prev"}]},
            "container": {"image": "busybox", "command": ["sh", "-c"],
                          "args": ["sleep 2; echo {{inputs.parameters.prev}}{{inputs.parameters.n}}"]}}
    tasks = [{"name": f"t{k}", "template": "step", **({"dependencies": [f"t{k - 1}"]} if k else {}),
              "arguments": {"parameters": [{"name": "n", "value": str(k)},
                                           {"name": "prev", "value": f"{{{{tasks.t{k - 1}.outputs.result}}}}" if k else ""}]}}
             for k in range(STEPS)]
    chain = {"workflow": {"metadata": {"name": "chain"}, "spec": {
        "entrypoint": "main", "templates": [{"name": "main", "dag": {"tasks": tasks}}, step]}}}
    check = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        a = Server(skiff, os.path.join(tmp, "a"), "--db", url, *cluster[2:], executor="kubernetes")
        b = Server(skiff, os.path.join(tmp, "b"), "--db", url, *cluster[2:], executor="kubernetes")
        try:
            a.start()
            until("a to lead", lambda: role(a).get("role") == "leader", 15)
            b.start()
            until("b to follow a", lambda: role(b).get("role") == "follower", 15)
            a_url = role(b).get("leader")
            check("the Lease names a's URL", a_url and lease_url() == a_url, f"{lease_url()} vs {a_url}")
            st, body = b.call("POST", f"/api/v1/workflows/{ns}", chain)
            check("chain submitted through the follower", st == 200, f"{st} {body}")
            until("t1 to run", lambda: any(n.get("displayName") == "t1" and n.get("phase") == "Running" for n in
                                            get(b, f"/api/v1/workflows/{ns}/chain")[1].get("status", {})
                                            .get("nodes", {}).values()), 60)
            killed = time.time()
            a.proc.kill()
            until("b to lead", lambda: role(b).get("role") == "leader", 30)
            took = time.time() - killed
            print(f"takeover: {took:.2f} s from SIGKILL to the follower leading")
            check("takeover within 15 s", took < 15, f"{took:.1f} s")
            until("the Lease to name b", lambda: lease_url() not in (None, a_url), 10)
            check("b took the Lease from a", lease().get("spec", {}).get("leaseTransitions", 0) >= 1, lease())
            a.stop()
            deadline = time.time() + 120
            while time.time() < deadline and get(b, f"/api/v1/workflows/{ns}/chain")[1].get("status", {}).get(
                    "phase") not in ("Succeeded", "Failed", "Error"):
                time.sleep(0.2)
            wf = get(b, f"/api/v1/workflows/{ns}/chain")[1]
            check("chain Succeeded", wf.get("status", {}).get("phase") == "Succeeded", wf.get("status"))
            pods = {n["displayName"]: n for n in wf.get("status", {}).get("nodes", {}).values() if n["type"] == "Pod"}
            last = pods.get(f"t{STEPS - 1}", {}).get("outputs", {}).get("result")
            check("outputs passed along the chain", last == "".join(str(k) for k in range(STEPS)), last)
            made = json.loads(subprocess.run(kubectl + ["get", "pods", "-n", ns, "-o", "json"], check=True,
                                             capture_output=True, text=True).stdout)["items"]
            per_step = sorted(p["metadata"]["annotations"].get("workflows.argoproj.io/node-name", "") for p in made)
            check("one Pod per step", per_step == [f"chain.t{k}" for k in range(STEPS)], per_step)
        except Exception as e:  # noqa: BLE001 - reported as a failure
            check("no exception", False, f"{type(e).__name__}: {e}")
        finally:
            out_a, out_b = a.stop(), b.stop()
            if check.failures:
                print("--- a\n" + out_a[-3000:] + "\n--- b\n" + out_b[-3000:])
            psql(base_url, f"DROP DATABASE IF EXISTS {db}")
            os.unlink(kubeconfig)
            subprocess.run(kubectl + ["delete", "namespace", ns, "--wait=false"], capture_output=True)
    return check.report("k8s/failover")


if __name__ == "__main__":
    sys.exit(main())
