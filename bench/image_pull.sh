#!/usr/bin/env bash
# Image pulls from the local TLS test registry, for one or more skiff binaries in one run
# (e.g. this build against another branch's): cold (empty store: manifest, config and
# layers) and warm (every layer stored: one manifest request), ms per pull.
#   bench/image_pull.sh [SKIFF...]   (default build/skiff)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
binaries=("$@")
[ ${#binaries[@]} -gt 0 ] || binaries=("$root/build/skiff")
work=$(mktemp -d /tmp/skiff-bench.XXXXXX)
reg="$work/registry"
trap 'python3 "$root/tests/registry/registry.py" stop "$reg" >/dev/null; rm -rf "$work"' EXIT
python3 "$root/tests/registry/registry.py" start "$reg" >/dev/null
flags=(--registries "$reg/registries.yaml" --registry-config "$reg/config.json")
images=(busybox:1.36 skiff-test/layers:1)
rounds=${ROUNDS:-10}

now() { date +%s.%N; }
ms_per() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.1f", (b - a) * 1000 / n }'; }

echo "image pull of ${images[*]} from a local TLS registry (basic auth), ms per pull of both, $rounds rounds"
for skiff in "${binaries[@]}"; do
  t0=$(now)
  for i in $(seq "$rounds"); do "$skiff" image pull --data "$work/cold-$i" "${flags[@]}" "${images[@]}" >/dev/null; done
  t1=$(now)
  cold=$(ms_per "$t0" "$t1" "$rounds")
  t0=$(now)
  for i in $(seq "$rounds"); do "$skiff" image pull --data "$work/cold-1" "${flags[@]}" "${images[@]}" >/dev/null; done
  t1=$(now)
  warm=$(ms_per "$t0" "$t1" "$rounds")
  rm -rf "$work"/cold-*
  printf "  %-40s cold %7s ms   warm %7s ms\n" "$skiff" "$cold" "$warm"
done
