#!/usr/bin/env python3
"""skiff server's answers to bad requests, in Argo Server's shape ({"code", "message"}):
missing or unknown tokens 401, another namespace 403, bad bodies 400 with a message,
unknown names 404, duplicates 409, oversized bodies 413; and `--auth-mode server` refuses
to listen beyond loopback. Usage: api_errors_test.py SKIFF_BINARY"""
import json
import signal
import sqlite3
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

from skiffserver import free_port, wait_port



def call(base, method, path, body=None, token=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, data=data, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, {"raw": text.decode(errors="replace")}


TEMPLATE = {"metadata": {"name": "t"}, "spec": {"templates": [
    {"name": "a", "container": {"image": "busybox", "command": ["true"]}}]}}


def main():
    skiff = sys.argv[1]
    failures = []

    def expect(what, got, status, code=None, message=None):
        st, body = got
        if st != status or (code is not None and body.get("code") != code) or \
                (message is not None and message not in body.get("message", "")):
            failures.append(f"{what}: got {st} {body}, want {status} code {code} message containing {message!r}")

    with tempfile.TemporaryDirectory(prefix="skiff-api-") as data:
        port = free_port()
        token = subprocess.run([skiff, "token", "create", "-n", "argo", "--data", data], check=True,
                               capture_output=True, text=True).stdout.strip()
        server = subprocess.Popen([skiff, "server", "--data", data, "--port", str(port), "--executor", "host"],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_port(port)
            expect("version needs no token", call(base, "GET", "/api/v1/version"), 200)
            expect("no token", call(base, "GET", "/api/v1/workflows/argo"), 401, 16, "Bearer")
            expect("every namespace needs a token for *", call(base, "GET", "/api/v1/workflows/", token=token), 403, 7)
            admin = subprocess.run([skiff, "token", "create", "-n", "*", "--data", data], check=True,
                                   capture_output=True, text=True).stdout.strip()
            expect("every namespace with a token for *", call(base, "GET", "/api/v1/workflows/", token=admin), 200)
            expect("unknown token", call(base, "GET", "/api/v1/workflows/argo", token="skiff_" + "0" * 64), 401, 16)
            expect("other namespace", call(base, "GET", "/api/v1/workflows/prod", token=token), 403, 7,
                   "namespace prod")
            expect("cluster-scoped write", call(base, "POST", "/api/v1/cluster-workflow-templates",
                                                {"template": TEMPLATE}, token=token), 403, 7)
            expect("cluster-scoped read", call(base, "GET", "/api/v1/cluster-workflow-templates", token=token), 200)
            expect("other namespace's cron workflows", call(base, "GET", "/api/v1/cron-workflows/prod", token=token),
                   403, 7, "namespace prod")
            expect("other namespace's templates", call(base, "GET", "/api/v1/workflow-templates/prod", token=token),
                   403, 7, "namespace prod")
            expect("not JSON", call(base, "POST", "/api/v1/workflows/argo", raw=b"{nope", token=token), 400, 3,
                   "not valid JSON at byte 3")
            expect("no workflow", call(base, "POST", "/api/v1/workflows/argo", {"wf": {}}, token=token), 400, 3,
                   'no "workflow" object')
            expect("unknown field", call(base, "POST", "/api/v1/workflows/argo", {"workflow": {
                "metadata": {"name": "x"}, "spec": {"entrypont": "a"}}}, token=token), 400, 3,
                   'did you mean "entrypoint"')
            expect("unknown workflow", call(base, "GET", "/api/v1/workflows/argo/nope", token=token), 404, 5,
                   'workflows.argoproj.io "nope" not found')
            expect("delete unknown", call(base, "DELETE", "/api/v1/workflows/argo/nope", token=token), 404, 5)
            expect("template create", call(base, "POST", "/api/v1/workflow-templates/argo", {"template": TEMPLATE},
                                           token=token), 200)
            expect("template again", call(base, "POST", "/api/v1/workflow-templates/argo", {"template": TEMPLATE},
                                          token=token), 409, 6, 'WorkflowTemplate "t" already exists')
            expect("unknown template", call(base, "GET", "/api/v1/workflow-templates/argo/nope", token=token), 404, 5)
            # Updates are compare-and-swap on metadata.resourceVersion, as on Kubernetes.
            st, read = call(base, "GET", "/api/v1/workflow-templates/argo/t", token=token)
            version = read["metadata"]["resourceVersion"]
            expect("update with the version read", call(base, "PUT", "/api/v1/workflow-templates/argo/t",
                                                        {"template": read}, token=token), 200)
            expect("update with a stale version", call(base, "PUT", "/api/v1/workflow-templates/argo/t",
                                                       {"template": read}, token=token), 409, 10,
                   'Operation cannot be fulfilled on WorkflowTemplate "t": the object has been modified')
            read["metadata"]["resourceVersion"] = "v1"
            expect("a version the server never gave", call(base, "PUT", "/api/v1/workflow-templates/argo/t",
                                                           {"template": read}, token=token), 400, 3,
                   'template.metadata.resourceVersion "v1" is not a version this server gave out')
            del read["metadata"]["resourceVersion"]
            expect("update without a version", call(base, "PUT", "/api/v1/workflow-templates/argo/t",
                                                    {"template": read}, token=token), 200)
            st, now = call(base, "GET", "/api/v1/workflow-templates/argo/t", token=token)
            if int(now["metadata"]["resourceVersion"]) != int(version) + 2:
                failures.append(f"resourceVersion {version} -> {now['metadata']['resourceVersion']} after two updates")
            # A submit reads only the templates the workflow refers to: one stored by an older
            # server that no longer decodes fails its users, by name, and nobody else.
            db = sqlite3.connect(f"{data}/skiff.db", timeout=10)
            db.execute("INSERT INTO objects VALUES ('WorkflowTemplate', 'argo', 'old', ?, 1, 1)", (json.dumps(
                {"metadata": {"name": "old"}, "spec": {"templates": [{"name": "main", "contaner": {}}]}}),))
            db.commit()
            db.close()
            uses = lambda name: {"workflow": {"metadata": {"generateName": "u-"}, "spec": {
                "entrypoint": "a", "workflowTemplateRef": {"name": name}}}}
            expect("a workflow of a good template", call(base, "POST", "/api/v1/workflows/argo/lint", uses("t"),
                                                         token=token), 200)
            expect("a workflow of a template that no longer decodes", call(
                base, "POST", "/api/v1/workflows/argo/lint", uses("old"), token=token), 400, 3,
                   "the stored WorkflowTemplate argo/old no longer decodes")
            expect("bad limit", call(base, "GET", "/api/v1/workflows/argo?listOptions.limit=x", token=token), 400, 3)
            expect("bad selector", call(base, "GET", "/api/v1/workflows/argo?listOptions.labelSelector=a%20in%20b",
                                        token=token), 400, 3, "needs a (list)")
            huge = {"workflow": {"metadata": {"name": "big"}, "spec": {"entrypoint": "a" * (9 << 20)}}}
            st, _ = call(base, "POST", "/api/v1/workflows/argo", huge, token=token)
            if st != 413:
                failures.append(f"a 9 MiB body: got {st}, want 413")
        finally:
            server.send_signal(signal.SIGTERM)
            out, _ = server.communicate(timeout=20)
            if failures:
                print("server output:\n" + out[-2000:])
        refused = subprocess.run([skiff, "server", "--data", data, "--auth-mode", "server", "--host", "0.0.0.0",
                                  "--port", str(free_port()), "--executor", "host"], capture_output=True, text=True,
                                 timeout=20)
        if refused.returncode != 2 or "loopback only" not in refused.stderr:
            failures.append(f"--auth-mode server on 0.0.0.0: exit {refused.returncode}: {refused.stderr}")
    for f in failures:
        print("FAIL:", f)
    print("api-errors: all checks passed" if not failures else f"api-errors: {len(failures)} checks failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
