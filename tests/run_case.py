#!/usr/bin/env python3
"""Runs one workflow case through the real skiff binary and checks its expectations.

A case is tests/workflows/<area>/<case>.yaml (the Workflow and any WorkflowTemplates) with
<case>.expect.yaml beside it:

  command: run          # run (default) | lint
  args: [-p, x=1]       # extra flags; {case_dir} is the case's directory
  exit: 0               # expected exit code (default: 0 if phase Succeeded, 1 otherwise, 2 for lint problems)
  phase: Succeeded      # workflow phase
  message: "..."        # substring of status.message
  outputs: {name: v}    # workflow output parameters (globalName)
  output_artifacts: [a] # names of the workflow's output artifacts (globalName)
  node_count: 4         # number of nodes in status.nodes
  nodes:                # by node name; {wf} is the workflow's name
    wf.a: {phase: Succeeded, type: Pod, result: "hi", exitCode: "0",
           parameters: {p: v}, message: "substring", message_is: "exact ('' = none)",
           children: [wf.b],
           displayName: a, templateName: t,
           artifacts: {art: {key: "substring of its s3.key"}}, artifacts_absent: [art2]}
    wf.x: {absent: true}
  stdout: ["substring", ...]   # in what skiff printed (with -o json: the JSON)
  stderr: ["substring", ...]
  host_absent: [/tmp/x]        # paths that must not exist on the host afterwards
  path_prepend: ["{case_dir}/bin"]  # directories put before PATH in skiff's environment
  interrupt_after: 0.5          # send SIGINT after this many seconds
  raw: true                    # don't add `-o json`: check only exit code, stdout, stderr
  executors: [container]       # run only with these executors (default: host, container and kubernetes;
                               # kubernetes runs where container does)
  container: {...}             # expectations that differ in containers, merged over the rest
  kubernetes: {...}            # ...on Kubernetes, merged over those of `container`
  not_kubernetes: "why"        # a container case that does not apply to Pods, and why
Expectations may say {namespace}: the workflow's namespace ("default", or the case's own on Kubernetes).
  setup: [[secret, create, ...]]   # skiff commands run first (same data directory)
  registry_args: false         # don't pass the test registry's settings; args give their own
                               # ({registry} is its directory, {registry_KEY} a key of its env.json:
                               # {registry_host}, {registry_busybox_digest})
  http_server: true            # starts a small HTTP server on 127.0.0.1 for this case (see
                               # TestHttpHandler); args and setup may use {http_url}
  s3: true                     # needs the S3 test server (tests/s3/s3server.py, given as --s3 DIR):
                               # skipped (77) without it; setup and args may use {s3_endpoint},
                               # {s3_access_key}, {s3_secret_key}, {s3_bucket} (any key of its env.json)

Every case runs with --executor host and, given --registry DIR (a registry started by
tests/registry/registry.py), with --executor container, images pulled through its mirror.
With --executor kubernetes --k8s-env FILE (the test cluster's env.json, scripts/k8s-up) it
runs on the test cluster, in a namespace of its own made for it (setup's Secrets and
ConfigMaps are made there too) and deleted after; tests/k8s/push_images.py has put the
images and skiff's emissary image in the cluster's registry.
A case not meant for the executor exits 77 (skipped).
"""
import argparse
import http.server
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import yaml


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check_node(name, node, want, by_id):
    if want.get("absent"):
        fail(f"node {name} exists but should not: {json.dumps(node)[:300]}")
    for key, value in want.items():
        if key == "result":
            got = node.get("outputs", {}).get("result")
        elif key == "exitCode":
            got = node.get("outputs", {}).get("exitCode")
        elif key in ("parameters", "inputs"):
            section = node.get("outputs" if key == "parameters" else "inputs", {})
            got = {p["name"]: p.get("value") for p in section.get("parameters", [])}
            for k, v in value.items():
                if got.get(k) != str(v):
                    fail(f"node {name}: {key} parameter {k} = {got.get(k)!r}, want {str(v)!r}")
            continue
        elif key == "artifacts":  # output artifacts by name: {key: "substring of s3.key"} ({} = present)
            got = {a.get("name"): a for a in node.get("outputs", {}).get("artifacts", [])}
            for k, v in value.items():
                if k not in got:
                    fail(f"node {name}: no output artifact {k} (has {sorted(got)})")
                if v and v.get("key", "") not in got[k].get("s3", {}).get("key", ""):
                    fail(f"node {name}: artifact {k} key {got[k].get('s3')!r} does not contain {v['key']!r}")
            continue
        elif key == "artifacts_absent":  # names of output artifacts the node must not have
            got = [a.get("name") for a in node.get("outputs", {}).get("artifacts", [])]
            for k in value:
                if k in got:
                    fail(f"node {name}: has output artifact {k}, which it should not")
            continue
        elif key == "message":
            got = node.get("message", "")
            if str(value) not in got:
                fail(f"node {name}: message {got!r} does not contain {value!r}")
            continue
        elif key == "message_is":
            got = node.get("message", "")
            if got != str(value):
                fail(f"node {name}: message {got!r}, want exactly {str(value)!r}")
            continue
        elif key == "children":
            got = sorted(by_id[c]["name"] for c in node.get("children", []) if c in by_id)
            if got != sorted(value):
                fail(f"node {name}: children {got}, want {sorted(value)}")
            continue
        else:
            got = node.get(key)
        if str(got) != str(value):
            fail(f"node {name}: {key} = {got!r}, want {value!r}")


class TestHttpHandler(http.server.BaseHTTPRequestHandler):
    """What http templates' cases talk to (any method):
    /echo            200, the request as JSON: {method, path, headers (lower-case names), body}
    /status/CODE     that status, body "status CODE"
    /slow/SECONDS    200 after that many seconds
    /big/BYTES       200 with a body of that many bytes
    Every response carries X-Skiff-Test: yes."""

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = self.path.split("?")[0].strip("/").split("/")
        status, out = 200, b""
        if parts[0] == "echo":
            out = json.dumps({"method": self.command, "path": self.path, "body": body.decode("utf-8", "replace"),
                              "headers": {k.lower(): v for k, v in self.headers.items()}}, sort_keys=True).encode()
        elif parts[0] == "status" and len(parts) == 2:
            status, out = int(parts[1]), f"status {parts[1]}".encode()
        elif parts[0] == "slow" and len(parts) == 2:
            time.sleep(float(parts[1]))
            out = b"slow"
        elif parts[0] == "big" and len(parts) == 2:
            out = b"x" * int(parts[1])
        else:
            status, out = 404, b"no such path"
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if parts[0] != "echo" else "application/json")
            self.send_header("X-Skiff-Test", "yes")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(out)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout, a body too large): what the case checks

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any

    def log_message(self, *args):
        pass


def start_http_server():
    """A threaded server on 127.0.0.1 and a free port; returns (server, base URL)."""
    class Server(http.server.ThreadingHTTPServer):
        # socketserver's listen backlog is 5: the runtime's 64 requests at once overflow it,
        # and the kernel drops the rest's SYNs, which the client sends again only after 1, 2,
        # 4 ... s (http/fan-out took 15-100 s for 150 requests of 0.2 s).
        request_queue_size = 256
        daemon_threads = True
    server = Server(("127.0.0.1", 0), TestHttpHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def s3_settings(directory):
    """The S3 test server's env.json, or exit 77 (skipped) saying why there is none."""
    if not directory:
        print("skipped: this case needs the S3 test server (run_case.py --s3 DIR)")
        sys.exit(77)
    try:
        with open(f"{directory}/env.json") as f:
            env = json.load(f)
    except (OSError, ValueError) as e:
        print(f"skipped: no S3 test server in {directory} ({e}): tests/s3/s3server.py start {directory}")
        sys.exit(77)
    if "unavailable" in env:
        print(f"skipped: the S3 test server is unavailable: {env['unavailable']}")
        sys.exit(77)
    return env


def emissary_image(k8s_env_path):
    """What tests/k8s/push_images.py pushed last: skiff's own image, by digest (a tag the node
    has cached would hide a newer build)."""
    path = os.path.join(os.path.dirname(k8s_env_path), "emissary-image")
    if not os.path.exists(path):
        fail(f"{path} is missing: run tests/k8s/push_images.py (ctest k8s/images) first")
    with open(path) as f:
        return f.read().strip()


def with_namespace(value, namespace):
    """The expectations with {namespace} (where the workflow runs) filled in."""
    if isinstance(value, str):
        return value.replace("{namespace}", namespace)
    if isinstance(value, list):
        return [with_namespace(v, namespace) for v in value]
    if isinstance(value, dict):
        return {k: with_namespace(v, namespace) for k, v in value.items()}
    return value


def kubectl(k8s, *args, check=True):
    done = subprocess.run([f"{k8s['bin']}/kubectl", "--kubeconfig", k8s["kubeconfig"]] + list(args),
                          capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        fail(f"kubectl {' '.join(args)}: {done.stderr}")
    return done.stdout


def kubectl_create(k8s, namespace, step):
    """The cluster's copy of a setup step's `secret create` or `configmap create`."""
    kind, args = step[0], step[2:]
    if kind == "secret" and args and args[0] in ("generic", "docker-registry"):
        sub, args = args[0], args[1:]
    else:
        sub = "generic" if kind == "secret" else None
    name, rest = args[0], [a for a in args[1:] if a not in ("-n", namespace)]
    kubectl(k8s, "create", kind, *([sub] if sub else []), name, *rest, "-n", namespace)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skiff", required=True)
    ap.add_argument("--executor", default="host", choices=["host", "container", "kubernetes"])
    ap.add_argument("--k8s-env", help="the test cluster's env.json (scripts/k8s-up), for --executor kubernetes")
    ap.add_argument("--registry", help="directory of a running test registry (tests/registry/registry.py)")
    ap.add_argument("--s3", help="directory of a running S3 test server (tests/s3/s3server.py)")
    ap.add_argument("case")
    a = ap.parse_args()
    expect_path = a.case[: -len(".yaml")] + ".expect.yaml"
    with open(expect_path) as f:
        want = yaml.safe_load(f) or {}
    executors = want.get("executors", ["host", "container"])
    if "container" in executors and not want.get("not_kubernetes"):
        executors = executors + ["kubernetes"]
    if a.executor not in executors:
        print(f"skipped: this case is for {executors}" +
              (f": {want['not_kubernetes']}" if a.executor == "kubernetes" and want.get("not_kubernetes") else ""))
        sys.exit(77)
    for layer in ["container", "kubernetes"] if a.executor == "kubernetes" else [a.executor]:
        if layer in want:
            want = {**want, **want[layer]}
    k8s = None
    namespace = None
    if a.executor == "kubernetes":
        if not a.k8s_env or not os.path.exists(a.k8s_env):
            fail(f"--executor kubernetes needs the test cluster's env.json (--k8s-env {a.k8s_env}): is it up?")
        with open(a.k8s_env) as f:
            k8s = json.load(f)
        base = os.path.basename(a.case)[: -len(".yaml")].lower()
        base = "".join(c if c.isalnum() else "-" for c in base)[:40].strip("-")
        namespace = f"case-{base}-{os.urandom(3).hex()}"
    want = with_namespace(want, namespace or "default")
    s3_env = s3_settings(a.s3) if want.get("s3") else {}
    http_server, http_url = start_http_server() if want.get("http_server") else (None, "")
    command = want.get("command", "run")
    with tempfile.TemporaryDirectory(prefix="skiff-case-") as data:
        case_dir = os.path.dirname(os.path.abspath(a.case))
        reg_env = {}
        if a.registry:
            with open(f"{a.registry}/env.json") as f:
                reg_env = json.load(f)

        def expand(x):
            x = str(x).replace("{case_dir}", case_dir).replace("{registry}", a.registry or "")
            x = x.replace("{http_url}", http_url)
            for k, v in reg_env.items():
                x = x.replace("{registry_" + k + "}", str(v))
            for k, v in s3_env.items():
                x = x.replace("{s3_" + k + "}", str(v))
            if k8s:  # {k8s_api_port}: the API server's port on the node (this machine's 127.0.0.1)
                x = x.replace("{k8s_api_port}", k8s["api"].rsplit(":", 1)[-1])
            return x

        extra = [expand(x) for x in want.get("args", [])]
        argv = [a.skiff, command, a.case] + extra
        registry = []
        if a.executor == "container" and a.registry and want.get("registry_args", True):
            registry = ["--registries", f"{a.registry}/registries.yaml", "--registry-config", f"{a.registry}/config.json"]
        if k8s:
            kubectl(k8s, "create", "namespace", namespace)
            registry = ["--kubeconfig", k8s["kubeconfig"], "--emissary-image", emissary_image(a.k8s_env),
                        "--registry-mirror", f"docker.io=http://{k8s['registry']}", "--plain-http", k8s["registry"],
                        "-n", namespace]
        if command == "run":
            argv += ["--executor", a.executor, "--data", data] + registry + ([] if want.get("raw") else ["-o", "json"])
        env = dict(os.environ, SKIFF_DATA=data)
        if want.get("path_prepend"):
            dirs = [expand(d) for d in want["path_prepend"]]
            if a.executor == "host" and any(os.path.realpath(d).startswith("/tmp/") for d in dirs):
                print(f"skipped: {dirs} is under /tmp, which host steps see as their own private /tmp")
                sys.exit(77)
            env["PATH"] = ":".join(dirs + [os.environ.get("PATH", "")])
        for step in want.get("setup", []):
            step = [expand(x) for x in step]
            if k8s and step[0] in ("secret", "configmap"):
                step = step + ["-n", namespace]
                kubectl_create(k8s, namespace, step)
            elif k8s and step[0] == "run":
                kept = [x for i, x in enumerate(step) if x != "--executor" and (i == 0 or step[i - 1] != "--executor")]
                step = kept + ["--executor", "kubernetes"] + registry
            done = subprocess.run([a.skiff] + step + ["--data", data], capture_output=True, text=True, timeout=60, env=env)
            if done.returncode != 0:
                fail(f"setup {step} failed: {done.stderr}")
        try:
            if "interrupt_after" in want:
                p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=data)
                time.sleep(float(want["interrupt_after"]))
                p.send_signal(signal.SIGINT)
                out, err = p.communicate(timeout=100)
                proc = subprocess.CompletedProcess(argv, p.returncode, out, err)
            else:
                proc = subprocess.run(argv, capture_output=True, text=True, timeout=100, env=env, cwd=data)
        except subprocess.TimeoutExpired:
            fail("skiff did not finish within 100 s: " + " ".join(argv))
        finally:
            if k8s:
                kubectl(k8s, "delete", "namespace", namespace, "--wait=false", check=False)
    if http_server:
        http_server.shutdown()
        http_server.server_close()
    out, err = proc.stdout, proc.stderr
    default_exit = 0
    if command == "lint":
        default_exit = 2 if want.get("stderr") else 0
    elif want.get("phase") and want["phase"] != "Succeeded":
        default_exit = 1
    elif want.get("stderr") and not want.get("phase"):
        default_exit = 2
    if proc.returncode != want.get("exit", default_exit):
        fail(f"exit code {proc.returncode}, want {want.get('exit', default_exit)}\nstderr:\n{err[-3000:]}\nstdout:\n{out[-2000:]}")
    for s in want.get("stderr", []):
        if s not in err:
            fail(f"stderr does not contain {s!r}:\n{err[-3000:]}")
    for s in want.get("stdout", []):
        if s not in out:
            fail(f"stdout does not contain {s!r}:\n{out[-3000:]}")
    if command == "run" and proc.returncode in (0, 1) and not want.get("raw"):
        try:
            wf = json.loads(out)
        except json.JSONDecodeError as e:
            fail(f"output is not JSON ({e}):\n{out[:2000]}\nstderr:\n{err[-2000:]}")
        status = wf.get("status", {})
        if "phase" in want and status.get("phase") != want["phase"]:
            fail(f"workflow phase {status.get('phase')!r}, want {want['phase']!r}; message: {status.get('message')!r}")
        if "message" in want and want["message"] not in status.get("message", ""):
            fail(f"workflow message {status.get('message')!r} does not contain {want['message']!r}")
        nodes = status.get("nodes", {})
        by_name = {n["name"]: n for n in nodes.values()}
        if "node_count" in want and len(nodes) != want["node_count"]:
            fail(f"{len(nodes)} nodes, want {want['node_count']}: {sorted(by_name)}")
        wf_name = wf.get("metadata", {}).get("name", "")
        for name, w in (want.get("nodes") or {}).items():
            name = name.replace("{wf}", wf_name)
            if name not in by_name:
                if (w or {}).get("absent"):
                    continue
                fail(f"no node named {name!r}; nodes: {sorted(by_name)}")
            check_node(name, by_name[name], w or {}, nodes)
        got_out = {p["name"]: p.get("value") for p in status.get("outputs", {}).get("parameters", [])}
        for k, v in (want.get("outputs") or {}).items():
            if got_out.get(k) != str(v):
                fail(f"workflow output {k} = {got_out.get(k)!r}, want {str(v)!r}")
        got_art = sorted(a.get("name") for a in status.get("outputs", {}).get("artifacts", []))
        if "output_artifacts" in want and got_art != sorted(want["output_artifacts"]):
            fail(f"workflow output artifacts {got_art}, want {sorted(want['output_artifacts'])}")
    for path in want.get("host_absent", []):
        if os.path.exists(path):
            fail(f"{path} exists on the host: a step's private file escaped its sandbox")
    print("ok")


if __name__ == "__main__":
    main()
