#!/usr/bin/env python3
"""The Hera SDK, unchanged, against `skiff server`: the reference project's style, over
HTTPS with a self-signed certificate and a Bearer token, as the reference setup reaches
Argo Server.

WorkflowTemplates are created with an AlreadyExists -> update fallback (run twice, so both
paths run), then a Workflow that names one with workflow_template_ref is created, waited
for, and its link taken. Usage: hera_test.py SKIFF_BINARY
"""
import signal
import subprocess
import sys
import tempfile
import warnings

from hera.exceptions import AlreadyExists, NotFound
from hera.workflows import DAG, Container, Parameter, Workflow, WorkflowTemplate, WorkflowsService
from hera.workflows.models import WorkflowTemplateRef

from skiffserver import free_port, wait_port


# The server's certificate is self-signed (verify_ssl=False, as the reference setup does).
warnings.filterwarnings("ignore", message="Unverified HTTPS request")



def templates(ws):
    """Two WorkflowTemplates, as the reference project keeps its steps."""
    with WorkflowTemplate(name="greet-steps", namespace="argo", workflows_service=ws) as steps:
        Container(name="greet", image="busybox", inputs=[Parameter(name="who")],
                  command=["sh", "-c"], args=["echo hello {{inputs.parameters.who}}"])
    with WorkflowTemplate(name="greet-pipeline", namespace="argo", entrypoint="main", workflows_service=ws,
                          arguments=[Parameter(name="who", value="world")]) as pipeline:
        from hera.workflows.models import TemplateRef
        with DAG(name="main"):
            from hera.workflows import Task
            Task(name="first", template_ref=TemplateRef(name="greet-steps", template="greet"),
                 arguments=[Parameter(name="who", value="{{workflow.parameters.who}}")])
            Task(name="second", template_ref=TemplateRef(name="greet-steps", template="greet"),
                 arguments=[Parameter(name="who", value="again")], dependencies=["first"])
    return [steps, pipeline]


def create_or_update(wt):
    try:
        wt.create()
        return "created"
    except AlreadyExists:
        wt.update()
        return "updated"


def main():
    skiff = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory(prefix="skiff-hera-") as data:
        port = free_port()
        token = subprocess.run([skiff, "token", "create", "--namespace", "argo", "--data", data], check=True,
                               capture_output=True, text=True).stdout.strip()
        server = subprocess.Popen([skiff, "server", "--data", data, "--port", str(port), "--executor", "host",
                                   "--secure"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            host = f"https://127.0.0.1:{port}"
            wait_port(port)
            ws = WorkflowsService(host=host, namespace="argo", verify_ssl=False, token=token)
            for round_, want in ((1, "created"), (2, "updated")):
                for wt in templates(ws):
                    got = create_or_update(wt)
                    if got != want:
                        failures.append(f"round {round_}: {wt.name} was {got}, want {want}")
            wf = Workflow(generate_name="hera-", namespace="argo", workflows_service=ws,
                          workflow_template_ref=WorkflowTemplateRef(name="greet-pipeline"),
                          arguments=[Parameter(name="who", value="skiff")])
            created = wf.create()
            name = created.metadata.name
            if not name or not name.startswith("hera-"):
                failures.append(f"created workflow has name {name!r}")
            wf.name = name
            done = wf.wait(poll_interval=0.2)
            if done.status.phase != "Succeeded":
                failures.append(f"workflow ended {done.status.phase}: {done.status.message}")
            results = sorted(n.outputs.result for n in done.status.nodes.values()
                             if n.type == "Pod" and n.outputs and n.outputs.result)
            if results != ["hello again", "hello skiff"]:
                failures.append(f"pod results {results}")
            link = wf.get_workflow_link()
            if link != f"{host}/workflows/argo/{name}?tab=workflow":
                failures.append(f"link {link}")
            try:
                ws.get_workflow(name="no-such-workflow", namespace="argo")
                failures.append("getting a missing workflow did not raise NotFound")
            except NotFound:
                pass
        except Exception as e:  # report, with the server's output below
            failures.append(f"{type(e).__name__}: {e}")
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                out, _ = server.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                out, _ = server.communicate()
                failures.append("the server did not stop within 20 s of SIGTERM")
            if failures:
                print("server output:\n" + out[-3000:])
    for f in failures:
        print("FAIL:", f)
    print("hera: all checks passed" if not failures else f"hera: {len(failures)} checks failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
