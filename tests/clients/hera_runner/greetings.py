"""Functions a Hera script-runner template calls (hera.workflows.runner imports this module)."""
from hera.workflows import Steps, Workflow, script


@script(constructor="runner", image="python:3.11")
def greet(name: str, times: int = 2) -> str:
    return "-".join([f"hello {name}"] * times)


def workflow() -> Workflow:
    with Workflow(name="hera-runner", entrypoint="main") as w:
        with Steps(name="main"):
            greet(name="once", arguments={"name": "skiff", "times": 1})
            greet(name="default", arguments={"name": "argo"})
    return w
