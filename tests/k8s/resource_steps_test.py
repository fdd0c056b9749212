#!/usr/bin/env python3
"""Resource steps against the real test cluster (scripts/k8s-up), through `skiff run
--kubeconfig`, checked with kubectl:

  resource_steps_test.py SOURCE_DIR SKIFF

- a Job created and waited for (`status.succeeded > 0`), its name as an output;
- a failing Job meets its failureCondition: the step fails saying which;
- a ConfigMap created on the cluster (not in skiff), patched (strategic, the default), read;
- a Deployment applied, then waited for until Available, then deleted (foreground);
- a custom resource of a CRD created in the test: create, merge patch, get with a condition;
- errors name the object and the API's word: invalid, forbidden (a service account's token
  with no rights), unknown kind, setOwnerReference refused on the cluster.

Exit 77 (skipped) only when the machine cannot run the cluster (scripts/k8s-up --check).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

from cluster import cluster_env

source = os.path.abspath(sys.argv[1])
skiff = os.path.abspath(sys.argv[2])
env = cluster_env(source)
run_id = f"{os.getpid()}-{int(time.time()) % 100000}"  # pids recur; a namespace being deleted lingers
ns = f"resource-{run_id}"
group = f"r{run_id}.skiff.dev"
failures = []


def kubectl(*args, stdin=None, check=True, namespaced=True, kubeconfig=None):
    argv = [f"{env['bin']}/kubectl", "--kubeconfig", kubeconfig or env["kubeconfig"]] + (["-n", ns] if namespaced else [])
    r = subprocess.run(argv + list(args), input=stdin, capture_output=True, text=True, timeout=180)
    if check and r.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
    return r


def run(name, workflow, kubeconfig=None):
    """Runs the workflow with skiff; returns its JSON."""
    with tempfile.TemporaryDirectory(prefix="skiff-k8s-") as data:
        path = f"{data}/wf.yaml"
        with open(path, "w") as f:
            f.write(workflow.replace("NAMESPACE", ns))
        r = subprocess.run([skiff, "run", path, "--executor", "host", "--data", data, "-o", "json",
                            "--kubeconfig", kubeconfig or env["kubeconfig"]],
                           capture_output=True, text=True, timeout=300)
        try:
            return json.loads(r.stdout)
        except ValueError:
            raise AssertionError(f"{name}: skiff run exited {r.returncode} with no JSON:\n{r.stderr[-2000:]}")


def node(wf, name):
    for n in wf["status"]["nodes"].values():
        if n["name"] == name:
            return n
    raise AssertionError(f"no node {name}: {[n['name'] for n in wf['status']['nodes'].values()]}")


def params(n):
    return {p["name"]: p.get("value") for p in n.get("outputs", {}).get("parameters", [])}


def case(fn):
    started = time.monotonic()
    try:
        fn()
        print(f"ok   {fn.__name__} ({time.monotonic() - started:.1f} s)")
    except AssertionError as e:
        failures.append(fn.__name__)
        print(f"FAIL {fn.__name__}: {e}")


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def job_succeeds():
    wf = run("job", """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: job}
spec:
  entrypoint: job
  templates:
    - name: job
      resource:
        action: create
        successCondition: status.succeeded > 0
        failureCondition: status.failed > 0
        manifest: |
          apiVersion: batch/v1
          kind: Job
          metadata: {generateName: hello-, namespace: NAMESPACE}
          spec:
            backoffLimit: 0
            template:
              spec:
                restartPolicy: Never
                containers:
                  - {name: hello, image: busybox:latest, command: [echo, hello]}
      outputs:
        parameters:
          - name: job
            valueFrom: {jsonPath: "{.metadata.name}"}
          - name: succeeded
            valueFrom: {jqFilter: ".status.succeeded"}
""")
    expect(wf["status"]["phase"] == "Succeeded", f"phase {wf['status']['phase']}: {wf['status'].get('message')}")
    p = params(node(wf, "job"))
    expect(p["job"].startswith("hello-") and p["succeeded"] == "1", f"outputs {p}")
    got = json.loads(kubectl("get", "job", p["job"], "-o", "json").stdout)
    expect(got["status"].get("succeeded") == 1, f"the cluster's job: {got['status']}")


def job_fails():
    wf = run("job-fails", """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: job-fails}
spec:
  entrypoint: job
  templates:
    - name: job
      resource:
        action: create
        successCondition: status.succeeded > 0
        failureCondition: status.failed > 0
        manifest: |
          apiVersion: batch/v1
          kind: Job
          metadata: {name: fails, namespace: NAMESPACE}
          spec:
            backoffLimit: 0
            template:
              spec:
                restartPolicy: Never
                containers:
                  - {name: fail, image: busybox:latest, command: [sh, -c, "exit 3"]}
""")
    n = node(wf, "job-fails")
    expect(n["phase"] == "Failed" and "failure condition 'status.failed>0' evaluated true" in n.get("message", ""),
           f"node {n['phase']}: {n.get('message')}")


def configmap_on_the_cluster():
    wf = run("cm", """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: cm, namespace: NAMESPACE}
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - {name: create, template: create}
        - - {name: patch, template: patch}
        - - {name: read, template: read}
    - name: create
      resource:
        action: create
        manifest: |
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: settings, labels: {app: skiff}}
          data: {greeting: hello}
    - name: patch
      resource:
        action: patch
        manifest: |
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: settings}
          data: {farewell: bye}
    - name: read
      resource:
        action: get
        flags: [configmap, settings]
      outputs:
        parameters:
          - name: data
            valueFrom: {jqFilter: ".data | to_entries | map(.key + \\"=\\" + .value) | join(\\",\\")"}
""")
    expect(wf["status"]["phase"] == "Succeeded", f"phase {wf['status']['phase']}: {wf['status'].get('message')}")
    expect(params(node(wf, "cm[2].read"))["data"] == "farewell=bye,greeting=hello", f"{params(node(wf, 'cm[2].read'))}")
    got = json.loads(kubectl("get", "configmap", "settings", "-o", "json").stdout)
    expect(got["data"] == {"greeting": "hello", "farewell": "bye"} and got["metadata"]["labels"] == {"app": "skiff"},
           f"the cluster's ConfigMap: {got['data']}")


def deployment_available_then_deleted():
    wf = run("deploy", """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: deploy, namespace: NAMESPACE}
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - {name: apply, template: apply}
        - - {name: delete, template: delete}
    - name: apply
      resource:
        action: apply
        successCondition: status.availableReplicas == 1
        manifest: |
          apiVersion: apps/v1
          kind: Deployment
          metadata: {name: web}
          spec:
            replicas: 1
            selector: {matchLabels: {app: web}}
            template:
              metadata: {labels: {app: web}}
              spec:
                containers:
                  - {name: web, image: busybox:latest, command: [sleep, "3600"]}
    - name: delete
      resource:
        action: delete
        flags: [--cascade=foreground]
        manifest: |
          apiVersion: apps/v1
          kind: Deployment
          metadata: {name: web}
""")
    expect(wf["status"]["phase"] == "Succeeded", f"phase {wf['status']['phase']}: {wf['status'].get('message')}")
    gone = kubectl("get", "deployment", "web", check=False)
    expect(gone.returncode != 0 or '"deletionTimestamp"' in kubectl("get", "deployment", "web", "-o", "json", check=False).stdout,
           "the Deployment is still there, not being deleted")


def custom_resource():
    kubectl("apply", "-f", "-", namespaced=False, stdin=json.dumps({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"gadgets.{group}"},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                     "type": "object", "properties": {"spec": {"type": "object", "properties": {
                         "size": {"type": "integer"}, "color": {"type": "string"}}}}}}}]}}))
    kubectl("wait", "--for=condition=Established", f"crd/gadgets.{group}", "--timeout=60s", namespaced=False)
    wf = run("gadget", f"""
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {{name: gadget, namespace: NAMESPACE}}
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - {{name: create, template: create}}
        - - {{name: grow, template: grow}}
        - - {{name: check, template: check}}
    - name: create
      resource:
        action: create
        manifest: |
          apiVersion: {group}/v1
          kind: Gadget
          metadata: {{name: g1}}
          spec: {{size: 1, color: red}}
    - name: grow
      resource:
        action: patch
        mergeStrategy: merge
        manifest: |
          apiVersion: {group}/v1
          kind: Gadget
          metadata: {{name: g1}}
          spec: {{size: 5}}
    - name: check
      resource:
        action: get
        successCondition: spec.size > 3, spec.color == red
        manifest: |
          apiVersion: {group}/v1
          kind: Gadget
          metadata: {{name: g1}}
      outputs:
        parameters:
          - name: size
            valueFrom: {{jsonPath: "{{.spec.size}}"}}
""")
    expect(wf["status"]["phase"] == "Succeeded", f"phase {wf['status']['phase']}: {wf['status'].get('message')}")
    expect(params(node(wf, "gadget[2].check"))["size"] == "5", f"{params(node(wf, 'gadget[2].check'))}")


def errors_name_the_object():
    kubectl("create", "serviceaccount", "nobody")
    token = kubectl("create", "token", "nobody").stdout.strip()
    kubeconfig = f"/tmp/skiff-k8s-nobody-{os.getpid()}.yaml"
    admin = json.loads(kubectl("config", "view", "--raw", "-o", "json", namespaced=False).stdout)
    cluster = admin["clusters"][0]["cluster"]
    with open(kubeconfig, "w") as f:
        json.dump({"apiVersion": "v1", "kind": "Config", "current-context": "nobody",
                   "clusters": [{"name": "test", "cluster": cluster}],
                   "users": [{"name": "nobody", "user": {"token": token}}],
                   "contexts": [{"name": "nobody", "context": {"cluster": "test", "user": "nobody", "namespace": ns}}]}, f)
    try:
        forbidden = run("forbidden", """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: forbidden, namespace: NAMESPACE}
spec:
  entrypoint: main
  templates:
    - name: main
      resource:
        action: create
        manifest: |
          apiVersion: v1
          kind: Pod
          metadata: {name: p}
          spec: {containers: [{name: c, image: busybox:latest}]}
""", kubeconfig=kubeconfig)
        msg = node(forbidden, "forbidden").get("message", "")
        expect("forbidden" in msg and "Pod" in msg, f"forbidden: {msg}")
    finally:
        os.unlink(kubeconfig)
    wf = run("errors", """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: errors, namespace: NAMESPACE}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: invalid, template: invalid}
          - {name: unknown, template: unknown}
          - {name: owner, template: owner}
    - name: invalid
      resource:
        action: create
        manifest: |
          apiVersion: apps/v1
          kind: Deployment
          metadata: {name: no-selector}
          spec: {template: {spec: {containers: [{name: c, image: busybox:latest}]}}}
    - name: unknown
      resource:
        action: get
        manifest: |
          apiVersion: example.com/v1
          kind: Nothing
          metadata: {name: x}
    - name: owner
      resource:
        action: create
        setOwnerReference: true
        manifest: |
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: owned}
          data: {a: b}
""")
    invalid = node(wf, "errors.invalid").get("message", "")
    expect("Deployment" in invalid and "no-selector" in invalid and "selector" in invalid[invalid.find("no-selector") + 1:],
           f"invalid: {invalid}")
    unknown = node(wf, "errors.unknown").get("message", "")
    expect("Nothing" in unknown and "example.com/v1" in unknown, f"unknown kind: {unknown}")
    owner = node(wf, "errors.owner").get("message", "")
    expect("setOwnerReference" in owner, f"owner: {owner}")
    expect(kubectl("get", "configmap", "owned", check=False).returncode != 0, "the owned ConfigMap was created")


kubectl("create", "namespace", ns, namespaced=False)
try:
    for c in (job_succeeds, job_fails, configmap_on_the_cluster, deployment_available_then_deleted, custom_resource,
              errors_name_the_object):
        case(c)
finally:
    kubectl("delete", "namespace", ns, "--wait=false", namespaced=False, check=False)
    kubectl("delete", "crd", f"gadgets.{group}", "--wait=false", namespaced=False, check=False)
print(f"{6 - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
