#!/usr/bin/env bash
# DAG overhead: skiff run against make -j2, ninja -j2, snakemake -j2 and raw fork/exec on the
# same layered DAG of no-op steps, in one run; prints times, peak memory and ratios to make.
#   bench/dag_overhead.sh [--full] [--big]
#     --full  also runs snakemake at 10,000 nodes (slow)
#     --big   also runs skiff alone on a 100,000-node DAG
#   SKIFF_BASELINE=/path/to/an/older/skiff adds it as a peer (rows "skiff-base"), to compare
#   two builds on the same work in the same run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
SKIFF_BENCH_DEPS=1 "$root/scripts/install-deps" >/dev/null
"$root/scripts/build" >/dev/null
full=0; big=0
for a in "$@"; do case $a in --full) full=1 ;; --big) big=1 ;; esac; done
work=$(mktemp -d /tmp/skiff-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/floor" "$root/bench/floor.c"
skiff="$root/build/skiff"
base=${SKIFF_BASELINE:-}

# measure NAME DIR CMD...: wall seconds and peak RSS (MB) of CMD run in DIR.
measure() {
  local dir=$1; shift
  ( cd "$dir" && /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" ) ||
    { echo "  failed: $* (see below)"; tail -5 "$work/err"; echo "0 0" > "$work/time"; }
  read -r secs kb < "$work/time"
  echo "$secs $((kb / 1024))"
}

row() {  # row TOOL N SECS MB MAKE_SECS
  local ratio="-"
  [ "$5" != "0" ] && ratio=$(awk -v a="$3" -v b="$5" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')
  awk -v t="$1" -v n="$2" -v s="$3" -v m="$4" -v r="$ratio" \
    'BEGIN { printf "  %-10s %7d %9.2f %9.3f %8d   %s\n", t, n, s, (n ? s * 1000 / n : 0), m, r }'
}

echo "layered DAG of no-op steps (width 100, each node depends on 2 of the previous layer), 2 jobs at a time"
echo "  tool             N    time s   ms/node  peak MB   vs make"
for n in 1000 10000; do
  d="$work/dag$n"; python3 "$root/bench/gen_dag.py" "$n" 100 "$d"
  read -r make_s make_mb < <(measure "$d" make -s -j2 -f Makefile all)
  row make "$n" "$make_s" "$make_mb" "$make_s"
  read -r s mb < <(measure "$d" ninja -j2 -f build.ninja); row ninja "$n" "$s" "$mb" "$make_s"
  if [ "$n" -le 1000 ] || [ $full = 1 ]; then
    if command -v snakemake >/dev/null; then
      read -r s mb < <(measure "$d" snakemake -j2 -q --nolock -s Snakefile); row snakemake "$n" "$s" "$mb" "$make_s"
    fi
  fi
  read -r s mb < <(measure "$d" "$work/floor" "$n" 2); row fork/exec "$n" "$s" "$mb" "$make_s"
  read -r s mb < <(measure "$d" "$skiff" run dag.yaml --executor host -o name --data "$work/data"); row skiff "$n" "$s" "$mb" "$make_s"
  if [ -n "$base" ]; then
    read -r s mb < <(measure "$d" "$base" run dag.yaml --executor host -o name --data "$work/data"); row skiff-base "$n" "$s" "$mb" "$make_s"
  fi
done
if [ $big = 1 ]; then
  d="$work/dag100000"; python3 "$root/bench/gen_dag.py" 100000 100 "$d"
  read -r s mb < <(measure "$d" "$skiff" run dag.yaml --executor host -o name --data "$work/data"); row skiff 100000 "$s" "$mb" 0
fi

echo
echo "chain of 300 no-op steps: time per step, minus a sequential fork/exec of true (the floor)"
d="$work/chain"; python3 "$root/bench/gen_dag.py" 300 1 "$d" --chain
read -r floor_s _ < <(measure "$d" "$work/floor" 300 1)
for tool in make skiff ${base:+skiff-base}; do
  case $tool in
    make) read -r s mb < <(measure "$d" make -s -j2 -f Makefile all) ;;
    skiff) read -r s mb < <(measure "$d" "$skiff" run dag.yaml --executor host -o name --data "$work/data") ;;
    skiff-base) read -r s mb < <(measure "$d" "$base" run dag.yaml --executor host -o name --data "$work/data") ;;
  esac
  awk -v t=$tool -v s="$s" -v f="$floor_s" 'BEGIN { printf "  %-10s %.2f ms/step, %.2f ms/step above the floor\n", t, s * 1000 / 300, (s - f) * 1000 / 300 }'
done
echo
echo "aims: skiff within 1.5x of make at 1,000 nodes; exit-to-dependent gap < 5 ms;"
echo "      10,000 nodes under 300 MB peak; 100,000 nodes (--big) under 1 GB"
