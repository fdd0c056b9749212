#!/usr/bin/env python3
"""The reference pipeline warm (docs/pipeline.md): from the submit until the deployed page
answers naming the workflow, and each step's share of that, over ROUNDS runs after one
warm-up run (which pulls the step images into skiff's store and fills BuildKit's caches
as a second run of main-job finds them). Each round deploys its own Application. The aim
is under 10 s; the reference setup on k3d takes minutes (pod start-up per step, Argo CD's
3-minute poll unless a webhook comes), which this machine cannot run to compare.

  bench/pipeline.py build/skiff [ROUNDS]     (default 3; needs root, runc, scripts/buildkit-build)
"""
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "pipeline"))
import pipeline  # noqa: E402


def one(env, app):
    t0 = time.monotonic()
    name = pipeline.submit(env, "feature-1", app)
    wf, seen = pipeline.wait(env, name, timeout=300)
    if wf["status"]["phase"] != "Succeeded":
        raise SystemExit(f"bench: {name} {wf['status']['phase']}: {wf['status'].get('message')}")
    url = pipeline.page_of(env, app)
    while True:
        try:
            if name in pipeline.fetch(url, timeout=2):
                break
        except OSError:
            pass
        time.sleep(0.02)
    total = time.monotonic() - t0
    shares, last = {}, 0.0
    ran = {step for step, node in pipeline.step_nodes(wf).items() if node.get("phase") == "Succeeded"}
    for step in pipeline.STEPS:
        done = seen.get(step, (0, None))[1]
        if step in ran and done is not None:
            shares[step] = done - last
            last = done
    shares["workflow end to page"] = total - last
    return total, shares


def main():
    skiff = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    reason = pipeline.cannot_run()
    if reason:
        raise SystemExit("bench: " + reason)
    work = tempfile.mkdtemp(prefix="skiff-pipeline-bench-")
    try:
        t = time.monotonic()
        env = pipeline.up(work, skiff)
        print(f"set-up (registry, images, git server, server, prometheus): {time.monotonic() - t:.1f} s")
        cold, _ = one(env, "bench-warmup")
        print(f"first run (pulls the step images, BuildKit's first build): {cold:.2f} s")
        totals, per_step = [], {}
        for i in range(rounds):
            total, shares = one(env, f"bench-{i}")
            totals.append(total)
            for k, v in shares.items():
                per_step.setdefault(k, []).append(v)
        mean = statistics.mean(totals)
        print(f"warm, submit to page answering: mean {mean:.2f} s, range {min(totals):.2f}-{max(totals):.2f} s "
              f"over {rounds} runs; aim 10 s: {mean / 10:.2f} of it")
        for k, v in per_step.items():
            m = statistics.mean(v)
            print(f"  {k:22s} {m:6.2f} s  {100 * m / mean:5.1f} %")
    finally:
        pipeline.down(work)


if __name__ == "__main__":
    main()
