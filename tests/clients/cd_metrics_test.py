#!/usr/bin/env python3
"""Argo CD's application metrics on skiff's /metrics, scraped by a real Prometheus (Debian's
prometheus, started by the test on 127.0.0.1) and read back through its query API:
argocd_app_info with the app's sync and health status, argocd_app_sync_total by phase,
the argocd_app_reconcile histogram with Argo CD's buckets, argocd_app_condition.
Exits 77 (skipped) when prometheus is not installed (scripts/install-deps installs it).
Usage: cd_metrics_test.py SKIFF"""
import os
import subprocess
import sys
import tempfile

from cd_test import app, git, until_status, synced, write
import prometheus
from prometheus import query, until_query
from skiffserver import Checks, Server, running

TEMPLATE = """apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: measured}
spec:
  entrypoint: hi
  templates: [{name: hi, container: {image: busybox, command: [echo, hi]}}]
"""


def main():
    if not prometheus.binary():
        print("skipped: prometheus is not installed (scripts/install-deps installs Debian's prometheus)")
        return 77
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="skiff-cd-metrics-") as data:
        repo = f"{data}/repo"
        os.makedirs(repo)
        git(repo, "init", "-q", "-b", "main")
        write(repo, "ok/t.yaml", TEMPLATE)
        git(repo, "add", "-A")
        first = git(repo, "commit", "-q", "-m", "one")

        srv = Server(sys.argv[1], data, "--app-resync", "3600").start()
        prom, base = prometheus.start(data, srv.port)
        with running(check, srv):
            try:
                check("create auto", srv.call("POST", "/api/v1/applications", app("auto", repo, "ok"))[0] == 200)
                check("create broken", srv.call("POST", "/api/v1/applications", app("broken", repo, "nowhere"))[0] == 200)
                until_status(srv, "auto", lambda s: synced(s, first), "Synced")

                info = until_query(base, 'argocd_app_info{name="auto"}',
                                   lambda r: r and r[0]["metric"].get("sync_status") == "Synced", "argocd_app_info Synced")
                m = info[0]["metric"]
                check("app_info labels as Argo CD's",
                      m.get("namespace") == "argocd" and m.get("project") == "default" and m.get("repo") == f"file://{repo}"
                      and m.get("dest_server") == "https://kubernetes.default.svc" and m.get("dest_namespace") == "argo"
                      and m.get("health_status") == "Healthy" and m.get("autosync_enabled") == "true", m)
                synced_total = until_query(base, 'argocd_app_sync_total{name="auto",phase="Succeeded"}',
                                           lambda r: r and float(r[0]["value"][1]) >= 1, "argocd_app_sync_total")
                check("one automated sync counted", float(synced_total[0]["value"][1]) == 1, synced_total)
                buckets = until_query(base, 'argocd_app_reconcile_bucket{namespace="argocd"}', lambda r: len(r) >= 8,
                                      "argocd_app_reconcile buckets")
                les = sorted(float(b["metric"]["le"]) for b in buckets)
                check("Argo CD's reconcile buckets", les == [0.25, 0.5, 1, 2, 4, 8, 16, float("inf")], les)
                count = query(base, 'sum(argocd_app_reconcile_count)')
                check("reconciles counted", count and float(count[0]["value"][1]) >= 2, count)
                cond = until_query(base, 'argocd_app_condition{name="broken"}', lambda r: bool(r), "argocd_app_condition")
                check("the broken app's condition", cond[0]["metric"].get("condition") == "ComparisonError", cond)
                broken = query(base, 'argocd_app_info{name="broken"}')
                check("the broken app is Unknown", broken and broken[0]["metric"].get("sync_status") == "Unknown", broken)

                # A deleted app leaves argocd_app_info at the next scrape.
                srv.call("DELETE", "/api/v1/applications/broken?appNamespace=argocd&cascade=false")
                until_query(base, 'argocd_app_info{name="broken"}', lambda r: not r, "argocd_app_info without the deleted app")
            finally:
                prom.terminate()
                try:
                    prom.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    prom.kill()
                if check.failures:
                    print("prometheus:", open(f"{data}/prometheus.log").read()[-2000:])
    return check.report("server/cd-metrics")


if __name__ == "__main__":
    sys.exit(main())
