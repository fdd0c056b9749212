#!/usr/bin/env python3
"""What a namespace full of WorkflowTemplates costs a submit: with TEMPLATES stored (each a
ten-step DAG), lints N workflows that use one of them and prints the time per lint.
A submit decodes only the templates its workflow refers to, so the figure should not grow
with TEMPLATES. Usage: submit_templates.py SKIFF [TEMPLATES=500] [N=200]"""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "clients"))
from skiffserver import Server  # noqa: E402


def template(name):
    tasks = [{"name": f"t{i}", "template": "s", **({"dependencies": [f"t{i - 1}"]} if i else {})} for i in range(10)]
    return {"template": {"metadata": {"name": name}, "spec": {"templates": [
        {"name": "main", "dag": {"tasks": tasks}},
        {"name": "s", "container": {"image": "busybox", "command": ["true"]}}]}}}


def main():
    skiff = sys.argv[1]
    stored = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    with tempfile.TemporaryDirectory(prefix="skiff-bench-") as data:
        srv = Server(skiff, data).start()
        try:
            for i in range(stored):
                st, body = srv.call("POST", "/api/v1/workflow-templates/argo", template(f"t-{i}"))
                assert st == 200, body
            wf = {"workflow": {"metadata": {"generateName": "w-"}, "spec": {
                "entrypoint": "main", "workflowTemplateRef": {"name": "t-0"}}}}
            start = time.monotonic()
            for _ in range(n):
                st, body = srv.call("POST", "/api/v1/workflows/argo/lint", wf)
                assert st == 200, body
            ms = (time.monotonic() - start) * 1000 / n
            print(f"lint of a workflow using 1 of {stored} stored templates: {ms:.2f} ms each ({n} lints)")
        finally:
            srv.stop()


if __name__ == "__main__":
    main()
