#!/usr/bin/env python3
"""Runs Argo's own examples through skiff, as Argo's e2e test (test/e2e/examples_test.go) runs them.

  argo_examples.py EXAMPLES_DIR --skiff SKIFF --registry REGDIR [--executor container]
  argo_examples.py EXAMPLES_DIR --skiff SKIFF --executor kubernetes [--k8s-env ENV_JSON]
                   [-j N] [--timeout S] [--json OUT] [--only SUBSTRING ...]

EXAMPLES_DIR is the examples/ directory of a copy of Argo's repository (read at run time,
never committed here). Like Argo's test, it first applies every ConfigMap, WorkflowTemplate
and ClusterWorkflowTemplate found under it (ConfigMaps with `skiff configmap create` into
each run's data directory; templates passed as extra files to `skiff run`, the ones a
workflow references, transitively), then runs every Workflow that has no
`workflows.argoproj.io/no-test` label with `skiff run --executor container` and the test
registry's settings, waiting at most --timeout seconds for each.

--quick-start S3DIR gives every run what Argo's quick-start install (the set-up its e2e test
runs in) has: the `artifact-repositories` ConfigMap (keys default-v1, the default, and
my-key, both with archiveLogs) and the `my-minio-cred` Secret, pointing at the MinIO that
`tests/s3/s3server.py start S3DIR` started. Without it, artifacts go to skiff's local
repository and examples that name the ConfigMap fail.

REGDIR is a registry started by tests/registry/registry.py; the example images' stand-ins
(tests/registry/example_images.py) are pushed to it first. A workflow naming an image the
registry does not offer is skipped, with the image named.

Prints one line per example (PASS, FAIL with the phase, message and the first failing node's
message, SKIP with why), then the pass rate over the examples whose images are offered;
--json writes the same results as JSON. Exits 0 (the figure is the result, not a verdict).
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REGISTRY_DIR = os.path.join(os.path.dirname(HERE), "registry")
NO_TEST = "workflows.argoproj.io/no-test"


def manifests(root):
    """(path relative to root, [documents]) for every YAML file under root, sorted."""
    out = []
    for dirpath, dirs, names in os.walk(root):
        dirs.sort()
        for n in sorted(names):
            if not n.endswith((".yaml", ".yml")):
                continue
            p = os.path.join(dirpath, n)
            with open(p) as f:
                text = f.read()
            docs = []
            # As Argo's splitYAMLDocuments: split on '---', skip what does not parse.
            for part in text.split("\n---"):
                try:
                    d = yaml.safe_load(part)
                except yaml.YAMLError:
                    continue
                if isinstance(d, dict):
                    docs.append(d)
            out.append((os.path.relpath(p, root), docs))
    return out


def walk(obj, fn):
    if isinstance(obj, dict):
        fn(obj)
        for v in obj.values():
            walk(v, fn)
    elif isinstance(obj, list):
        for v in obj:
            walk(v, fn)


def refs_of(obj):
    """(cluster?, name) of the templates a document refers to."""
    found = set()

    def fn(d):
        for key in ("templateRef", "workflowTemplateRef"):
            r = d.get(key)
            if isinstance(r, dict) and isinstance(r.get("name"), str):
                found.add((bool(r.get("clusterScope")), r["name"]))
    walk(obj, fn)
    return found


def images_of(obj):
    found = set()

    def fn(d):
        img = d.get("image")
        if isinstance(img, str) and ("container" in d or "command" in d or "args" in d or "source" in d
                                      or "name" in d or len(d) >= 1):
            found.add(img.strip())
    walk(obj.get("spec", {}), fn)
    return found


def normal(image):
    """docker.io/library/alpine:3.23 -> alpine:3.23; a bare name keeps no tag."""
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        if image.startswith(prefix):
            image = image[len(prefix):]
    if image.startswith("library/"):
        image = image[len("library/"):]
    return image


def first_failed_node(status):
    nodes = list((status.get("nodes") or {}).values())
    bad = [n for n in nodes if n.get("phase") in ("Failed", "Error")]
    # A step's own failure (a Pod, Container, Suspend...) before the groups that carry it up,
    # then the earliest; a node with a message before one without.
    groups = ("DAG", "Steps", "StepGroup", "TaskGroup", "Retry")
    bad.sort(key=lambda n: (n.get("type") in groups, not n.get("message"),
                            n.get("finishedAt") or n.get("startedAt") or "", n.get("name", "")))
    return bad[0] if bad else None


class Runner:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.reg_args = []
        self.k8s = None
        if a.executor == "container":
            self.reg_args = ["--registries", f"{a.registry}/registries.yaml",
                             "--registry-config", f"{a.registry}/config.json"]
        elif a.executor == "kubernetes":
            with open(a.k8s_env) as f:
                self.k8s = json.load(f)
            with open(os.path.join(os.path.dirname(a.k8s_env), "emissary-image")) as f:
                emissary = f.read().strip()
            self.reg_args = ["--kubeconfig", self.k8s["kubeconfig"], "--emissary-image", emissary,
                             "--registry-mirror", f"docker.io=http://{self.k8s['registry']}",
                             "--plain-http", self.k8s["registry"]]

    def kubectl(self, *args, stdin=None):
        return subprocess.run([f"{self.k8s['bin']}/kubectl", "--kubeconfig", self.k8s["kubeconfig"], *args],
                              input=stdin, capture_output=True, text=True, timeout=60)

    def quick_start(self):
        """The quick-start's artifact repository ConfigMap and its Secret, for a MinIO here."""
        with open(os.path.join(self.a.quick_start, "env.json")) as f:
            env = json.load(f)
        if "unavailable" in env:
            raise SystemExit("--quick-start: " + env["unavailable"])
        repo = yaml.safe_dump({"archiveLogs": True, "s3": {
            "bucket": env["bucket"], "endpoint": env["endpoint"], "insecure": True,
            "accessKeySecret": {"name": "my-minio-cred", "key": "accesskey"},
            "secretKeySecret": {"name": "my-minio-cred", "key": "secretkey"}}})
        return [{"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "artifact-repositories", "annotations": {
                     "workflows.argoproj.io/default-artifact-repository": "default-v1"}},
                 "data": {"default-v1": repo, "my-key": repo, "empty": ""}},
                {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "my-minio-cred"},
                 "stringData": {"accesskey": env["access_key"], "secretkey": env["secret_key"]}}]

    def setup_data(self, data, configmaps, namespace=None):
        for cm in configmaps:
            meta = cm.get("metadata") or {}
            argv = [self.a.skiff, "configmap", "create", "generic", meta.get("name", ""), "--data", data]
            if meta.get("namespace") or namespace:
                argv += ["-n", meta.get("namespace") or namespace]
            for k, v in (cm.get("data") or {}).items():
                argv += ["--from-literal", f"{k}={v}"]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
            if done.returncode != 0:
                return f"configmap {meta.get('name')}: {done.stderr.strip()}"
        return None

    def run_one(self, item):
        path, index, wf, templates, configmaps = item
        meta = wf.get("metadata") or {}
        name = meta.get("name") or meta.get("generateName") or "?"
        result = {"file": path, "index": index, "workflow": name}
        labels = meta.get("labels") or {}
        if NO_TEST in labels:
            return {**result, "result": "NOTEST", "reason": f"no-test: {labels[NO_TEST]}"}
        # The templates it refers to, transitively.
        by_ref = {}
        for t in templates:
            cluster = t.get("kind") == "ClusterWorkflowTemplate"
            by_ref.setdefault((cluster, (t.get("metadata") or {}).get("name")), t)
        wanted, todo = [], list(refs_of(wf))
        seen = set()
        while todo:
            r = todo.pop()
            if r in seen:
                continue
            seen.add(r)
            t = by_ref.get(r)
            if t is not None:
                wanted.append(t)
                todo.extend(refs_of(t))
        images = set()
        for doc in [wf] + wanted:
            images |= images_of(doc)
        missing = sorted(i for i in images if "{{" not in i and normal(i) not in self.offered)
        if missing:
            return {**result, "result": "SKIP", "reason": "image not offered: " + ", ".join(missing)}
        with tempfile.TemporaryDirectory(prefix="skiff-example-") as tmp:
            data = os.path.join(tmp, "data")
            os.makedirs(data)
            namespace = f"ex-{os.urandom(4).hex()}" if self.k8s else None
            err = self.setup_data(data, configmaps, namespace)
            if err:
                return {**result, "result": "FAIL", "phase": "", "message": "setup: " + err, "seconds": 0}
            files = [os.path.join(tmp, "workflow.yaml")]
            with open(files[0], "w") as f:
                yaml.safe_dump(wf, f, sort_keys=False)
            if wanted:
                files.append(os.path.join(tmp, "templates.yaml"))
                with open(files[-1], "w") as f:
                    yaml.safe_dump_all(wanted, f, sort_keys=False)
            if self.a.quick_start:
                files.append(os.path.join(tmp, "quick-start.yaml"))
                with open(files[-1], "w") as f:
                    yaml.safe_dump_all(self.quick_start(), f, sort_keys=False)
            argv = [self.a.skiff, "run", *files, "--executor", self.a.executor, "--data", data,
                    *self.reg_args, "-o", "json"]
            if self.k8s:
                # A namespace of its own on the cluster, with the examples' ConfigMaps.
                self.kubectl("create", "namespace", namespace)
                # The claims it names under volumes, as Argo's e2e set-up has them made.
                claims = [v["persistentVolumeClaim"]["claimName"] for v in (wf.get("spec") or {}).get("volumes") or []
                          if isinstance(v, dict) and (v.get("persistentVolumeClaim") or {}).get("claimName")]
                if claims:
                    self.kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump_all([
                        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": c},
                         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
                        for c in claims]))
                if configmaps:
                    self.kubectl("apply", "-n", namespace, "-f", "-",
                                 stdin=yaml.safe_dump_all([{**cm, "metadata": {**(cm.get("metadata") or {}),
                                                                              "namespace": namespace}}
                                                           for cm in configmaps]))
                if not meta.get("namespace"):
                    argv += ["-n", namespace]
            t0 = time.monotonic()
            try:
                p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     cwd=tmp, env=dict(os.environ, SKIFF_DATA=data), start_new_session=True)
                out, err = p.communicate(timeout=self.a.timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, 2)  # SIGINT: skiff stops its steps
                try:
                    out, err = p.communicate(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, 9)
                    out, err = p.communicate()
                return {**result, "result": "FAIL", "phase": "Timeout",
                        "message": f"not finished within {self.a.timeout} s", "seconds": self.a.timeout,
                        "stderr": err[-1500:]}
            secs = round(time.monotonic() - t0, 1)
            if namespace:
                self.kubectl("delete", "namespace", namespace, "--wait=false")
        result["seconds"] = secs
        try:
            status = json.loads(out).get("status", {})
        except (json.JSONDecodeError, AttributeError):
            return {**result, "result": "FAIL", "phase": f"exit {p.returncode}",
                    "message": (err.strip() or out.strip())[-1500:]}
        phase = status.get("phase", "")
        # What skiff says it ignored ("not acted on", "ignored by"): a PASS may hide a missing feature.
        warnings = [w.strip() for w in err.splitlines() if w.startswith("warning:")]
        if warnings:
            result["warnings"] = [w.split(": ", 2)[-1] if "/workflow.yaml:" in w else w for w in warnings]
        if phase == "Succeeded":
            return {**result, "result": "PASS", "phase": phase}
        node = first_failed_node(status)
        res = {**result, "result": "FAIL", "phase": phase, "message": status.get("message", "")}
        if node:
            res["node"] = node.get("displayName") or node.get("name")
            res["node_message"] = node.get("message", "")
        if not status.get("message") and not node:
            res["stderr"] = err[-1500:]
        return res

    def main(self):
        a = self.a
        if a.executor == "kubernetes":
            sys.path.insert(0, REGISTRY_DIR)
            import example_images  # noqa: E402
            import registry  # noqa: E402
            pushed = example_images.push_example_images(registry.Registry(f"http://{self.k8s['registry']}", None))
            self.offered = set(example_images.offered(pushed))
        elif a.executor == "container":
            done = subprocess.run([sys.executable, os.path.join(REGISTRY_DIR, "example_images.py"), "push",
                                   a.registry], capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit("pushing the example images failed:\n" + done.stderr + done.stdout)
            with open(f"{a.registry}/example-images.json") as f:
                self.offered = set(json.load(f)["offered"])
        else:
            self.offered = None
        files = manifests(a.examples)
        configmaps, templates, items = [], [], []
        for path, docs in files:
            for d in docs:
                kind = d.get("kind")
                if kind == "ConfigMap":
                    configmaps.append(d)
                elif kind in ("WorkflowTemplate", "ClusterWorkflowTemplate"):
                    templates.append(d)
        for path, docs in files:
            n = 0
            for d in docs:
                if d.get("kind") == "Workflow":
                    if not a.only or any(s in path for s in a.only):
                        items.append((path, n, d, templates, configmaps))
                    n += 1
        if self.offered is None:
            self.offered = type("All", (), {"__contains__": lambda s, x: True})()
        results = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as pool:
            for r in pool.map(self.run_one, items):
                results.append(r)
                print(line(r), flush=True)
        counted = [r for r in results if r["result"] in ("PASS", "FAIL")]
        passed = sum(r["result"] == "PASS" for r in counted)
        skipped = sum(r["result"] == "SKIP" for r in results)
        notest = sum(r["result"] == "NOTEST" for r in results)
        rate = 100.0 * passed / len(counted) if counted else 0.0
        summary = {"passed": passed, "failed": len(counted) - passed, "skipped_image": skipped,
                   "no_test": notest, "pass_rate": round(rate, 1)}
        print(f"\n{passed} passed, {len(counted) - passed} failed, {skipped} skipped (image not offered), "
              f"{notest} no-test; pass rate {rate:.1f}% of {len(counted)} with offered images")
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"summary": summary, "results": results}, f, indent=1)
        return 0


def line(r):
    where = r["file"] + (f"#{r['index']}" if r.get("index") else "")
    if r["result"] == "PASS":
        s = f"PASS  {where} ({r.get('seconds', 0)} s)"
        return s + (f" [{len(r['warnings'])} warning(s): {r['warnings'][0]}]" if r.get("warnings") else "")
    if r["result"] in ("SKIP", "NOTEST"):
        return f"SKIP  {where}: {r['reason']}"
    s = f"FAIL  {where}: {r.get('phase')}: {r.get('message', '')}"
    if r.get("node"):
        s += f" | node {r['node']}: {r.get('node_message', '')}"
    if r.get("stderr"):
        s += " | stderr: " + r["stderr"].strip().replace("\n", " / ")[-400:]
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("examples", help="Argo's examples/ directory")
    ap.add_argument("--skiff", required=True)
    ap.add_argument("--registry", help="directory of a running test registry (tests/registry/registry.py)")
    ap.add_argument("--executor", default="container", choices=["container", "host", "kubernetes"])
    ap.add_argument("--k8s-env", default=os.path.join(os.environ.get("SKIFF_K8S_STATE", "/var/tmp/skiff-k8s"),
                                                      "env.json"),
                    help="--executor kubernetes: the test cluster's env.json (tests/k8s/push_images.py has run)")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--only", nargs="*", help="run only examples whose path contains one of these")
    ap.add_argument("--quick-start", metavar="S3DIR",
                    help="a MinIO started by tests/s3/s3server.py: set up Argo's quick-start artifact repository")
    a = ap.parse_args()
    if a.executor == "container" and not a.registry:
        ap.error("--executor container needs --registry")
    a.skiff = os.path.abspath(a.skiff)
    sys.exit(Runner(a).main())


if __name__ == "__main__":
    main()
