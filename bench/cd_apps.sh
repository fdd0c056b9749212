#!/usr/bin/env bash
# 1,000 Argo CD Applications of 10 resources each under one skiff server: the time of a full
# reconcile round, push webhook to Synced+Healthy, peak memory (bench/cd_apps.py says how).
#   bench/cd_apps.sh [--apps N] [--resources R] [--source file|https|both]
#                    [--kind template|deployment] [--dest local|cluster]
# --kind deployment: Deployments on this machine's destination (when the server has one);
# --dest cluster: ConfigMaps on the test cluster (scripts/k8s-up; skipped when it is not up).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
skiff="${SKIFF:-$here/../build/skiff}"
[ -x "$skiff" ] || { echo "cd_apps: build skiff first ($skiff)" >&2; exit 1; }
exec python3 "$here/cd_apps.py" "$skiff" "$@"
