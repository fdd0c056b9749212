#!/usr/bin/env bash
# Resource steps: N steps in a row, each creating a ConfigMap, in one run:
#   kubectl       N `kubectl create configmap` on the test cluster: what Argo's executor
#                 runs per resource step (without the Pod each of its steps also costs)
#   skiff-cluster skiff run, the N steps acting on the test cluster (--kubeconfig)
#   skiff-local   skiff run, the N steps on skiff's own ConfigMaps (no cluster)
#   skiff-noop    skiff run, N no-op host steps (the floor of a step)
# Prints seconds, ms per step and the ratio to kubectl.
#   bench/resource_steps.sh [N]      (default 50; starts the test cluster: scripts/k8s-up)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-50}
"$root/scripts/build" >/dev/null
kubeconfig=$("$root/scripts/k8s-up" | tail -1)
kubectl="$(python3 -c 'import json; print(json.load(open("/var/tmp/skiff-k8s/env.json"))["bin"])')/kubectl"
skiff="$root/build/skiff"
work=$(mktemp -d /tmp/skiff-bench.XXXXXX)
ns=bench-$$
trap '"$kubectl" --kubeconfig "$kubeconfig" delete namespace "$ns" --wait=false >/dev/null 2>&1; rm -rf "$work"' EXIT
"$kubectl" --kubeconfig "$kubeconfig" create namespace "$ns" >/dev/null

# workflow FILE TEMPLATE_YAML: N steps in a row calling template "t".
workflow() {
  { echo "apiVersion: argoproj.io/v1alpha1"; echo "kind: Workflow"
    echo "metadata: {name: bench, namespace: $ns}"; echo "spec:"; echo "  entrypoint: main"; echo "  templates:"
    echo "    - name: main"; echo "      steps:"
    for i in $(seq 1 "$n"); do echo "        - - {name: s$i, template: t, arguments: {parameters: [{name: i, value: \"$i\"}]}}"; done
    cat; } > "$1"
}
workflow "$work/resource.yaml" <<'T'
    - name: t
      inputs: {parameters: [{name: i}]}
      resource:
        action: create
        manifest: |
          apiVersion: v1
          kind: ConfigMap
          metadata: {name: "cm-{{inputs.parameters.i}}"}
          data: {i: "{{inputs.parameters.i}}"}
T
workflow "$work/noop.yaml" <<'T'
    - name: t
      inputs: {parameters: [{name: i}]}
      container: {image: busybox, command: ["true"]}
T

seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>"$work/err" || { tail -3 "$work/err"; }; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'; }
kubectl_loop() { for i in $(seq 1 "$n"); do "$kubectl" --kubeconfig "$kubeconfig" -n "$ns" create configmap "k-$i" --from-literal=i="$i"; done; }

k=$(seconds kubectl_loop)
c=$(seconds "$skiff" run "$work/resource.yaml" --executor host --data "$work/d1" --kubeconfig "$kubeconfig" -o name)
l=$(KUBECONFIG= seconds "$skiff" run "$work/resource.yaml" --executor host --data "$work/d2" -o name)
z=$(seconds "$skiff" run "$work/noop.yaml" --executor host --data "$work/d3" -o name)
echo "$n resource steps in a row, each creating a ConfigMap"
echo "  peer            time s  ms/step  vs kubectl"
for row in "kubectl $k" "skiff-cluster $c" "skiff-local $l" "skiff-noop $z"; do
  set -- $row
  awk -v t="$1" -v s="$2" -v n="$n" -v k="$k" 'BEGIN { printf "  %-14s %7.2f %8.1f   %.2fx\n", t, s, s * 1000 / n, s / k }'
done
