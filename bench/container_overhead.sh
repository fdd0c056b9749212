#!/usr/bin/env bash
# Container-step overhead: a chain of N steps, each `true` in busybox, run by
# `skiff run --executor container` against `runc run` of the same rootfs N times in a row
# (and --executor host for reference), in one run; then the cost of a warm image pull.
#   bench/container_overhead.sh [N]   (default 100)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-100}
"$root/scripts/install-deps" >/dev/null
"$root/scripts/build" >/dev/null
work=$(mktemp -d /tmp/skiff-bench.XXXXXX)
reg="$work/registry"
trap 'python3 "$root/tests/registry/registry.py" stop "$reg"; rm -rf "$work"' EXIT
python3 "$root/tests/registry/registry.py" start "$reg" >/dev/null
skiff="$root/build/skiff"
flags=(--data "$work/data" --registries "$reg/registries.yaml" --registry-config "$reg/config.json")
"$skiff" image pull "${flags[@]}" busybox:1.36 >/dev/null

now() { date +%s.%N; }
ms_per() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.1f", (b - a) * 1000 / n }'; }

# The chain: step i waits for step i-1.
python3 - "$n" > "$work/chain.yaml" <<'PY'
import sys
n = int(sys.argv[1])
print("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: chain}\nspec:\n  entrypoint: main\n  templates:")
print("  - name: main\n    dag:\n      tasks:")
for i in range(n):
    dep = f", dependencies: [s{i-1}]" if i else ""
    print(f"      - {{name: s{i}, template: t{dep}}}")
print("  - name: t\n    container: {image: 'busybox:1.36', command: ['true']}")
PY

# Raw runc: the same unpacked layer as a read-only rootfs, runc's default config running true.
layer=$(ls -d "$work"/data/images/layers/* | head -1)
mkdir -p "$work/bundle" && cd "$work/bundle" && runc spec
python3 - "$layer" <<'PY'
import json, sys
c = json.load(open("config.json"))
c["root"] = {"path": sys.argv[1], "readonly": True}
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
json.dump(c, open("config.json", "w"))
PY
t0=$(now)
for i in $(seq "$n"); do runc run --bundle "$work/bundle" "bench-$i" >/dev/null; done
t1=$(now)
raw=$(ms_per "$t0" "$t1" "$n")

t0=$(now)
"$skiff" run "$work/chain.yaml" --executor container "${flags[@]}" -o name >/dev/null
t1=$(now)
container=$(ms_per "$t0" "$t1" "$n")

t0=$(now)
"$skiff" run "$work/chain.yaml" --executor host --data "$work/data" -o name >/dev/null
t1=$(now)
host=$(ms_per "$t0" "$t1" "$n")

echo "chain of $n steps, ms per step (lower is better)"
printf "  %-34s %8s ms\n" "runc run (same rootfs, no skiff)" "$raw"
printf "  %-34s %8s ms   %sx raw runc\n" "skiff --executor container" "$container" \
  "$(awk -v a="$container" -v b="$raw" 'BEGIN { printf "%.2f", a / b }')"
printf "  %-34s %8s ms\n" "skiff --executor host" "$host"

# Pulls: cold (empty store) against warm (every layer present: one manifest request).
t0=$(now); "$skiff" image pull --data "$work/cold" "${flags[@]:2}" busybox:1.36 >/dev/null; t1=$(now)
cold=$(ms_per "$t0" "$t1" 1)
t0=$(now); for i in 1 2 3 4 5; do "$skiff" image pull "${flags[@]}" busybox:1.36 >/dev/null; done; t1=$(now)
warm=$(ms_per "$t0" "$t1" 5)
echo "image pull of busybox:1.36 (1 MB) from a local TLS registry"
printf "  %-34s %8s ms\n" "cold (empty store)" "$cold" "warm (already stored)" "$warm"
