#!/usr/bin/env python3
"""GET /metrics read by Prometheus' own text-format parser (prometheus-client from PyPI):
the metrics a template declares in the reference style (exec_duration_gauge by name,
result_counter by status with `when`), a workflow-level metric, and the controller's
figures. Usage: metrics_test.py SKIFF (run with the .clients python)."""
import sys
import tempfile
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from skiffserver import Checks, Server, running


def step(name, command):
    return {"name": name, "container": {"image": "busybox", "command": ["sh", "-c", command]},
            "metrics": {"prometheus": [
                {"name": "exec_duration_gauge", "help": "Duration gauge by name",
                 "labels": [{"key": "name", "value": name}], "gauge": {"value": "{{duration}}", "realtime": False}},
                {"name": "result_counter", "help": "Count of step execution by result status",
                 "labels": [{"key": "status", "value": "Failed"}], "when": "{{status}} == Failed",
                 "counter": {"value": "1"}},
                {"name": "result_counter", "help": "Count of step execution by result status",
                 "labels": [{"key": "status", "value": "Succeeded"}], "when": "{{status}} == Succeeded",
                 "counter": {"value": "1"}}]}}


WORKFLOW = {"workflow": {"metadata": {"generateName": "measured-"}, "spec": {
    "entrypoint": "main",
    "metrics": {"prometheus": [{"name": "workflow_result", "help": "Workflows by end phase",
                                "labels": [{"key": "phase", "value": "{{workflow.status}}"}],
                                "counter": {"value": "1"}}]},
    "templates": [
        {"name": "main", "dag": {"tasks": [
            {"name": "ok", "template": "ok"},
            {"name": "slow", "template": "slow"},
            {"name": "broken", "template": "broken"}]}},
        step("ok", "true"), step("slow", "sleep 0.3"), step("broken", "exit 3")]}}}


def scrape(srv):
    with urllib.request.urlopen(srv.base + "/metrics", timeout=10) as r:
        check_type = r.headers.get("Content-Type", "")
        return check_type, r.read().decode()


def main():
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="skiff-metrics-") as data:
        srv = Server(sys.argv[1], data).start()
        with running(check, srv):
            for _ in range(2):
                st, wf = srv.call("POST", "/api/v1/workflows/argo", WORKFLOW)
                check("submit", st == 200, wf)
                srv.wait("argo", wf["metadata"]["name"])
            ctype, text = scrape(srv)
            check("content type", ctype.startswith("text/plain; version=0.0.4"), ctype)
            samples = {}
            for family in text_string_to_metric_families(text):
                for s in family.samples:
                    samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
            check("result_counter{status=Failed} counts the failing step twice",
                  samples.get(("argo_workflows_result_counter_total", (("status", "Failed"),))) == 2
                  or samples.get(("argo_workflows_result_counter", (("status", "Failed"),))) == 2, text)
            ok_count = samples.get(("argo_workflows_result_counter_total", (("status", "Succeeded"),)),
                                   samples.get(("argo_workflows_result_counter", (("status", "Succeeded"),))))
            check("result_counter{status=Succeeded} counts the two good steps of two runs", ok_count == 4, ok_count)
            slow = samples.get(("argo_workflows_exec_duration_gauge", (("name", "slow"),)))
            check("exec_duration_gauge{name=slow} is its duration in seconds", slow is not None and 0.25 <= slow < 5, slow)
            failed_runs = samples.get(("argo_workflows_workflow_result_total", (("phase", "Failed"),)),
                                      samples.get(("argo_workflows_workflow_result", (("phase", "Failed"),))))
            check("workflow-level metric with {{workflow.status}}", failed_runs == 2, failed_runs)
            check("workflows by phase", samples.get(("argo_workflows_gauge", (("phase", "Failed"),))) == 2, text)
            started = samples.get(("skiff_steps_started_total", ()), samples.get(("skiff_steps_started", ())))
            check("steps started", started == 6, started)
            check("operation latency histogram",
                  any(k[0] == "argo_workflows_operation_duration_seconds_count" and v > 0 for k, v in samples.items()))
            check("API request counts",
                  any(k[0].startswith("skiff_api_requests") and ("method", "POST") in k[1] for k in samples), text)
            st, body = srv.call("GET", "/metrics", raw=True)
            check("metrics text has HELP lines", "# HELP argo_workflows_result_counter" in body)
    return check.report("metrics")


if __name__ == "__main__":
    sys.exit(main())
