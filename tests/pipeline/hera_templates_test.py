#!/usr/bin/env python3
"""The Hera variant of the pipeline (examples/ci-cd/hera/ci_workflow.py) builds the same
objects as the YAML (examples/ci-cd/*.yaml): each WorkflowTemplate's to_dict() equals the
YAML file's document, and the Workflow it submits is workflow.yaml's plus the arguments
ci-workflow declares. No server is needed.

What is normalised, and why (nothing else is):
- key order, and empty values (None, {}, []) on either side: they mean "not set";
- a gauge's `realtime: false`: Hera's Gauge requires the field, Argo reads a missing one as
  false (the YAML leaves it out).
On a mismatch the diff of both sides is printed. The comparison is checked against altered
copies first, so a normalisation that hid real differences would fail this test too.

Usage: hera_templates_test.py CLIENTS_PYTHON (a python with Hera: .clients/bin/python)
"""
import difflib
import json
import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = f"{ROOT}/examples/ci-cd"

# Run by the python that has Hera: every template's to_dict(), and the Workflow's.
DUMP = """
import json, sys
from types import SimpleNamespace
sys.path.insert(0, sys.argv[1])
import ci_workflow
flags = SimpleNamespace(app_repo="R", git_branch="B", target_branch="T", container_registry="C",
                        container_image="I", app_name="N", app_namespace="S")
print(json.dumps({"templates": {wt.name: wt.to_dict() for wt in ci_workflow.templates()},
                  "workflow": ci_workflow.workflow(flags).to_dict()}))
"""


def normalise(value, key=None):
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = normalise(v, k)
            if v in (None, {}, []):
                continue
            if key == "gauge" and k == "realtime" and v is False:
                continue
            out[k] = v
        return out
    if isinstance(value, list):
        return [normalise(v) for v in value]
    return value


class Dumper(yaml.SafeDumper):
    """Writes scripts and manifests as blocks, so their diff is line by line."""


Dumper.add_representer(str, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None))


def diff(want, got, want_name, got_name):
    """'' when equal after normalising, else a unified diff of the two as YAML."""
    a, b = normalise(want), normalise(got)
    if a == b:
        return ""
    text = [yaml.dump(x, Dumper=Dumper, sort_keys=True, width=1000).splitlines() for x in (a, b)]
    return "\n".join(difflib.unified_diff(text[0], text[1], want_name, got_name, lineterm=""))


def load_yaml(name):
    with open(f"{EXAMPLE}/{name}.yaml") as f:
        return yaml.safe_load(f)


def comparison_can_fail(template):
    """The normalisation must not hide changes that matter: alter copies and expect diffs."""
    problems = []
    altered = json.loads(json.dumps(template))
    altered["spec"]["templates"][0]["metrics"]["prometheus"][0]["gauge"]["realtime"] = True
    if not diff(template, altered, "a", "b"):
        problems.append("a gauge with realtime: true compared equal to one without")
    altered = json.loads(json.dumps(template))
    altered["spec"]["templates"][0]["container"]["image"] += "-other"
    if not diff(template, altered, "a", "b"):
        problems.append("a changed image compared equal")
    altered = json.loads(json.dumps(template))
    altered["spec"]["templates"][0]["container"]["volumeMounts"].reverse()
    if not diff(template, altered, "a", "b"):
        problems.append("reordered volumeMounts compared equal")
    altered = json.loads(json.dumps(template))
    altered["spec"]["templates"][0]["container"]["securityContext"] = {"privileged": False}
    if not diff(template, altered, "a", "b"):
        problems.append("privileged: false compared equal to privileged: true")
    return problems


def main():
    python = sys.argv[1]
    failures = []
    run = subprocess.run([python, "-c", DUMP, f"{EXAMPLE}/hera"], capture_output=True, text=True)
    if run.returncode != 0:
        print(f"FAIL: building the Hera objects:\n{run.stderr[-3000:]}")
        return 1
    built = json.loads(run.stdout)
    templates = built["templates"]

    for problem in comparison_can_fail(load_yaml("container-build")):
        failures.append(f"the comparison itself: {problem}")

    yaml_names = sorted(f[:-5] for f in os.listdir(EXAMPLE) if f.endswith(".yaml") and f != "workflow.yaml")
    if sorted(templates) != yaml_names:
        failures.append(f"Hera builds {sorted(templates)}, the YAML has {yaml_names}")
    for name in yaml_names:
        if name not in templates:
            continue
        d = diff(load_yaml(name), templates[name], f"examples/ci-cd/{name}.yaml", f"hera {name}.to_dict()")
        print(("ok   " if not d else "FAIL ") + f"WorkflowTemplate {name}")
        if d:
            print(d)
            failures.append(name)

    # The Workflow: workflow.yaml plus the arguments (the YAML's are filled in by the submitter)
    # and the namespace; it passes each parameter ci-workflow declares, and no other.
    wf = built["workflow"]
    arguments = wf.get("spec", {}).pop("arguments", {}).get("parameters", [])
    wf.get("metadata", {}).pop("namespace", None)
    d = diff(load_yaml("workflow"), wf, "examples/ci-cd/workflow.yaml", "hera workflow(...).to_dict() less arguments")
    declared = [p["name"] for p in load_yaml("ci-workflow")["spec"]["arguments"]["parameters"]]
    passed = [p["name"] for p in arguments]
    print(("ok   " if not d else "FAIL ") + "Workflow")
    if d:
        print(d)
        failures.append("workflow")
    if passed != declared:
        print(f"FAIL Workflow arguments: passes {passed}, ci-workflow declares {declared}")
        failures.append("workflow arguments")

    for f in failures:
        print("FAIL:", f)
    print("hera templates: all equal" if not failures else f"hera templates: {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
