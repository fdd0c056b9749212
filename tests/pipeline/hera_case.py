"""The pipeline's Hera variant end to end: examples/ci-cd/hera/ci_workflow.py, run with the
Hera of .clients against the server `pipeline.py up` started, as a Python user runs it.

    hera(env, check)   env: pipeline.up's (or pipeline.load's); check(what, ok, detail)

It deletes the six WorkflowTemplates `up` created from the YAML, so the first run creates
them from Python and the second updates them (AlreadyExists -> update). The first run finds
the server through ARGO_SERVER/ARGO_SECURE/ARGO_NAMESPACE, the second through flags. Each
run deploys the `hera-app` Application (namespace hera-app) from the branch feature-1; the
Application is deleted between them, as deploy-application creates it. Then the templates
the server holds are compared with the YAML. Returns False when
it could not run (no .clients), True otherwise; failures go to check().
"""
import os
import re
import subprocess
import time

import hera_templates_test
import pipeline

SCRIPT = f"{pipeline.ROOT}/examples/ci-cd/hera/ci_workflow.py"
PYTHON = f"{pipeline.ROOT}/.clients/bin/python"
APP = "hera-app"


def run_script(env, via_env):
    args = [PYTHON, SCRIPT, "--app-repo", env["app_repo"], "--git-branch", "feature-1",
            "--container-registry", env["registry"], "--app-name", APP, "--app-namespace", APP]
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("ARGO_")}
    if via_env:
        child_env.update(ARGO_SERVER=env["base"].removeprefix("http://"), ARGO_SECURE="false",
                         ARGO_NAMESPACE=pipeline.NAMESPACE)
    else:
        args += ["--server", env["base"], "--namespace", pipeline.NAMESPACE]
    return subprocess.run(args, env=child_env, capture_output=True, text=True, timeout=600)


def until_gone(env, path, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pipeline.call(env["base"], "GET", path)[0] == 404:
            return True
        time.sleep(0.25)
    return False


def one_run(env, check, label, via_env, want):
    t = time.monotonic()
    out = run_script(env, via_env)
    text = out.stdout + out.stderr
    print(f"     hera {label}: exit {out.returncode} in {time.monotonic() - t:.1f} s", flush=True)
    check(f"hera {label}: ci_workflow.py exited 0", out.returncode == 0, text[-3000:])
    done = dict(re.findall(r"^WorkflowTemplate (\S+): (\w+)$", out.stdout, re.M))
    check(f"hera {label}: the six WorkflowTemplates were {want}",
          sorted(done) == sorted(pipeline.TEMPLATES) and set(done.values()) == {want}, done or text[-2000:])
    m = re.search(r"^Workflow (\S+): submitted$", out.stdout, re.M)
    check(f"hera {label}: a Workflow was submitted", m is not None, text[-2000:])
    if m is None:
        return
    name = m.group(1)
    st, wf = pipeline.call(env["base"], "GET", f"/api/v1/workflows/{pipeline.NAMESPACE}/{name}")
    phase = wf.get("status", {}).get("phase")
    check(f"hera {label}: {name} Succeeded", st == 200 and phase == "Succeeded",
          f"HTTP {st}, " + ", ".join(f"{s}={n.get('phase')} {n.get('message', '')}"
                                     for s, n in pipeline.step_nodes(wf).items()))
    check(f"hera {label}: it names ci-workflow by workflowTemplateRef",
          wf.get("spec", {}).get("workflowTemplateRef", {}).get("name") == "ci-workflow", wf.get("spec"))
    check(f"hera {label}: the script printed the phase", f"Workflow {name}: Succeeded" in out.stdout, out.stdout)
    link = re.search(r"^Workflow link: (\S+)$", out.stdout, re.M)
    want_link = f"{env['base']}/workflows/{pipeline.NAMESPACE}/{name}?tab=workflow"
    check(f"hera {label}: the printed link is the workflow's UI link", link and link.group(1) == want_link,
          f"{link.group(1) if link else None} != {want_link}")
    try:
        ui = pipeline.fetch(want_link)
    except OSError as e:
        ui = f"error: {e}"
    check(f"hera {label}: the link answers with the UI", "<html" in ui.lower(), ui[:300])
    url = pipeline.page_of(env, APP)
    try:
        page = pipeline.fetch(url) if url else ""
    except OSError as e:
        page = f"error: {e}"
    check(f"hera {label}: the page at the Application's externalURL names {name}", name in page,
          f"{url}: {page[:500]}")


def stored_as_yaml(env, check):
    """What the server holds after Hera's create and update is what the YAML says."""
    for name in pipeline.TEMPLATES:
        st, doc = pipeline.call(env["base"], "GET", f"/api/v1/workflow-templates/{pipeline.NAMESPACE}/{name}")
        doc["metadata"] = {"name": doc.get("metadata", {}).get("name")}
        doc.setdefault("apiVersion", "argoproj.io/v1alpha1")
        doc.setdefault("kind", "WorkflowTemplate")
        d = hera_templates_test.diff(hera_templates_test.load_yaml(name), doc, f"{name}.yaml", "stored")
        check(f"hera: the server's {name} is the YAML's", st == 200 and not d, f"HTTP {st}\n{d}")


def hera(env, check):
    if not os.access(PYTHON, os.X_OK):
        print("skip hera: no .clients (scripts/install-test-clients)", flush=True)
        return False
    # The first run must create the templates, so the ones `up` made from the YAML go.
    for name in pipeline.TEMPLATES:
        pipeline.call(env["base"], "DELETE", f"/api/v1/workflow-templates/{pipeline.NAMESPACE}/{name}")
    one_run(env, check, "run 1", via_env=True, want="created")
    app_path = f"/api/v1/applications/{APP}?appNamespace=argocd"
    pipeline.call(env["base"], "DELETE", app_path)
    check("hera: the first run's Application is deleted before the second", until_gone(env, app_path))
    one_run(env, check, "run 2", via_env=False, want="updated")
    stored_as_yaml(env, check)
    return True
