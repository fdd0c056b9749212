"""A real Prometheus (Debian's package) for the tests, on 127.0.0.1, scraping skiff's
/metrics every second, and its query API."""
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request


def binary():
    """The prometheus program, or None (scripts/install-deps installs Debian's)."""
    return shutil.which("prometheus") or ("/usr/bin/prometheus" if os.path.exists("/usr/bin/prometheus") else None)


def start(d, scrape_port):
    """Starts prometheus with its files under `d`, scraping 127.0.0.1:scrape_port; returns
    (process, base URL). Its output goes to d/prometheus.log."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with open(f"{d}/prometheus.yml", "w") as f:
        f.write(f"global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: skiff\n"
                f"    static_configs: [{{targets: ['127.0.0.1:{scrape_port}']}}]\n")
    proc = subprocess.Popen([binary(), f"--config.file={d}/prometheus.yml", f"--storage.tsdb.path={d}/tsdb",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=open(f"{d}/prometheus.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("prometheus did not start:\n" + open(f"{d}/prometheus.log").read()[-2000:])


def query(base, expr):
    """The result vector of an instant query (empty when there is none)."""
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.loads(r.read().decode())
    return body["data"]["result"] if body.get("status") == "success" else []


def until_query(base, expr, pred, what, timeout=60):
    """Queries until pred(result) holds (Prometheus scrapes every second); raises with the last answer."""
    deadline = time.monotonic() + timeout
    last = []
    while time.monotonic() < deadline:
        last = query(base, expr)
        if pred(last):
            return last
        time.sleep(0.5)
    raise AssertionError(f"prometheus: no {what} within {timeout} s: {expr} -> {json.dumps(last)[:1500]}")
