#!/usr/bin/env python3
"""CronWorkflows on skiff server through `skiff cron ...` and the REST API: one created
with `* * * * *` runs at the next minute (named <cron>-<unix seconds>, labelled, history
kept to the limit), list shows its next run, suspend/resume flip spec.suspend, a quoted
`suspend: "true"` holds one back, a bad schedule is refused with a message, and deleting it deletes its workflows. Waits up to
two minute boundaries. Usage: cron_test.py SKIFF"""
import os
import re
import subprocess
import sys
import tempfile

from skiffserver import Checks, Server, running

CRON = """apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata:
  name: every-minute
spec:
  schedule: "* * * * *"
  timezone: Europe/Paris
  concurrencyPolicy: Forbid
  successfulJobsHistoryLimit: 1
  workflowMetadata:
    labels: {team: night}
  workflowSpec:
    entrypoint: main
    templates:
      - name: main
        container:
          image: busybox
          command: [echo, "scheduled {{workflow.name}}"]
"""

# Quoted, as YAML users write them: the strict decoder takes "true"; so must the controller
# (it once re-read the raw JSON, threw on the string and took the server down).
QUOTED = {"cronWorkflow": {"metadata": {"name": "quoted"}, "spec": {
    "schedule": "* * * * *", "suspend": "true", "workflowSpec": {"entrypoint": "m", "templates": [{"name": "m", "suspend": {}}]}}}}

BAD = {"cronWorkflow": {"metadata": {"name": "bad"}, "spec": {
    "schedule": "61 * * * *", "workflowSpec": {"entrypoint": "m", "templates": [{"name": "m", "suspend": {}}]}}}}


def main():
    skiff = sys.argv[1]
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="skiff-cron-") as data:
        srv = Server(skiff, data).start()
        env = dict(os.environ, ARGO_SERVER=f"127.0.0.1:{srv.port}", ARGO_SECURE="false", ARGO_NAMESPACE="argo")

        def run(*args):
            p = subprocess.run([skiff, *args], capture_output=True, text=True, env=env, timeout=60)
            check(f"skiff {' '.join(args)} exits 0", p.returncode == 0, p.stderr)
            return p.stdout

        with running(check, srv):
            path = os.path.join(data, "cron.yaml")
            with open(path, "w") as f:
                f.write(CRON)
            check("cron create", "created" in run("cron", "create", path))
            listing = run("cron", "list")
            check("cron list shows a next run in the minute",
                  re.search(r"every-minute\s+-\s+\d{4}-\d\d-\d\dT\d\d:\d\d:00Z\s+\* \* \* \* \*\s+Europe/Paris\s+false",
                            listing), listing)
            st, body = srv.call("POST", "/api/v1/cron-workflows/argo", BAD)
            check("a bad schedule is 400 naming the minute", st == 400 and "minute" in body.get("message", ""),
                  f"{st} {body}")
            st, body = srv.call("POST", "/api/v1/cron-workflows/argo", QUOTED)
            check("a quoted suspend is accepted", st == 200, f"{st} {body}")
            srv.until("/api/v1/cron-workflows/argo/quoted", lambda c: c.get("status", {}).get("phase") == "Suspended",
                      timeout=10, what='the controller to read suspend: "true" as suspended')
            sel = "/api/v1/workflows/argo?listOptions.labelSelector=workflows.argoproj.io/cron-workflow%3Devery-minute"
            page = srv.until(sel, lambda p: any(w["status"].get("phase") == "Succeeded" for w in p.get("items") or []),
                             timeout=75, what="a scheduled run to succeed")
            wf = page["items"][0]
            check("named by the scheduled time", re.fullmatch(r"every-minute-\d{10}", wf["metadata"]["name"]),
                  wf["metadata"]["name"])
            check("workflowMetadata labels", wf["metadata"]["labels"].get("team") == "night", wf["metadata"])
            st, cron = srv.call("GET", "/api/v1/cron-workflows/argo/every-minute")
            check("status.lastScheduledTime", re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00Z",
                                                           cron.get("status", {}).get("lastScheduledTime", "")),
                  cron.get("status"))
            # A second run; the first then falls outside successfulJobsHistoryLimit: 1.
            first = wf["metadata"]["name"]
            srv.until(sel, lambda p: [w["metadata"]["name"] for w in p.get("items") or []
                                      if w["status"].get("phase") == "Succeeded"] not in ([], [first]),
                      timeout=75, what="a second scheduled run")
            srv.until(sel, lambda p: first not in [w["metadata"]["name"] for w in p.get("items") or []],
                      timeout=10, what="the history limit to delete the first run")
            check("cron suspend", "suspended" in run("cron", "suspend", "every-minute"))
            st, cron = srv.call("GET", "/api/v1/cron-workflows/argo/every-minute")
            check("suspend sets spec.suspend", cron["spec"].get("suspend") is True, cron["spec"])
            check("cron resume", "resumed" in run("cron", "resume", "every-minute"))
            check("cron delete", "deleted" in run("cron", "delete", "every-minute"))
            srv.until(sel, lambda p: not p.get("items"), timeout=10, what="its workflows to go with it")
            st, _ = srv.call("GET", "/api/v1/cron-workflows/argo/every-minute")
            check("deleted cron is 404", st == 404, st)
    return check.report("cron")


if __name__ == "__main__":
    sys.exit(main())
