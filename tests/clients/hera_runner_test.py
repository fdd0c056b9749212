#!/usr/bin/env python3
"""A Hera script-runner template (`python -m hera.workflows.runner`, which reads
{{inputs.parameters}} as Argo's JSON list of {name, value, default}) runs under
`skiff run --executor host`: the step finds the user's python on the inherited PATH and
the function gets its arguments, a default included.
Usage: hera_runner_test.py SKIFF (run with the test clients' python, which has Hera)."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "hera_runner"))

import greetings  # noqa: E402


def main():
    skiff = sys.argv[1]
    # A host step sees a private /tmp: a checkout or a python under /tmp is out of its sight.
    for where in (HERE, sys.executable):
        if os.path.realpath(where).startswith("/tmp/"):
            print(f"skipped: {where} is under /tmp, which host steps see as their own private /tmp")
            return 77
    doc = greetings.workflow().to_dict()
    # The step runs the runner module from the tests' directory, with this python's packages.
    for t in doc["spec"]["templates"]:
        if "script" in t:
            t["script"].setdefault("env", []).append({"name": "PYTHONPATH", "value": os.path.join(HERE, "hera_runner")})
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + ":" + os.environ.get("PATH", ""))
    with tempfile.TemporaryDirectory(prefix="skiff-hera-runner-") as data:
        path = os.path.join(data, "wf.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        done = subprocess.run([skiff, "run", path, "--executor", "host", "--data", data, "-o", "json"],
                              capture_output=True, text=True, timeout=120, env=env, cwd=data)
    try:
        wf = json.loads(done.stdout)
    except ValueError:
        print(f"FAIL: skiff run printed no JSON (exit {done.returncode}): {done.stderr[-2000:]}")
        return 1
    results = {n["displayName"]: n.get("outputs", {}).get("result") for n in wf["status"]["nodes"].values()
               if n["type"] == "Pod"}
    messages = {n["displayName"]: n.get("message") for n in wf["status"]["nodes"].values()}
    want = {"once": "hello skiff", "default": "hello argo-hello argo"}
    if wf["status"]["phase"] != "Succeeded" or results != want:
        print(f"FAIL: phase {wf['status']['phase']}, results {results}, want {want}; messages {messages}")
        return 1
    print("hera-runner: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
