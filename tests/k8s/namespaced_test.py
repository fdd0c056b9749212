"""The namespaced install (docs/kubernetes-executor.md, "Cluster-wide or namespaced install"):

  namespaced_test.py SOURCE_DIR SKIFF POSTGRES_DIR

On the test cluster (scripts/k8s-up), a namespace NS whose service account skiff-server is
bound only by deploy/rbac-namespaced.yaml's Role, and a kubeconfig with that account's token:
- `skiff run --executor kubernetes --managed-namespace NS` (no -n: it defaults to NS) runs a
  3-step workflow passing outputs, each step a Pod in NS: it Succeeds;
- a workflow of another namespace fails at once, naming both namespaces and the flag;
- without --managed-namespace the same kubeconfig is refused at start with what to do;
- a bad namespace name is refused; with another executor the flag is ignored with a warning;
- `skiff server` with the same kubeconfig and flag on PostgreSQL (tests/postgres/postgres.py)
  leads through the Lease skiff-server in NS (the only namespace it may touch; the kubeconfig
  names none), runs a workflow submitted to NS and fails one submitted to another at once.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients"))
from cluster import cluster_env  # noqa: E402
from failover_test import psql, role, until  # noqa: E402
from skiffserver import Checks, Server, running  # noqa: E402

source = os.path.abspath(sys.argv[1])
skiff = os.path.abspath(sys.argv[2])
pgdir = sys.argv[3]
env = cluster_env(source)
ns = f"kns-{os.getpid()}-{int(time.time()) % 100000}"
other = ns + "-other"
image_file = os.path.join(os.path.dirname(env["kubeconfig"]), "emissary-image")
if not os.path.exists(image_file):
    subprocess.run([sys.executable, f"{source}/tests/k8s/push_images.py", skiff,
                    os.path.join(os.path.dirname(env["kubeconfig"]), "env.json")], check=True)
emissary = open(image_file).read().strip()


def kubectl(*args, check=True, stdin=None):
    done = subprocess.run([f"{env['bin']}/kubectl", "--kubeconfig", env["kubeconfig"], *args],
                          capture_output=True, text=True, timeout=60, input=stdin)
    if check and done.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)}: {done.stderr}")
    return done.stdout


def service_account_kubeconfig(path):
    """A kubeconfig for NS's skiff-server: the admin kubeconfig's cluster, the account's token."""
    admin = json.loads(kubectl("config", "view", "--raw", "--minify", "-o", "json"))
    cluster = admin["clusters"][0]["cluster"]
    token = kubectl("create", "token", "skiff-server", "-n", ns, "--duration", "1h").strip()
    lines = ["apiVersion: v1", "kind: Config", "clusters:", "- name: test", "  cluster:",
             f"    server: {cluster['server']}"]
    if "certificate-authority-data" in cluster:
        lines.append(f"    certificate-authority-data: {cluster['certificate-authority-data']}")
    else:
        ca = cluster["certificate-authority"]
        lines.append(f"    certificate-authority: {os.path.join(os.path.dirname(env['kubeconfig']), ca)}")
    lines += ["users:", "- name: sa", "  user:", f"    token: {token}",
              "contexts:", "- name: sa", "  context: {cluster: test, user: sa}", "current-context: sa", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


CHAIN = """apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: chain}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: first, template: make}
    - - name: second
        template: add
        arguments: {parameters: [{name: in, value: "{{steps.first.outputs.parameters.word}}"}]}
    - - name: third
        template: add
        arguments: {parameters: [{name: in, value: "{{steps.second.outputs.result}}"}]}
  - name: make
    container: {image: busybox, command: [sh, -c, "echo -n namespaced > /tmp/w"]}
    outputs: {parameters: [{name: word, valueFrom: {path: /tmp/w}}]}
  - name: add
    inputs: {parameters: [{name: in}]}
    container: {image: busybox, command: [sh, -c, "echo {{inputs.parameters.in}}-ok"]}
"""

ELSEWHERE = f"""apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: elsewhere, namespace: {other}}}
spec:
  entrypoint: hi
  templates:
  - name: hi
    container: {{image: busybox, command: [echo, hi]}}
"""


def server_part(check, tmp, kubeconfig, flags):
    with open(os.path.join(pgdir, "url")) as f:
        base_url = f.read().strip()
    db = f"kns_{os.getpid()}"
    psql(base_url, f"CREATE DATABASE {db}")
    url = base_url.rsplit("/", 1)[0] + "/" + db
    server_flags = [f for f in flags[2:] if f]
    data = server_flags.index("--data")
    del server_flags[data:data + 2]
    srv = Server(skiff, os.path.join(tmp, "server"), "--db", url, *server_flags, "--managed-namespace", ns,
                 executor="kubernetes").start()
    with running(check, srv):
        until("the server to lead", lambda: role(srv).get("role") == "leader", 30)
        lease = json.loads(kubectl("get", "lease", "skiff-server", "-n", ns, "-o", "json"))
        check("the Lease is in the managed namespace", lease["spec"].get("holderIdentity"), lease)
        wf = {"metadata": {"name": "served"}, "spec": {"entrypoint": "hi", "templates": [
            {"name": "hi", "container": {"image": "busybox", "command": ["echo", "served in a namespace"]}}]}}
        st, body = srv.call("POST", f"/api/v1/workflows/{ns}", {"workflow": wf})
        check("submitted to NS", st == 200, body)
        done = srv.wait(ns, "served", timeout=120)
        node = next((n for n in done["status"]["nodes"].values() if n["type"] == "Pod"), {})
        check("served Succeeds", done["status"]["phase"] == "Succeeded", done["status"])
        check("with the Pod's result", node.get("outputs", {}).get("result") == "served in a namespace", node)
        t0 = time.time()
        st, body = srv.call("POST", f"/api/v1/workflows/{other}", {"workflow": wf})
        check("submitted to another namespace", st == 200, body)
        done = srv.wait(other, "served", timeout=30)
        took = time.time() - t0
        msg = done["status"].get("message", "")
        print(f"server, another namespace, {took:.1f} s: {done['status']['phase']}: {msg}")
        check("fails there at once", done["status"]["phase"] in ("Error", "Failed") and took < 15,
              f"{took:.1f} s {done['status']}")
        check("naming both namespaces and the flag",
              f"workflow namespace {other} is not managed" in msg and f"--managed-namespace {ns}" in msg, msg)
    psql(base_url, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def main():
    check = Checks()
    tmp = tempfile.mkdtemp(prefix="skiff-kns-")
    kubeconfig = os.path.join(tmp, "kubeconfig")
    kubectl("create", "namespace", ns)
    kubectl("create", "namespace", other)
    try:
        manifest = open(f"{source}/deploy/rbac-namespaced.yaml").read()
        kubectl("apply", "-f", "-", stdin=manifest.replace("namespace: skiff\n", f"namespace: {ns}\n"))
        service_account_kubeconfig(kubeconfig)
        # The account has the Role only: not cluster-wide, not in the other namespace.
        can = lambda *a: kubectl("auth", "can-i", *a, "--as", f"system:serviceaccount:{ns}:skiff-server",
                                 check=False).strip()
        check("the Role lets it watch pods in NS", can("watch", "pods", "-n", ns) == "yes")
        check("but not cluster-wide", can("watch", "pods", "-A") == "no")
        check("nor in another namespace", can("create", "pods", "-n", other) == "no")

        files = {}
        for name, text in (("chain.yaml", CHAIN), ("elsewhere.yaml", ELSEWHERE)):
            files[name] = os.path.join(tmp, name)
            with open(files[name], "w") as f:
                f.write(text)
        flags = ["--executor", "kubernetes", "--kubeconfig", kubeconfig, "--emissary-image", emissary,
                 "--registry-mirror", f"docker.io=http://{env['registry']}", "--plain-http", env["registry"],
                 "--data", os.path.join(tmp, "data")]

        def run(*args, timeout=240):
            t0 = time.time()
            try:
                done = subprocess.run([skiff, "run", *args], capture_output=True, text=True, timeout=timeout,
                                      env={k: v for k, v in os.environ.items() if k != "KUBECONFIG"})
            except subprocess.TimeoutExpired as e:  # a hang is a failure, with what it printed
                text = lambda b: b.decode(errors="replace") if isinstance(b, bytes) else (b or "")
                done = subprocess.CompletedProcess(e.cmd, None, text(e.stdout), text(e.stderr) + f"\n(hung {timeout} s)")
            return done, time.time() - t0

        done, took = run(files["chain.yaml"], *flags, "--managed-namespace", ns, "-o", "json")
        out = done.stdout + done.stderr
        check("chain Succeeds with --managed-namespace", done.returncode == 0, out[-3000:])
        try:
            wf = json.loads(done.stdout)
        except ValueError:
            wf = {}
        nodes = {n["displayName"]: n for n in wf.get("status", {}).get("nodes", {}).values()}
        check("-n defaulted to the managed namespace", wf.get("metadata", {}).get("namespace") == ns,
              wf.get("metadata"))
        check("the parameter passed on", nodes.get("second", {}).get("outputs", {}).get("result") == "namespaced-ok",
              nodes.get("second"))
        check("the result passed on", nodes.get("third", {}).get("outputs", {}).get("result") == "namespaced-ok-ok",
              nodes.get("third"))
        pods = json.loads(kubectl("get", "pods", "-n", ns, "-l", "workflows.argoproj.io/workflow=chain",
                                  "-o", "json"))["items"]
        check("each step was a Pod in NS", len(pods) == 3, [p["metadata"]["name"] for p in pods])
        print(f"chain of 3 Pods in {took:.1f} s")

        done, took = run(files["elsewhere.yaml"], *flags, "--managed-namespace", ns, timeout=60)
        out = done.stdout + done.stderr
        print(f"another namespace, {took:.1f} s:", out.strip()[-1500:])
        check("another namespace's workflow fails", done.returncode != 0, out[-3000:])
        check("naming both namespaces and the flag",
              f"workflow namespace {other} is not managed" in out and f"--managed-namespace {ns}" in out, out[-3000:])
        check("at once", took < 30, f"{took:.1f} s")
        check("no 403 from deep inside", "forbidden" not in out, out[-3000:])
        check("no Pod made there", json.loads(kubectl("get", "pods", "-n", other, "-o", "json"))["items"] == [])

        done, took = run(files["chain.yaml"], *flags, "-n", ns, timeout=60)
        out = done.stdout + done.stderr
        print(f"without the flag, {took:.1f} s:", out.strip()[-1500:])
        check("without the flag the Role is not enough", done.returncode != 0, out[-3000:])
        check("saying it is forbidden and what to do",
              "forbidden" in out and "--managed-namespace" in out and "rbac-namespaced.yaml" in out, out[-3000:])
        check("refused at start", took < 30, f"{took:.1f} s")

        done, _ = run(files["chain.yaml"], *flags, "--managed-namespace", "Not_A_Namespace", timeout=60)
        out = done.stdout + done.stderr
        check("a bad namespace name is refused", done.returncode != 0 and "not a namespace name" in out, out[-2000:])

        done, _ = run(files["elsewhere.yaml"], "--executor", "host", "--managed-namespace", ns,
                      "--data", os.path.join(tmp, "data-host"), timeout=60)
        out = done.stdout + done.stderr
        check("another executor warns the flag is ignored", f"--managed-namespace {ns} is ignored" in out, out[-2000:])

        server_part(check, tmp, kubeconfig, flags)
    finally:
        kubectl("delete", "namespace", ns, other, "--wait=false", check=False)
    return check.report("k8s/namespaced")


if __name__ == "__main__":
    sys.exit(main())
