#!/usr/bin/env python3
"""The real argo CLI (built from its Go module by scripts/install-test-clients) against
skiff server over HTTPS with a token, in its REST mode (ARGO_HTTP1=true): submit --watch,
list, get -o json, logs, template create/list, submit --from --watch, delete, node set,
resume, wait, cron create/list/suspend/get/resume/delete. Exits 77 (skipped)
when the CLI could not be built here. Usage: argo_cli_test.py SKIFF ARGO SOURCE_DIR"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from skiffserver import free_port, wait_port


APPROVAL = """apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: approval}
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - [{name: approve, template: ask}]
        - [{name: use, template: echo, arguments: {parameters: [{name: v, value: "{{steps.approve.outputs.parameters.answer}}"}]}}]
    - name: ask
      suspend: {}
      outputs: {parameters: [{name: answer, valueFrom: {supplied: {}}}]}
    - name: echo
      inputs: {parameters: [{name: v}]}
      container: {image: busybox, command: [echo, "answer={{inputs.parameters.v}}"]}
"""

CRON = """apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  timezone: Europe/Paris
  workflowSpec:
    entrypoint: main
    templates: [{name: main, container: {image: busybox, command: ["true"]}}]
"""



def main():
    skiff, argo, src = sys.argv[1], sys.argv[2], sys.argv[3]
    if not os.access(argo, os.X_OK):
        print(f"no argo CLI at {argo} (scripts/install-test-clients builds it): skipped")
        sys.exit(77)
    failures = []
    with tempfile.TemporaryDirectory(prefix="skiff-argo-") as data:
        port = free_port()
        token = subprocess.run([skiff, "token", "create", "-n", "argo", "--data", data], check=True,
                               capture_output=True, text=True).stdout.strip()
        server = subprocess.Popen([skiff, "server", "--data", data, "--port", str(port), "--executor", "host",
                                   "--secure"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        env = dict(os.environ, ARGO_SERVER=f"127.0.0.1:{port}", ARGO_HTTP1="true", ARGO_SECURE="true",
                   ARGO_INSECURE_SKIP_VERIFY="true", ARGO_TOKEN="Bearer " + token, ARGO_NAMESPACE="argo")

        def run(*args, expect=0):
            p = subprocess.run([argo, *args, "-n", "argo"], capture_output=True, text=True, env=env, timeout=90)
            if p.returncode != expect:
                failures.append(f"argo {' '.join(args)}: exit {p.returncode}, want {expect}\n{p.stdout}{p.stderr}")
            return p.stdout

        try:
            wait_port(port)
            out = run("submit", f"{src}/tests/workflows/basic/hello.yaml", "--watch")
            if "Succeeded" not in out:
                failures.append(f"submit --watch: {out}")
            if "hello" not in run("list"):
                failures.append("list lacks hello")
            wf = json.loads(run("get", "hello", "-o", "json"))
            if wf["status"]["phase"] != "Succeeded":
                failures.append(f"get: {wf['status']}")
            if "hello skiff" not in run("logs", "hello"):
                failures.append("logs lacks the step's line")
            run("template", "create", f"{src}/tests/clients/greet-template.yaml")
            if "greet" not in run("template", "list"):
                failures.append("template list lacks greet")
            out = run("submit", "--from", "workflowtemplate/greet", "-p", "who=argo-cli", "--watch")
            if "Succeeded" not in out:
                failures.append(f"submit --from --watch: {out}")
            run("delete", "hello")
            run("get", "hello", expect=1)

            # An approval: suspend node set and resumed by the CLI.
            approval = os.path.join(data, "approval.yaml")
            with open(approval, "w") as f:
                f.write(APPROVAL)
            run("submit", approval)
            for _ in range(100):
                if '"phase":"Running"' in run("get", "approval", "-o", "json").replace(" ", ""):
                    break
                time.sleep(0.1)
            run("node", "set", "approval", "--output-parameter", "answer=yes",
                "--node-field-selector", "displayName=approve")
            run("resume", "approval")
            out = run("wait", "approval")
            wf = json.loads(run("get", "approval", "-o", "json"))
            use = [n for n in wf["status"]["nodes"].values() if n["displayName"] == "use"]
            if wf["status"]["phase"] != "Succeeded" or not use or use[0]["outputs"].get("result") != "answer=yes":
                failures.append(f"node set + resume: {wf['status']}")

            cron = os.path.join(data, "cron.yaml")
            with open(cron, "w") as f:
                f.write(CRON)
            run("cron", "create", cron)
            if "nightly" not in run("cron", "list"):
                failures.append("cron list lacks nightly")
            run("cron", "suspend", "nightly")
            got = json.loads(run("cron", "get", "nightly", "-o", "json"))
            if got["spec"].get("suspend") is not True:
                failures.append(f"cron suspend: {got['spec']}")
            run("cron", "resume", "nightly")
            run("cron", "delete", "nightly")
        finally:
            server.send_signal(signal.SIGTERM)
            out, _ = server.communicate(timeout=30)
            if failures:
                print("server output:\n" + out[-2000:])
    for f in failures:
        print("FAIL:", f)
    print("argo-cli: all checks passed" if not failures else f"argo-cli: {len(failures)} checks failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
