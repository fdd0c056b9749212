#!/usr/bin/env python3
"""skiff's argo-style client commands against skiff server over HTTPS with a token taken
from the environment, as the argo CLI is used: ARGO_SERVER, ARGO_TOKEN, ARGO_NAMESPACE,
ARGO_INSECURE_SKIP_VERIFY. Usage: cli_client_test.py SKIFF_BINARY SOURCE_DIR"""
import json
import os
import signal
import subprocess
import sys
import tempfile

from skiffserver import free_port, wait_port



def main():
    skiff, src = sys.argv[1], sys.argv[2]
    failures = []
    with tempfile.TemporaryDirectory(prefix="skiff-cli-") as data:
        port = free_port()
        token = subprocess.run([skiff, "token", "create", "-n", "argo", "--data", data], check=True,
                               capture_output=True, text=True).stdout.strip()
        server = subprocess.Popen([skiff, "server", "--data", data, "--port", str(port), "--executor", "host",
                                   "--secure"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        env = dict(os.environ, ARGO_SERVER=f"127.0.0.1:{port}", ARGO_TOKEN=token, ARGO_NAMESPACE="argo",
                   ARGO_INSECURE_SKIP_VERIFY="true")

        def run(*args, expect=0, stdout_only=False):
            p = subprocess.run([skiff, *args], capture_output=True, text=True, env=env, timeout=60)
            if p.returncode != expect:
                failures.append(f"skiff {' '.join(args)}: exit {p.returncode}, want {expect}\n{p.stderr}")
            return p.stdout if stdout_only else p.stdout + p.stderr

        try:
            wait_port(port)
            out = run("template", "create", f"{src}/tests/workflows/refs/ci-pipeline.yaml")
            if out.count("created") != 4:
                failures.append(f"template create (four templates that refer to each other): {out}")
            if "ci-pipeline" not in run("template", "list"):
                failures.append("template list lacks ci-pipeline")
            out = run("submit", "--from", "workflowtemplate/ci-pipeline", "-p", "app_repo=demo", "-p", "git_branch=f",
                      "-p", "target_branch=main", "-p", "container_image=i", "-p", "container_tag=t", "--watch",
                      "-o", "json", stdout_only=True)
            wf = json.loads(out)
            if wf["status"]["phase"] != "Succeeded":
                failures.append(f"submit --from --watch: {wf['status']}")
            name = wf["metadata"]["name"]
            out = run("submit", f"{src}/tests/workflows/basic/hello.yaml", "--log")
            if "hello skiff" not in out:
                failures.append(f"submit --log shows no log line: {out}")
            listed = run("list")
            if name not in listed or "hello" not in listed or "Succeeded" not in listed:
                failures.append(f"list: {listed}")
            got = json.loads(run("get", name, "-o", "json", stdout_only=True))
            if len(got["status"]["nodes"]) != 6:
                failures.append(f"get -o json: {len(got['status']['nodes'])} nodes")
            if "checked out f at" not in run("logs", name):
                failures.append("logs lacks the checkout step's line")
            run("delete", "hello")
            if "not found" not in run("get", "hello", expect=1):
                failures.append("get after delete")
            if "Bearer" not in subprocess.run([skiff, "list"], capture_output=True, text=True,
                                             env=dict(env, ARGO_TOKEN="")).stderr:
                failures.append("list without a token did not say a token is needed")
        finally:
            server.send_signal(signal.SIGTERM)
            out, _ = server.communicate(timeout=30)
            if failures:
                print("server output:\n" + out[-2000:])
    for f in failures:
        print("FAIL:", f)
    print("cli-client: all checks passed" if not failures else f"cli-client: {len(failures)} checks failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
