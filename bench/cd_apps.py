#!/usr/bin/env python3
"""1,000 Applications of 10 resources each under one `skiff server` (bench/cd_apps.sh runs it).

For each git source asked for (a file:// repository, the HTTPS test git server of
tests/git/gitserver.py, or both) it makes a repository with one directory of R manifests per
app, starts a server over a fresh data directory (--app-resync 3600: no periodic round gets in
the way) and prints:
  - create + first sync: creating N apps through the API until every one is Synced+Healthy;
  - a full reconcile round: a push webhook for the repository (/api/webhook) refreshes all N
    apps; the time until every app's reconciledAt moved (one fetch, N renders and diffs);
  - push to Synced+Healthy for a one-resource app of its own repository (a commit, the
    webhook, the app at the new commit), the median of 5;
  - the server's peak RSS (VmHWM of /proc/PID/status);
and the ratios to the issue's aims (a round < 30 s, push to Healthy < 2 s).

The resources are what the destination holds: `--kind template` (default) WorkflowTemplates
into skiff itself; `--kind deployment` Deployments (this machine's destination, where the
server has one; its readiness decides Healthy); `--dest cluster` ConfigMaps on the test
cluster of scripts/k8s-up (skipped, saying so, when it is not up).
Usage: cd_apps.py SKIFF [--apps N] [--resources R] [--source file|https|both]
                  [--kind template|deployment] [--dest local|cluster]"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, f"{HERE}/../tests/k8s")

AIM_ROUND_S, AIM_PUSH_S = 30.0, 2.0


def manifest(kind, name, value):
    if kind == "template":
        return (f"apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata: {{name: {name}}}\n"
                f"spec:\n  entrypoint: main\n  templates:\n    - name: main\n"
                f"      container: {{image: busybox, command: [echo, \"{value}\"]}}\n")
    if kind == "configmap":
        return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\ndata: {{value: \"{value}\"}}\n"
    return (f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  replicas: 1\n"
            f"  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n"
            f"    spec:\n      containers:\n        - name: main\n          image: busybox\n"
            f"          command: [sh, -c, \"echo {value}; sleep 3600\"]\n")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.base + path, method=method, headers=headers or {},
                                     data=json.dumps(body).encode() if body is not None else None)
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, json.loads(r.read().decode() or "{}")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def apps(self):
        st, body = self.call("GET", "/api/v1/applications?appNamespace=argocd")
        return body.get("items", []) if st == 200 else []


def git_fetches(api):
    """argocd_git_request_total summed over repositories, from /metrics."""
    with urllib.request.urlopen(api.base + "/metrics", timeout=60) as r:
        lines = r.read().decode().splitlines()
    return sum(float(line.split()[-1]) for line in lines if line.startswith("argocd_git_request_total{"))


def healthy(a, revision=None):
    s = a.get("status", {})
    return (s.get("sync", {}).get("status") == "Synced" and s.get("health", {}).get("status") == "Healthy"
            and (revision is None or s["sync"].get("revision") == revision))


def wait_all(api, pred, what, timeout):
    """Polls the app list (every 0.5 s) until pred holds for every app; returns the seconds."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        items = api.apps()
        if items and all(pred(a) for a in items):
            return time.monotonic() - start
        time.sleep(0.5)
    bad = [a for a in api.apps() if not pred(a)]
    first = json.dumps(bad[0].get("status", {}))[:800] if bad else ""
    raise SystemExit(f"cd_apps: {len(bad)} apps not {what} after {timeout} s; the first: {first}")


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Source:
    """A git repository the bench commits to: file:// (made here) or the HTTPS test server."""

    def __init__(self, kind, work, name):
        self.kind, self.push_env = kind, {}
        self.dir = f"{work}/{name}"
        os.makedirs(self.dir)
        self.git("init", "-q", "-b", "main")
        self.url = f"file://{self.dir}"
        if kind == "https":  # the same, pushed to the test server (as gitserver.py's commit does)
            env = json.load(open(f"{work}/git/env.json"))
            bare = f"{env['repos_dir']}/{name}.git"
            subprocess.run(["git", "init", "-q", "--bare", "-b", "main", bare], check=True)
            subprocess.run(["git", "-C", bare, "config", "http.receivepack", "true"], check=True)
            self.url = f"{env['url_base']}/{name}.git"
            self.push_url = self.url.replace("https://", f"https://{env['username']}:{env['password']}@")
            self.push_env = {"GIT_SSL_CAINFO": env["ca_file"], "GIT_TERMINAL_PROMPT": "0"}

    def git(self, *args):
        out = subprocess.run(["git", "-C", self.dir, *args], check=True, capture_output=True, text=True,
                             env=dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b",
                                      GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@b", **self.push_env))
        return out.stdout.strip()

    def commit(self, files):
        for path, text in files.items():
            os.makedirs(os.path.dirname(f"{self.dir}/{path}"), exist_ok=True)
            with open(f"{self.dir}/{path}", "w") as f:
                f.write(text)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", "bench")
        if self.kind == "https":
            self.git("push", "-q", self.push_url, "HEAD:refs/heads/main")
        return self.git("rev-parse", "HEAD")


def application(name, url, path, namespace, create_namespace):
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "namespace": "argocd"},
            "spec": {"project": "default", "source": {"repoURL": url, "path": path, "targetRevision": "HEAD"},
                     "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
                     "syncPolicy": {"automated": {"prune": True, "selfHeal": True},
                                    "syncOptions": ["CreateNamespace=true"] if create_namespace else []}}}


def push_hook(api, url, branch="main"):
    st, body = api.call("POST", "/api/webhook", {"ref": f"refs/heads/{branch}", "repository": {
        "html_url": url, "default_branch": branch}}, {"X-GitHub-Event": "push", "Content-Type": "application/json"})
    if st != 200:
        raise SystemExit(f"cd_apps: webhook answered {st}: {body}")
    return body


def run(args, source_kind, work, cluster):
    kind = "configmap" if args.dest == "cluster" else args.kind
    bulk = Source(source_kind, work, f"bench-{source_kind}")
    files = {f"apps/app-{i:04d}/r{j:02d}.yaml": manifest(kind, f"a{i:04d}-r{j:02d}", "v1")
             for i in range(args.apps) for j in range(args.resources)}
    t = time.monotonic()
    bulk.commit(files)
    print(f"  repository of {len(files)} manifests made in {time.monotonic() - t:.1f} s ({bulk.url})")

    data = tempfile.mkdtemp(prefix="skiff-cd-apps-", dir=work)
    port = free_port()
    extra = ["--kubeconfig", cluster["kubeconfig"]] if cluster else []
    log = open(f"{data}/server.log", "w")
    server = subprocess.Popen([args.skiff, "server", "--data", data, "--port", str(port), "--executor", "host",
                               "--auth-mode", "server", "--app-resync", "3600", *extra], stdout=log, stderr=subprocess.STDOUT)
    api = Api(f"http://127.0.0.1:{port}")
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        if source_kind == "https":
            env = json.load(open(f"{work}/git/env.json"))
            api.call("POST", "/api/v1/secrets/argocd", {"secret": {"metadata": {"name": "bench-repo"}, "stringData": {
                "type": "git", "url": env["url_base"], "username": env["username"], "password": env["password"]}}})
            api.call("POST", "/api/v1/configmaps/argocd", {"configMap": {"metadata": {"name": "argocd-tls-certs-cm"},
                     "data": {"127.0.0.1": open(env["ca_file"]).read()}}})
        namespace = "skiff-bench" if cluster else "bench"

        t = time.monotonic()
        for i in range(args.apps):
            st, body = api.call("POST", "/api/v1/applications",
                                application(f"app-{i:04d}", bulk.url, f"apps/app-{i:04d}", namespace, bool(cluster)))
            if st != 200:
                raise SystemExit(f"cd_apps: create app-{i:04d}: {st} {body}")
        created = time.monotonic() - t
        first = created + wait_all(api, healthy, "Synced+Healthy", args.timeout)
        print(f"  create {args.apps} apps: {created:.1f} s; create + first sync of all: {first:.1f} s")

        before = {a["metadata"]["name"]: a["status"].get("reconciledAt") for a in api.apps()}
        time.sleep(1.1)  # reconciledAt has second resolution
        fetches = git_fetches(api)
        t = time.monotonic()
        push_hook(api, bulk.url)
        hook_s = time.monotonic() - t
        wait_all(api, lambda a: a["status"].get("reconciledAt") != before[a["metadata"]["name"]], "reconciled again", args.timeout)
        round_s = time.monotonic() - t
        print(f"  full reconcile round of {args.apps} apps x {args.resources} resources (webhook to all "
              f"reconciled): {round_s:.1f} s, of which the webhook's answer {hook_s:.1f} s  "
              f"(aim {AIM_ROUND_S:.0f} s: {round_s / AIM_ROUND_S:.2f}x); git fetches in the round: "
              f"{git_fetches(api) - fetches:.0f}")

        single = Source(source_kind, work, f"single-{source_kind}")
        rev = single.commit({"one/r.yaml": manifest(kind, "single", "v0")})
        api.call("POST", "/api/v1/applications", application("single", single.url, "one", namespace, bool(cluster)))
        wait_all(api, lambda a: a["metadata"]["name"] != "single" or healthy(a, rev), "single Synced", 300)
        times = []
        for n in range(1, 6):
            rev = single.commit({"one/r.yaml": manifest(kind, "single", f"v{n}")})
            t = time.monotonic()
            push_hook(api, single.url)
            while True:
                st, a = api.call("GET", "/api/v1/applications/single?appNamespace=argocd")
                if st == 200 and healthy(a, rev):
                    break
                if time.monotonic() - t > 120:
                    raise SystemExit(f"cd_apps: single app not Synced+Healthy at {rev} after 120 s")
                time.sleep(0.02)
            times.append(time.monotonic() - t)
        push = statistics.median(times)
        print(f"  push webhook to Synced+Healthy, one-resource app (median of 5): {push:.2f} s "
              f"(runs {', '.join(f'{x:.2f}' for x in times)}; aim {AIM_PUSH_S:.0f} s: {push / AIM_PUSH_S:.2f}x)")
        print(f"  server peak RSS (VmHWM): {peak_rss_mb(server.pid):.0f} MiB")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        if cluster:  # the bench's ConfigMaps go with their namespace
            subprocess.run([f"{cluster['bin']}/kubectl", "--kubeconfig", cluster["kubeconfig"], "delete", "namespace",
                            "skiff-bench", "--wait=false"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("skiff")
    p.add_argument("--apps", type=int, default=1000)
    p.add_argument("--resources", type=int, default=10)
    p.add_argument("--source", choices=["file", "https", "both"], default="both")
    p.add_argument("--kind", choices=["template", "deployment"], default="template")
    p.add_argument("--dest", choices=["local", "cluster"], default="local")
    p.add_argument("--timeout", type=int, default=900, help="seconds to wait for a round")
    args = p.parse_args()
    cluster = None
    if args.dest == "cluster":
        from cluster import cluster_env  # exits 77 when the machine cannot run the test cluster
        env = cluster_env(f"{HERE}/..")
        cluster = {"kubeconfig": env["kubeconfig"], "bin": env["bin"]}
    print(f"cd_apps: {args.apps} apps x {args.resources} resources ({args.kind if not cluster else 'configmap'}, "
          f"{args.dest} destination), {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="skiff-cd-apps-") as work:
        sources = ["file", "https"] if args.source == "both" else [args.source]
        if "https" in sources:
            subprocess.run([sys.executable, f"{HERE}/../tests/git/gitserver.py", "start", f"{work}/git"],
                           check=True, stdout=subprocess.DEVNULL)
        try:
            for s in sources:
                print(f"source {s}:")
                run(args, s, work, cluster)
        finally:
            if "https" in sources:
                subprocess.run([sys.executable, f"{HERE}/../tests/git/gitserver.py", "stop", f"{work}/git"],
                               stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
