#!/usr/bin/env python3
"""Plain GETs on `skiff server` while STREAMS (default 1,000) long-lived streams are open:
a third followed logs of a quiet running step, a third watch streams, a third event
streams, from ten loopback addresses (127.0.0.2-11, as ten client machines: each stays
under the default --max-streams-per-client). Prints p50/p99 latency of 200 GET
/api/v1/version and 200 GET /api/v1/workflows/{ns} (20 workflows stored), each on a new
connection, first with no stream open and then with all of them, the ratio, the server's
threads, its CPU use while the streams sit idle and its peak RSS. Usage: stream_load.py SKIFF [STREAMS]"""
import http.client
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "clients"))
from skiffserver import free_port, wait_port  # noqa: E402

NS = "bench"
SOURCES = [f"127.0.0.{i}" for i in range(2, 12)]


def workflow(name, command):
    return {"workflow": {"metadata": {"name": name}, "spec": {"entrypoint": "main", "templates": [
        {"name": "main", "container": {"image": "busybox", "command": ["sh", "-c", command]}}]}}}


def call(port, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def wait_for(port, path, pred, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred(call(port, "GET", path)):
            return
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {path}")


def open_stream(port, path, source):
    s = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
    head = s.recv(4096)
    if not head.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"stream {path} from {source} refused: {head[:200]!r}")
    return s


def latencies(port, path, n=200):
    out = []
    for _ in range(n):
        start = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        conn.close()
        if r.status != 200:
            raise SystemExit(f"GET {path}: {r.status}")
        out.append(time.perf_counter() - start)
    return sorted(out)


def pct(values, p):
    return values[min(len(values) - 1, int(len(values) * p))] * 1000


def status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(port, label):
    figures = {}
    for path in ("/api/v1/version", f"/api/v1/workflows/{NS}"):
        lat = latencies(port, path)
        figures[path] = (pct(lat, 0.5), pct(lat, 0.99))
        print(f"{label:>18}: GET {path:<24} p50 {figures[path][0]:6.2f} ms  p99 {figures[path][1]:6.2f} ms")
    return figures


def main():
    skiff = sys.argv[1]
    streams = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory(prefix="skiff-streams-") as data:
        port = free_port()
        server = subprocess.Popen([skiff, "server", "--data", data, "--port", str(port), "--executor", "host",
                                   "--auth-mode", "server"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        held = []
        try:
            if not wait_port(port):
                raise SystemExit("skiff server did not start")
            for i in range(19):
                call(port, "POST", f"/api/v1/workflows/{NS}", workflow(f"done-{i}", "echo done"))
            call(port, "POST", f"/api/v1/workflows/{NS}", workflow("quiet", "echo started; sleep 3600"))
            wait_for(port, f"/api/v1/workflows/{NS}/quiet",
                     lambda wf: any(n.get("type") == "Pod" and n.get("phase") == "Running"
                                    for n in wf.get("status", {}).get("nodes", {}).values()))
            before = measure(port, "no streams")
            print(f"server RSS with no streams {status(server.pid, 'VmRSS') / 1024:.0f} MB")
            paths = [f"/api/v1/workflows/{NS}/quiet/log?logOptions.follow=true",
                     f"/api/v1/workflow-events/{NS}", f"/api/v1/stream/events/{NS}"]
            start = time.perf_counter()
            for i in range(streams):
                held.append(open_stream(port, paths[i % 3], SOURCES[i % len(SOURCES)]))
            print(f"opened {streams} streams in {time.perf_counter() - start:.2f} s "
                  f"(server threads {status(server.pid, 'Threads')})")
            cpu = cpu_seconds(server.pid)
            time.sleep(5)
            print(f"server CPU with {streams} idle streams: {(cpu_seconds(server.pid) - cpu) / 5 * 100:.0f}% of a core")
            after = measure(port, f"{streams} streams")
            for path in before:
                print(f"ratio with/without streams, GET {path}: p50 {after[path][0] / before[path][0]:.2f}x, "
                      f"p99 {after[path][1] / before[path][1]:.2f}x")
            print(f"server peak RSS {status(server.pid, 'VmHWM') / 1024:.0f} MB, "
                  f"RSS now {status(server.pid, 'VmRSS') / 1024:.0f} MB, threads {status(server.pid, 'Threads')}")
            for s in held:
                s.close()
            held.clear()
            call(port, "PUT", f"/api/v1/workflows/{NS}/quiet/terminate", {})
        finally:
            for s in held:
                s.close()
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                print("the server did not stop within 30 s of SIGTERM")
    return 0


if __name__ == "__main__":
    sys.exit(main())
