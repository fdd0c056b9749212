#!/usr/bin/env python3
"""The reference CI/CD pipeline (examples/ci-cd/) for real, on this machine.

  pipeline.py up DIR SKIFF [--kubeconfig FILE --push-registry HOST:PORT --node-address IP]
                                 starts everything the pipeline talks to, on 127.0.0.1:
      - the registry (tests/registry/registry.py: Debian's docker-registry, TLS from a CA made
        here, a password) holding the step images built here (alpine with git, bash, BuildKit);
      - the git server (tests/git/gitserver.py: git http-backend behind lighttpd, TLS, access
        with a token as basic auth) holding the demo application's repository: `main`, the
        pull request's branch `feature-1`, and two broken ones (`no-marker`: the page lost
        CHANGEMEPLEASE; `unhealthy`: a Deployment that never becomes ready);
      - `skiff server` running steps in containers, pulling through the registry's CA and
        password, with the secrets the templates mount (made with `skiff secret create`) and
        Argo CD's repository secret; the five WorkflowTemplates and ci-workflow created;
      - Prometheus (Debian's) scraping the server's /metrics every second.
      With --kubeconfig the Application deploys to that cluster (the server gets the flag, so
      https://kubernetes.default.svc is the cluster; steps still run here), container-build
      pushes to --push-registry (plain HTTP, one the cluster pulls from) instead, and the
      page is looked for at --node-address:<the Service's nodePort> (docs/pipeline.md, "On a
      Kubernetes cluster"). With --executor kubernetes (and --kubectl, --emissary-image) every
      step runs as a Pod on that cluster instead, in --namespace (made there with the
      Secrets and ConfigMap the steps mount; deleted by `down`), the step images pushed to
      --push-registry too (docs/pipeline.md, "Every step as a Pod").
  pipeline.py run DIR [--branch B] [--app NAME]
      submits a Workflow naming ci-workflow, waits, prints each step's time, the deployed
      page's URL and the workflow's UI link, and fetches the page. Exit 0 when the workflow
      Succeeded and the page names it.
  pipeline.py down DIR           stops them all (on a cluster, first deletes the Applications
                                 it deployed there, with their objects).
  pipeline.py main SKIFF [--keep] [the options of up]
                                 up, run, down (scripts/main-job); --keep leaves it running.

State is in DIR/env.json. Skiff and the fixtures run as separate processes; nothing here
talks to any address but 127.0.0.1 (and, with --kubeconfig, the cluster's).
"""
import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = f"{ROOT}/examples/ci-cd"
sys.path.insert(0, f"{ROOT}/tests/registry")
sys.path.insert(0, f"{ROOT}/tests/git")
sys.path.insert(0, f"{ROOT}/tests/clients")
import gitserver  # noqa: E402
import pipeline_images  # noqa: E402
import prometheus  # noqa: E402
import registry  # noqa: E402

TEMPLATES = ["git-checkout-pr", "html-modifier", "container-build", "deploy-application", "delete-application",
             "ci-workflow"]
NAMESPACE = "argo"
STEPS = ["git-checkout-pr", "html-modifier", "container-build", "deploy-application", "delete-application"]


def ns(env):
    """The namespace the workflow and its templates live in (on a cluster, a fresh one per set-up)."""
    return env.get("namespace") or NAMESPACE


def log(*args):
    print("pipeline:", *args, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def call(base, method, path, body=None):
    """JSON request to skiff's API; returns (status, parsed body)."""
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        text = e.read().decode(errors="replace")
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, {"message": text}


def read_example(path):
    with open(f"{EXAMPLE}/{path}") as f:
        return f.read()


def demo_files():
    """The demo application's repository, as examples/ci-cd/demo-app holds it."""
    files = {}
    base = f"{EXAMPLE}/demo-app"
    for top, _, names in os.walk(base):
        for n in names:
            path = os.path.relpath(f"{top}/{n}", base)
            files[path] = read_example(f"demo-app/{path}")
    return files


def push_demo_repo(git_dir):
    """main; feature-1 (the pull request: a change to the page) branched from it; a later
    commit on main the checkout must merge; and the two broken branches."""
    files = demo_files()
    gitserver.commit(git_dir, "demo-app", files, branch="main")
    page = files["CI/index.html"]
    gitserver.commit(git_dir, "demo-app", {"CI/index.html": page.replace("</body>", "  <p>Now with a feature.</p>\n  </body>")},
                     branch="feature-1")
    gitserver.commit(git_dir, "demo-app", {"README.md": "# demo-app\n\nServed by the reference pipeline.\n"}, branch="main")
    gitserver.commit(git_dir, "demo-app", {"CI/index.html": page.replace("CHANGEMEPLEASE", "nobody")}, branch="no-marker")
    deployment = files["bootstrap/final-application/deployment.yaml"]
    broken = deployment.replace("path: /index.html", "path: /never-there.html") \
                       .replace("progressDeadlineSeconds: 60", "progressDeadlineSeconds: 5")
    if broken == deployment:
        raise SystemExit("pipeline: the demo Deployment changed shape; update push_demo_repo")
    gitserver.commit(git_dir, "demo-app", {"bootstrap/final-application/deployment.yaml": broken}, branch="unhealthy")


def skiff_cli(env, *args):
    subprocess.run([env["skiff"], *args, "--data", env["data"]], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def make_secrets(env, git, reg_dir, reg, push_registry=None):
    """What the templates mount and what Argo CD reads, made as a user makes them: in skiff
    (`skiff secret create`), or, when the steps run as Pods, in the cluster's namespace, where
    the kubelet reads them."""
    # buildkitd takes a registry on 127.0.0.1 for plain HTTP unless told otherwise; the
    # Dockerfile's FROM (docker.io) comes through the registry, as a mirror. A cluster's
    # registry the image is pushed to instead (--push-registry) is plain HTTP.
    toml = f"{env['data']}/../buildkitd.toml"
    with open(toml, "w") as f:
        f.write(f'[registry."docker.io"]\n  mirrors = ["{reg["host"]}"]\n'
                f'[registry."{reg["host"]}"]\n  http = false\n')
        if push_registry and push_registry != reg["host"]:
            f.write(f'[registry."{push_registry}"]\n  http = true\n')
    if env.get("executor") == "kubernetes":
        cluster_secrets(env, git, reg_dir, reg, toml)
    else:
        n = ["-n", ns(env)]
        skiff_cli(env, "secret", "create", "generic", "git-credentials", *n,
                  "--from-literal", f"username={git['username']}", "--from-literal", f"token={git['password']}")
        skiff_cli(env, "secret", "create", "generic", "git-ca", *n, "--from-file", f"ca.crt={git['ca_file']}")
        skiff_cli(env, "secret", "create", "generic", "harbor-ca", *n, "--from-file", f"harbor-ca.crt={reg_dir}/ca.pem")
        skiff_cli(env, "secret", "create", "docker-registry", "registry-credentials", *n, "--docker-server", reg["host"],
                  "--docker-username", reg["user"], "--docker-password", reg["password"])
        skiff_cli(env, "configmap", "create", "buildkitd-config", *n, "--from-file", f"buildkitd.toml={toml}")
    # Argo CD's side (in skiff on every executor: the Application lives there): the
    # repository's token and the git server's CA.
    skiff_cli(env, "configmap", "create", "argocd-tls-certs-cm", "-n", "argocd",
              "--from-file", f"127.0.0.1={git['ca_file']}")


def kubectl(env, *args, stdin=None, check=True):
    done = subprocess.run([env["kubectl"], "--kubeconfig", env["kubeconfig"], *args], input=stdin,
                          capture_output=True, text=True, timeout=120)
    if check and done.returncode != 0:
        raise SystemExit(f"pipeline: kubectl {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def cluster_secrets(env, git, reg_dir, reg, toml):
    """The workflow's namespace on the cluster, with the Secrets and the ConfigMap the step
    Pods mount (as `kubectl create secret ...` would make them)."""
    def b64(text):
        return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()

    def secret(name, data, kind="Opaque"):
        return {"apiVersion": "v1", "kind": "Secret", "type": kind, "metadata": {"name": name, "namespace": ns(env)},
                "data": {k: b64(v) for k, v in data.items()}}

    auth = b64(f"{reg['user']}:{reg['password']}")
    docker = {"auths": {reg["host"]: {"username": reg["user"], "password": reg["password"], "auth": auth}}}
    objects = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns(env)}},
        secret("git-credentials", {"username": git["username"], "token": git["password"]}),
        secret("git-ca", {"ca.crt": open(git["ca_file"]).read()}),
        secret("harbor-ca", {"harbor-ca.crt": open(f"{reg_dir}/ca.pem").read()}),
        secret("registry-credentials", {".dockerconfigjson": json.dumps(docker)}, "kubernetes.io/dockerconfigjson"),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "buildkitd-config", "namespace": ns(env)},
         "data": {"buildkitd.toml": open(toml).read()}},
    ]
    kubectl(env, "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))


def create_templates(env):
    for name in TEMPLATES:
        doc = yaml.safe_load(read_example(f"{name}.yaml"))
        st, body = call(env["base"], "POST", f"/api/v1/workflow-templates/{ns(env)}", {"template": doc})
        if st == 409:
            doc["metadata"]["resourceVersion"] = call(env["base"], "GET",
                                                      f"/api/v1/workflow-templates/{ns(env)}/{name}")[1]["metadata"]["resourceVersion"]
            st, body = call(env["base"], "PUT", f"/api/v1/workflow-templates/{ns(env)}/{name}", {"template": doc})
        if st != 200:
            raise SystemExit(f"pipeline: creating WorkflowTemplate {name}: HTTP {st}: {body.get('message', body)}")


def cannot_run():
    """Why the pipeline cannot run here, or None."""
    if os.geteuid() != 0:
        return "containers need root here (skiff's runc executor)"
    if not shutil.which("runc"):
        return "runc is not installed (scripts/install-deps installs it)"
    try:
        pipeline_images.buildkit_bin()
    except pipeline_images.MissingTool as e:
        return str(e)
    return None


def up(d, skiff, kubeconfig=None, push_registry=None, node_address=None, app_resync=None, executor="container",
       kubectl_bin=None, emissary_image=None, namespace=None):
    """Starts the set-up in DIR; with kubeconfig, Applications deploy to that cluster and the
    image goes to push_registry (plain HTTP; default: the set-up's own registry).
    app_resync: the server's --app-resync in seconds (default: the server's, 180).
    executor "kubernetes" (with kubeconfig, push_registry, kubectl_bin, emissary_image): every
    step runs as a Pod on that cluster in `namespace` (made here; deleted by down()): the step
    images go to push_registry too, which the cluster's containerd pulls docker.io from, and
    the Secrets and ConfigMap the steps mount are made there (docs/pipeline.md, "Every step
    as a Pod")."""
    if executor == "kubernetes" and not (kubeconfig and push_registry and kubectl_bin and emissary_image):
        raise SystemExit("pipeline: --executor kubernetes needs --kubeconfig, --push-registry, --kubectl and "
                         "--emissary-image")
    d = os.path.abspath(d)
    down(d)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    times = {}
    t = time.monotonic()
    reg_dir, git_dir = f"{d}/registry", f"{d}/git"
    registry.start(reg_dir)
    reg = json.load(open(f"{reg_dir}/env.json"))
    pipeline_images.push_pipeline_images(registry.Registry(f"https://{reg['host']}", f"{reg_dir}/ca.pem"))
    if executor == "kubernetes":  # the cluster's containerd pulls docker.io/* from push_registry
        pipeline_images.push_pipeline_images(registry.Registry(f"http://{push_registry}", None))
    times["registry and images"] = time.monotonic() - t
    t = time.monotonic()
    gitserver.start(git_dir)
    git = json.load(open(f"{git_dir}/env.json"))
    push_demo_repo(git_dir)
    times["git server and repository"] = time.monotonic() - t

    t = time.monotonic()
    port = free_port()
    env = {"skiff": os.path.abspath(skiff), "data": f"{d}/data", "port": port, "base": f"http://127.0.0.1:{port}",
           "registry": reg["host"], "registry_dir": reg_dir, "git_dir": git_dir,
           "app_repo": f"{git['url_base']}/demo-app.git", "pids": [],
           "push_registry": push_registry or reg["host"], "kubeconfig": os.path.abspath(kubeconfig) if kubeconfig else None,
           "node_address": node_address or "127.0.0.1", "executor": executor,
           "namespace": namespace or NAMESPACE, "kubectl": kubectl_bin}
    os.makedirs(env["data"])
    save(d, env)  # down() deletes the cluster's namespace from here on
    make_secrets(env, git, reg_dir, reg, push_registry)
    cluster = ["--kubeconfig", env["kubeconfig"]] if kubeconfig else []
    if app_resync is not None:
        cluster += ["--app-resync", str(app_resync)]
    if executor == "kubernetes":
        # Privileged: BuildKit's step. The registry flags are for the ENTRYPOINT look-ups of
        # images a template runs without a command (the cluster's registry, as containerd sees it).
        cluster += ["--emissary-image", emissary_image, "--allow-privileged",
                    "--registry-mirror", f"docker.io=http://{push_registry}", "--plain-http", push_registry]
    server = subprocess.Popen([skiff, "server", "--data", env["data"], "--port", str(port), "--auth-mode", "server",
                               "--executor", executor, "--registries", f"{reg_dir}/registries.yaml",
                               "--registry-config", f"{reg_dir}/config.json", *cluster],
                              stdout=open(f"{d}/server.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
    env["pids"].append(server.pid)
    save(d, env)
    if not wait_port(port):
        raise SystemExit("pipeline: skiff server did not start:\n" + open(f"{d}/server.log").read()[-3000:])
    # Argo CD's repository secret, labelled as Argo CD's declarative set-up labels it.
    secret = {"metadata": {"name": "demo-app-repo", "labels": {"argocd.argoproj.io/secret-type": "repository"}},
              "stringData": {"url": env["app_repo"], "username": git["username"], "password": git["password"]}}
    st, body = call(env["base"], "POST", "/api/v1/secrets/argocd", {"secret": secret})
    if st != 200:
        raise SystemExit(f"pipeline: the repository secret: HTTP {st}: {body}")
    create_templates(env)
    times["skiff server, secrets, templates"] = time.monotonic() - t
    if not prometheus.binary():
        raise SystemExit("pipeline: prometheus is not installed (scripts/install-deps installs Debian's prometheus)")
    prom, env["prometheus"] = prometheus.start(d, port)
    env["pids"].append(prom.pid)
    save(d, env)
    for what, secs in times.items():
        log(f"{what}: {secs:.1f} s")
    return env


def save(d, env):
    with open(f"{d}/env.json", "w") as f:
        json.dump(env, f, indent=1)


def load(d):
    with open(f"{os.path.abspath(d)}/env.json") as f:
        return json.load(f)


def down(d):
    """Stops everything up() started; returns the pids that had to be killed."""
    d = os.path.abspath(d)
    try:
        env = load(d)
    except (OSError, ValueError):
        env = {}
    if env.get("kubeconfig") and env.get("pids"):
        delete_applications(env)
    for pid in env.get("pids", []):
        try:
            os.killpg(pid, signal.SIGTERM)
        except OSError:
            pass
    stuck = [pid for pid in env.get("pids", []) if not exited(pid, 30)]
    for pid in stuck:  # a server that does not stop on SIGTERM is a bug: say so, then end it
        log(f"pid {pid} did not exit within 30 s of SIGTERM; killing it")
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    if env.get("executor") == "kubernetes" and env.get("namespace"):  # its Pods, claims, Secrets
        kubectl(env, "delete", "namespace", env["namespace"], "--ignore-not-found", "--wait=false", check=False)
    if os.path.isdir(f"{d}/git"):
        gitserver.stop(f"{d}/git")
    if os.path.isdir(f"{d}/registry"):
        registry.stop(f"{d}/registry")
    return stuck


def exited(pid, seconds):
    """Whether `pid` ended within `seconds` (reaped when it is our child)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:  # not ours: it is gone when signal 0 fails
            try:
                os.kill(pid, 0)
            except OSError:
                return True
        time.sleep(0.05)
    return False


def delete_applications(env, timeout=90):
    """Deletes every Application with its objects (cascade: the finalizer's work), so a
    cluster is left as it was found; waits until they are gone. Best effort."""
    names = []
    try:
        st, apps = call(env["base"], "GET", "/api/v1/applications")
        names = [a["metadata"]["name"] for a in (apps.get("items") or [])] if st == 200 else []
        for name in names:
            call(env["base"], "DELETE", f"/api/v1/applications/{name}?appNamespace=argocd&cascade=true")
        deadline = time.monotonic() + timeout
        while names and time.monotonic() < deadline:
            names = [n for n in names if call(env["base"], "GET", f"/api/v1/applications/{n}?appNamespace=argocd")[0] == 200]
            time.sleep(0.25)
    except OSError:  # the server is gone already: nothing to ask
        return
    if names:
        log(f"applications still there: {', '.join(names)} (their objects may be left on the cluster)")


def submit(env, branch="feature-1", app="final-application", extra=None):
    params = {"app_repo": env["app_repo"], "git_branch": branch, "target_branch": "main",
              "container_registry": env.get("push_registry") or env["registry"], "app_name": app, "app_namespace": app, **(extra or {})}
    wf = {"metadata": {"generateName": "ci-workflow-", "namespace": ns(env)},
          "spec": {"workflowTemplateRef": {"name": "ci-workflow"},
                   "arguments": {"parameters": [{"name": k, "value": v} for k, v in params.items()]}}}
    st, body = call(env["base"], "POST", f"/api/v1/workflows/{ns(env)}", {"workflow": wf})
    if st != 200:
        raise SystemExit(f"pipeline: submit: HTTP {st}: {body.get('message', body)}")
    return body["metadata"]["name"]


def step_nodes(wf):
    """{task name: node} for the pipeline's steps."""
    out = {}
    for node in (wf.get("status", {}).get("nodes") or {}).values():
        name = node.get("displayName", "")
        if name in STEPS:
            out[name] = node
    return out


def wait(env, name, timeout=600):
    """Polls the workflow every 50 ms; returns (workflow, {step: (seen running, seen done)}) in
    seconds since the submit, as this client saw them."""
    start = time.monotonic()
    seen = {}
    while True:
        st, wf = call(env["base"], "GET", f"/api/v1/workflows/{ns(env)}/{name}")
        now = time.monotonic() - start
        if st == 200:
            for step, node in step_nodes(wf).items():
                first, done = seen.get(step, (now, None))
                if done is None and node.get("phase") in ("Succeeded", "Failed", "Error", "Skipped", "Omitted"):
                    done = now
                seen[step] = (first, done)
            if wf.get("status", {}).get("phase") in ("Succeeded", "Failed", "Error"):
                return wf, seen
        if now > timeout:
            raise TimeoutError(f"pipeline: {name} did not finish within {timeout} s")
        time.sleep(0.05)


def app_status(env, app):
    st, a = call(env["base"], "GET", f"/api/v1/applications/{app}?appNamespace=argocd")
    return a.get("status", {}) if st == 200 else {}


def fetch(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode(errors="replace")


def fetch_page(url, seconds=30):
    """The page, tried until it answers: on a cluster kube-proxy programs a new Service's
    NodePort on its own time, which may come after the Deployment is ready."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return fetch(url)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def node_port(env, app):
    """The nodePort of the app's first NodePort Service, from its live state (Argo CD's
    managed-resources), or None."""
    st, body = call(env["base"], "GET", f"/api/v1/applications/{app}/managed-resources?appNamespace=argocd")
    for item in (body.get("items") or []) if st == 200 else []:
        if item.get("kind") != "Service":
            continue
        live = json.loads(item.get("liveState") or "null") or {}
        for port in live.get("spec", {}).get("ports", []):
            if port.get("nodePort"):
                return port["nodePort"]
    return None


def page_of(env, app):
    """The deployed page's URL: on a cluster, the node's address and the Service's nodePort
    (Argo CD lists no external URL for a NodePort Service); here, the port the Service is
    published on (status.summary.externalURLs)."""
    if env.get("kubeconfig"):
        port = node_port(env, app)
        return f"http://{env['node_address']}:{port}" if port else None
    urls = app_status(env, app).get("summary", {}).get("externalURLs") or []
    return urls[0] if urls else None


def report(env, name, wf, seen, submitted_at):
    """Prints per-step times, the URL, the UI link; returns the page's text ('' if none)."""
    phase = wf["status"]["phase"]
    nodes = step_nodes(wf)
    print(f"workflow {name}: {phase}" + (f" ({wf['status'].get('message')})" if wf["status"].get("message") else ""))
    last = 0.0
    for step in STEPS:
        node = nodes.get(step)
        if not node:
            continue
        first, done = seen.get(step, (0, None))
        took = (done - last) if done is not None else 0
        msg = f"  {node.get('message')}" if node.get("message") else ""
        print(f"  {step:20s} {node.get('phase', ''):10s} {took:6.2f} s{msg}")
        if done is not None:
            last = done
    print(f"  {'total':20s} {'':10s} {time.monotonic() - submitted_at:6.2f} s (submit to end)")
    print(f"workflow UI: {env['base']}/workflows/{ns(env)}/{name}")
    return phase


def run(d, branch="feature-1", app="final-application"):
    env = load(d)
    t0 = time.monotonic()
    name = submit(env, branch, app)
    wf, seen = wait(env, name)
    phase = report(env, name, wf, seen, t0)
    if phase != "Succeeded":
        return 1
    url = page_of(env, app)
    if not url:
        print(f"no published URL for {app}: {json.dumps(app_status(env, app).get('summary', {}))}")
        return 1
    body = fetch_page(url)
    print(f"application {app}: {url}")
    ok = name in body
    print(f"  the page {'names' if ok else 'does NOT name'} {name}: "
          + " ".join(line.strip() for line in body.splitlines() if "Built by" in line))
    print(f"  answered {time.monotonic() - t0:.2f} s after the submit")
    return 0 if ok else 1


def cluster_options(p):
    p.add_argument("--kubeconfig", help="deploy the Application to this cluster (skiff server --kubeconfig)")
    p.add_argument("--push-registry", metavar="HOST:PORT",
                   help="push the image here over plain HTTP (a registry the cluster pulls from)")
    p.add_argument("--node-address", metavar="IP", help="where the cluster serves NodePorts (default 127.0.0.1)")
    p.add_argument("--app-resync", type=int, metavar="SECONDS",
                   help="skiff server's --app-resync (default: the server's, 180)")
    p.add_argument("--executor", choices=["container", "kubernetes"], default="container",
                   help="kubernetes: every step a Pod on the --kubeconfig cluster (needs --kubectl, --emissary-image)")
    p.add_argument("--kubectl", metavar="FILE", help="kubectl, to make the steps' namespace and Secrets on the cluster")
    p.add_argument("--emissary-image", metavar="IMAGE", help="skiff's image as the cluster pulls it (skiff image push-self)")
    p.add_argument("--namespace", help="the workflow's namespace (default argo)")


def main(argv):
    p = argparse.ArgumentParser(prog="pipeline.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("up")
    u.add_argument("dir")
    u.add_argument("skiff")
    cluster_options(u)
    r = sub.add_parser("run")
    r.add_argument("dir")
    r.add_argument("--branch", default="feature-1")
    r.add_argument("--app", default="final-application")
    dn = sub.add_parser("down")
    dn.add_argument("dir")
    m = sub.add_parser("main")
    m.add_argument("skiff")
    m.add_argument("--keep", action="store_true", help="leave the servers running (stop: pipeline.py down DIR)")
    m.add_argument("--dir", default=None)
    cluster_options(m)
    a = p.parse_args(argv)
    if a.cmd in ("up", "main") and a.kubeconfig and not a.push_registry:
        p.error("--kubeconfig needs --push-registry: a registry the cluster pulls from (this set-up's own wants a CA "
                "and a password the cluster does not have)")
    if a.cmd == "up":
        up(a.dir, a.skiff, a.kubeconfig, a.push_registry, a.node_address, a.app_resync, a.executor, a.kubectl,
           a.emissary_image, a.namespace)
        return 0
    if a.cmd == "run":
        return run(a.dir, a.branch, a.app)
    if a.cmd == "down":
        down(a.dir)
        return 0
    d = a.dir or tempfile.mkdtemp(prefix="skiff-pipeline-")
    try:
        t = time.monotonic()
        up(d, a.skiff, a.kubeconfig, a.push_registry, a.node_address, a.app_resync, a.executor, a.kubectl,
           a.emissary_image, a.namespace)
        log(f"set-up ready in {time.monotonic() - t:.1f} s ({d})")
        return run(d)
    finally:
        if a.keep:
            print(f"still running; stop with: python3 {os.path.relpath(__file__, ROOT)} down {d}")
        else:
            down(d)
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
