#!/usr/bin/env python3
"""One large workflow on `skiff server`: a DAG task (or a step) looping N times over `true`
(withSequence), submitted to a fresh server (host executor, no client auth, SQLite in a
temporary directory). Prints how long the submission took, how long until a GET answers,
a whole GET (time and size) and a cheap one (fields=metadata,status.phase), then terminates
it while it runs (time of the call and until its phase is final), deletes it, and prints the
server's memory: resident before, peak, and after the delete.
Usage: large_workflow.py SKIFF [N ...] [--steps] [--run SECONDS] [-- SERVER FLAGS...]
(N defaults to 1000 10000 100000; each N gets its own server.)"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "clients"))
from skiffserver import free_port, wait_port  # noqa: E402

TIMEOUT = 900  # a slow answer is a figure here, not a failure


def call(base, method, path, body=None):
    """(status, body bytes, seconds); an unanswered call is (0, b"", seconds)."""
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body is not None else None,
                                 method=method)
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            data = r.read()
            return r.status, data, time.perf_counter() - start
    except urllib.error.HTTPError as e:
        return e.code, e.read(), time.perf_counter() - start
    except OSError:
        return 0, b"", time.perf_counter() - start


def workflow(name, n, steps):
    loop = {"name": "t", "template": "s", "withSequence": {"count": str(n)}}
    main = {"name": "main", "steps": [[loop]]} if steps else {"name": "main", "dag": {"tasks": [loop]}}
    return {"workflow": {"metadata": {"name": name}, "spec": {"entrypoint": "main", "templates": [
        main, {"name": "s", "container": {"image": "busybox", "command": ["true"]}}]}}}


def phases(nodes):
    """How many nodes are in each phase, and the commonest message of those that failed."""
    count, messages = {}, {}
    for n in nodes:
        count[n.get("phase")] = count.get(n.get("phase"), 0) + 1
        if n.get("phase") in ("Failed", "Error"):
            messages[n.get("message", "")] = messages.get(n.get("message", ""), 0) + 1
    text = ", ".join(f"{k} {v}" for k, v in sorted(count.items()))
    if messages:
        text += f" (mostly {max(messages, key=messages.get)!r})"
    return text


def memory_mb(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
    return out


def phase(base, name):
    st, body, _ = call(base, "GET", f"/api/v1/workflows/argo/{name}?fields=metadata.name,status.phase")
    return json.loads(body).get("status", {}).get("phase", "") if st == 200 else f"HTTP {st}"


def one(skiff, n, steps, run_s, flags):
    with tempfile.TemporaryDirectory(prefix="skiff-large-") as data:
        port = free_port()
        log = open(os.path.join(data, "server.log"), "w+")
        server = subprocess.Popen([skiff, "server", "--data", data, "--port", str(port), "--executor", "host",
                                   "--auth-mode", "server", *flags], stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        name = f"large-{n}"
        try:
            wait_port(port)
            before = memory_mb(server.pid)["VmRSS"]
            st, body, submit_s = call(base, "POST", "/api/v1/workflows/argo", workflow(name, n, steps))
            print(f"N={n} ({'steps' if steps else 'dag'}): submit {submit_s:.2f} s (HTTP {st})", flush=True)
            if st != 200:
                print("  refused:", json.loads(body).get("message", body)[:300])
            t0 = time.perf_counter()
            _, _, cheap_s = call(base, "GET", f"/api/v1/workflows/argo/{name}?fields=metadata.name,status.phase")
            print(f"  first GET (fields=metadata.name,status.phase) answered after {time.perf_counter() - t0:.2f} s")
            time.sleep(run_s)  # let it run a while
            st, body, get_s = call(base, "GET", f"/api/v1/workflows/argo/{name}")
            nodes = json.loads(body).get("status", {}).get("nodes", {}) if st == 200 else {}
            print(f"  GET whole: {get_s:.2f} s, {len(body) / 1e6:.1f} MB, {len(nodes)} nodes (HTTP {st}): "
                  f"{phases(nodes.values())}")
            _, _, cheap_s = call(base, "GET", f"/api/v1/workflows/argo/{name}?fields=metadata.name,status.phase")
            _, _, list_s = call(base, "GET", "/api/v1/workflows/argo")
            print(f"  GET fields=metadata.name,status.phase: {cheap_s * 1000:.0f} ms; list: {list_s * 1000:.0f} ms")
            print(f"  phase before terminate: {phase(base, name)}")
            st, _, term_s = call(base, "PUT", f"/api/v1/workflows/argo/{name}/terminate", {})
            t0 = time.perf_counter()
            final = phase(base, name)
            while final in ("Running", "Pending", "") and time.perf_counter() - t0 < TIMEOUT:
                time.sleep(0.1)
                final = phase(base, name)
            print(f"  terminate: {term_s:.2f} s (HTTP {st}); {final} after {time.perf_counter() - t0:.2f} s more")
            st, body, _ = call(base, "GET", f"/api/v1/workflows/argo/{name}")
            wf = json.loads(body) if st == 200 else {}
            print(f"  then: {wf.get('status', {}).get('message', '')!r}; "
                  f"{phases(wf.get('status', {}).get('nodes', {}).values())}")
            _, _, version_s = call(base, "GET", "/api/v1/version")
            st, _, delete_s = call(base, "DELETE", f"/api/v1/workflows/argo/{name}")
            print(f"  DELETE: {delete_s:.2f} s (HTTP {st}); version {version_s * 1000:.0f} ms")
            time.sleep(2)
            mem = memory_mb(server.pid)
            print(f"  server RSS: {before:.0f} MB before, peak {mem['VmHWM']:.0f} MB, {mem['VmRSS']:.0f} MB after delete",
                  flush=True)
        finally:
            server.terminate()
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.seek(0)
            said = log.read().splitlines()[2:]  # past the two start-up lines
            if said:
                print("  the server said (last lines):", *said[-5:], sep="\n    ")
            log.close()


def main():
    args = sys.argv[1:]
    flags = args[args.index("--") + 1:] if "--" in args else []
    args = args[:args.index("--")] if "--" in args else args
    skiff = args.pop(0)
    steps = "--steps" in args
    run_s = 3.0
    if "--run" in args:
        i = args.index("--run")
        run_s = float(args[i + 1])
        del args[i:i + 2]
    sizes = [int(a) for a in args if a.isdigit()] or [1000, 10000, 100000]
    for n in sizes:
        one(skiff, n, steps, run_s, flags)


if __name__ == "__main__":
    main()
