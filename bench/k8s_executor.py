#!/usr/bin/env python3
"""The kubernetes executor beside the container executor, on the same work in one run.

  bench/k8s_executor.py SKIFF [--chain N] [--width N]

Needs the test cluster (scripts/k8s-up) and starts the test registry for the container
executor (tests/registry/registry.py). Two workflows, each step printing the machine's
/proc/uptime (one kernel: the same clock in Pods and containers) and nothing else:

  chain   N steps (default 100), each depending on the one before: the time from one
          step's command to the next one's is the executor's whole cycle (exit seen, outputs
          read, next Pod made, scheduled, its init container run, main started)
  fan-out N steps (default 200) at once: steps started per second

For each executor it prints wall time, the chain's per-step cycle (median and p90), the
fan-out's starts per second, and skiff's peak RSS (/usr/bin/time), then the ratios.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def workflow(name, kind, n):
    step = {"name": "t", "container": {"image": "busybox", "command": ["sh", "-c", "cut -d' ' -f1 /proc/uptime"]}}
    if kind == "chain":
        tasks = [{"name": f"s{i}", "template": "t", **({"dependencies": [f"s{i - 1}"]} if i else {})} for i in range(n)]
        main = {"name": "main", "dag": {"tasks": tasks}}
    else:
        main = {"name": "main", "steps": [[{"name": "s", "template": "t", "withSequence": {"count": str(n)}}]]}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": name},
            "spec": {"entrypoint": "main", "podGC": {"strategy": "OnPodCompletion"}, "templates": [main, step]}}


class PodWatch:
    """Watches a namespace's Pods (kubectl get -w) and notes, on this clock, when each was
    first seen and when its main container was first seen terminated."""

    def __init__(self, kubectl, namespace):
        self.added, self.main_done = {}, {}
        self.proc = subprocess.Popen(kubectl + ["get", "pods", "-n", namespace, "--watch", "-o", "json"],
                                     stdout=subprocess.PIPE, text=True)
        self.thread = threading.Thread(target=self.read, daemon=True)
        self.thread.start()

    def read(self):
        decoder, buf = json.JSONDecoder(), ""
        for line in self.proc.stdout:
            buf += line
            try:
                pod, end = decoder.raw_decode(buf.lstrip())
            except json.JSONDecodeError:
                continue
            buf = ""
            now = time.monotonic()
            node = pod["metadata"].get("annotations", {}).get("workflows.argoproj.io/node-name", "")
            self.added.setdefault(node, now)
            for c in pod.get("status", {}).get("containerStatuses", []):
                if c["name"] == "main" and "terminated" in c.get("state", {}):
                    self.main_done.setdefault(node, now)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def run(skiff, wf, args, data):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        json.dump(wf, f)
    t0 = time.monotonic()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", skiff, "run", f.name, "-o", "json", "--data", data] + args,
                          capture_output=True, text=True, timeout=3600)
    wall = time.monotonic() - t0
    os.unlink(f.name)
    try:
        status = json.loads(done.stdout)["status"]
    except (json.JSONDecodeError, KeyError):
        sys.exit(f"skiff run failed ({done.returncode}): {done.stderr[-2000:]}")
    if status.get("phase") != "Succeeded":
        sys.exit(f"workflow {wf['metadata']['name']} ended {status.get('phase')}: {status.get('message')}")
    rss_kb = int(done.stderr.strip().splitlines()[-1])
    starts = sorted(float(n["outputs"]["result"]) for n in status["nodes"].values()
                    if n.get("type") == "Pod" and n.get("outputs", {}).get("result"))
    return wall, starts, rss_kb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("skiff")
    ap.add_argument("--chain", type=int, default=100)
    ap.add_argument("--width", type=int, default=200)
    a = ap.parse_args()
    skiff = os.path.abspath(a.skiff)
    state = os.environ.get("SKIFF_K8S_STATE", "/var/tmp/skiff-k8s")
    with open(f"{state}/env.json") as f:
        k8s = json.load(f)
    subprocess.run([sys.executable, f"{ROOT}/tests/k8s/push_images.py", skiff, f"{state}/env.json"], check=True,
                   capture_output=True)
    reg = tempfile.mkdtemp(prefix="skiff-bench-reg-")
    subprocess.run([sys.executable, f"{ROOT}/tests/registry/registry.py", "start", reg], check=True, capture_output=True)
    namespace = f"bench-{os.urandom(3).hex()}"
    kubectl = [f"{k8s['bin']}/kubectl", "--kubeconfig", k8s["kubeconfig"]]
    subprocess.run(kubectl + ["create", "namespace", namespace], check=True, capture_output=True)
    executors = {
        "container": ["--executor", "container", "--registries", f"{reg}/registries.yaml",
                      "--registry-config", f"{reg}/config.json"],
        "kubernetes": ["--executor", "kubernetes", "--kubeconfig", k8s["kubeconfig"], "-n", namespace,
                       "--emissary-image", "skiff/skiff:test", "--registry-mirror",
                       f"docker.io=http://{k8s['registry']}", "--plain-http", k8s["registry"]],
    }
    results = {}
    try:
        for name, args in executors.items():
            data = tempfile.mkdtemp(prefix="skiff-bench-")
            watch = PodWatch(kubectl, namespace) if name == "kubernetes" else None
            wall_c, starts_c, rss_c = run(skiff, workflow("bench-chain", "chain", a.chain), args, data)
            gaps = [b - a for a, b in zip(starts_c, starts_c[1:])]
            if watch:
                # Exit to the next Pod: main seen terminated -> the dependent's Pod seen made.
                time.sleep(1)
                watch.stop()
                exits = [watch.added.get(f"bench-chain.s{i + 1}", 0) - watch.main_done.get(f"bench-chain.s{i}", 0)
                         for i in range(a.chain - 1)
                         if f"bench-chain.s{i}" in watch.main_done and f"bench-chain.s{i + 1}" in watch.added]
                if exits:
                    results["exit_to_pod"] = (statistics.median(exits), sorted(exits)[int(len(exits) * 0.9)], len(exits))
            wall_f, starts_f, rss_f = run(skiff, workflow("bench-fan", "fan", a.width), args, data)
            spread = max(starts_f[-1] - starts_f[0], 0.01)
            results[name] = {
                "chain_wall": wall_c, "cycle_median": statistics.median(gaps),
                "cycle_p90": sorted(gaps)[int(len(gaps) * 0.9)], "fan_wall": wall_f,
                "starts_per_s": len(starts_f) / spread, "rss_mb": max(rss_c, rss_f) / 1024}
            subprocess.run(["rm", "-rf", data])
    finally:
        subprocess.run(kubectl + ["delete", "namespace", namespace, "--wait=false"], capture_output=True)
        subprocess.run([sys.executable, f"{ROOT}/tests/registry/registry.py", "stop", reg], capture_output=True)
    print(f"{'':12} {'chain wall':>11} {'cycle p50':>10} {'cycle p90':>10} {'fan wall':>9} {'starts/s':>9} {'peak RSS':>9}")
    for name, r in ((n, r) for n, r in results.items() if n != "exit_to_pod"):
        print(f"{name:12} {r['chain_wall']:10.1f}s {r['cycle_median'] * 1000:8.0f}ms {r['cycle_p90'] * 1000:8.0f}ms "
              f"{r['fan_wall']:8.1f}s {r['starts_per_s']:9.1f} {r['rss_mb']:7.0f}MB")
    if "exit_to_pod" in results:
        p50, p90, n = results.pop("exit_to_pod")
        print(f"kubernetes: a Pod's main seen ended -> its dependent's Pod seen made: p50 {p50 * 1000:.0f}ms, "
              f"p90 {p90 * 1000:.0f}ms over {n} steps (through the API server's watch, as a controller sees it)")
    k, c = results["kubernetes"], results["container"]
    print(f"kubernetes / container: chain {k['chain_wall'] / c['chain_wall']:.1f}x, "
          f"cycle {k['cycle_median'] / c['cycle_median']:.1f}x, fan-out {k['fan_wall'] / c['fan_wall']:.1f}x; "
          f"chain {a.chain} steps, fan-out {a.width} (Argo's controller: ~10 s from a pod's exit to the next pod)")


if __name__ == "__main__":
    main()
