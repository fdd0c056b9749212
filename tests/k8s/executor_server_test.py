"""skiff server with --executor kubernetes on the test cluster (scripts/k8s-up):

  executor_server_test.py SOURCE_DIR SKIFF

- a workflow submitted through the API runs each step as a Pod in its namespace, named and
  labelled as Argo's, with init, wait and main containers;
- its log comes through Argo's log endpoint;
- the server is SIGKILLed while a step's Pod runs; the step ends while no server runs; the
  restarted server adopts the Pod and reads its outputs: the workflow Succeeds with them,
  and no step's Pod was made twice;
- podGC OnPodSuccess deletes each Pod once its outputs are read.
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
ns = f"kexec-{os.getpid()}-{int(time.time()) % 100000}"
image_file = os.path.join(os.path.dirname(env["kubeconfig"]), "emissary-image")
if not os.path.exists(image_file):
    subprocess.run([sys.executable, f"{source}/tests/k8s/push_images.py", skiff,
                    os.path.join(os.path.dirname(env["kubeconfig"]), "env.json")], check=True)
emissary = open(image_file).read().strip()


def kubectl(*args, check=True):
    done = subprocess.run([f"{env['bin']}/kubectl", "--kubeconfig", env["kubeconfig"], *args],
                          capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)}: {done.stderr}")
    return done.stdout


def pods(workflow):
    out = kubectl("get", "pods", "-n", ns, "-l", f"workflows.argoproj.io/workflow={workflow}", "-o", "json")
    return json.loads(out)["items"]


def until(pred, what, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


SLOW = {
    "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
    "metadata": {"name": "adopted", "namespace": ns},
    "spec": {"entrypoint": "main", "templates": [
        {"name": "main", "steps": [[{"name": "slow", "template": "slow"}],
                                   [{"name": "after", "template": "echo",
                                     "arguments": {"parameters": [{"name": "msg", "value": "{{steps.slow.outputs.result}}"}]}}]]},
        {"name": "slow", "container": {"image": "busybox", "command": ["sh", "-c", "sleep 6; echo slept; echo p > /tmp/p"]},
         "outputs": {"parameters": [{"name": "p", "valueFrom": {"path": "/tmp/p"}}]}},
        {"name": "echo", "inputs": {"parameters": [{"name": "msg"}]},
         "container": {"image": "busybox", "command": ["echo", "after {{inputs.parameters.msg}}"]}}]}}

GC = {
    "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
    "metadata": {"name": "collected", "namespace": ns},
    "spec": {"entrypoint": "hi", "podGC": {"strategy": "OnPodSuccess"}, "templates": [
        {"name": "hi", "container": {"image": "busybox", "command": ["echo", "hello from a pod"]}}]}}


def main():
    check = Checks()
    kubectl("create", "namespace", ns)
    data = tempfile.mkdtemp(prefix="skiff-kexec-")
    srv = Server(skiff, data, "--kubeconfig", env["kubeconfig"], "--emissary-image", emissary,
                 "--registry-mirror", f"docker.io=http://{env['registry']}", "--plain-http", env["registry"],
                 executor="kubernetes").start()
    try:
        with running(check, srv) as output:
            st, body = srv.call("POST", f"/api/v1/workflows/{ns}", {"workflow": GC})
            check("submit collected", st == 200, body)
            wf = srv.wait(ns, "collected", timeout=90)
            node = next(n for n in wf["status"]["nodes"].values() if n["type"] == "Pod")
            check("collected Succeeded", wf["status"]["phase"] == "Succeeded", wf["status"])
            check("result from the Pod", node.get("outputs", {}).get("result") == "hello from a pod", node)
            st, log = srv.call("GET", f"/api/v1/workflows/{ns}/collected/log?podName={node['id']}"
                               "&logOptions.container=main", raw=True)
            check("log through Argo's endpoint", st == 200 and "hello from a pod" in log, log[:500])
            until(lambda: not pods("collected"), "podGC OnPodSuccess to delete the pod", 30)

            st, body = srv.call("POST", f"/api/v1/workflows/{ns}", {"workflow": SLOW})
            check("submit adopted", st == 200, body)
            running_pod = until(lambda: next((p for p in pods("adopted") if any(
                "running" in c.get("state", {}) for c in p.get("status", {}).get("containerStatuses", [])
                if c["name"] == "main")), None), "the slow step's pod to run")
            meta = running_pod["metadata"]
            check("Argo's labels", meta["labels"].get("workflows.argoproj.io/completed") == "false", meta)
            check("node-name annotation", meta["annotations"].get("workflows.argoproj.io/node-name") == "adopted[0].slow",
                  meta)
            names = [c["name"] for c in running_pod["spec"]["containers"]]
            check("wait and main containers", names[:2] == ["wait", "main"], names)
            check("init container", running_pod["spec"]["initContainers"][0]["name"] == "init", running_pod["spec"])
            uid = meta["uid"]
            output.append(srv.stop(kill=True))
            # The step ends while no server runs.
            until(lambda: all(c.get("state", {}).get("terminated") for p in pods("adopted")
                              for c in p["status"].get("containerStatuses", []) if c["name"] in ("main", "wait")),
                  "the slow step to end with no server", 60)
            srv.start()
            wf = srv.wait(ns, "adopted", timeout=90)
            check("adopted Succeeded", wf["status"]["phase"] == "Succeeded", wf["status"].get("message"))
            by_name = {n["name"]: n for n in wf["status"]["nodes"].values()}
            slow = by_name.get("adopted[0].slow", {})
            check("outputs read after the restart", slow.get("outputs", {}).get("result") == "slept", slow)
            params = {p["name"]: p.get("value") for p in slow.get("outputs", {}).get("parameters", [])}
            check("output parameter after the restart", params.get("p") == "p", params)
            after = by_name.get("adopted[1].after", {})
            check("the next step saw it", after.get("outputs", {}).get("result") == "after slept", after)
            made = pods("adopted")
            check("one pod per step", len(made) == 2, [p["metadata"]["name"] for p in made])
            check("the slow step's pod is the one adopted", uid in [p["metadata"]["uid"] for p in made], uid)
    finally:
        kubectl("delete", "namespace", ns, "--wait=false", check=False)
    return check.report("k8s/executor-server")


if __name__ == "__main__":
    sys.exit(main())
