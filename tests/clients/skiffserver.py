"""Starts `skiff server` on 127.0.0.1 for a test and talks to its REST API (stdlib only)."""
import contextlib
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, tries=200):
    """Waits until something listens on 127.0.0.1:port; False if nothing did."""
    for _ in range(tries):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Server:
    """A server over `data` (host executor and no client auth unless told); restartable on
    the same port. With a `token`, requests carry it."""

    def __init__(self, skiff, data, *extra, executor="host", auth="server", token=None):
        self.skiff, self.data, self.extra = skiff, data, list(extra)
        self.executor, self.auth, self.token = executor, auth, token
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = None
        self.preexec = None  # run in the server's process before it starts (e.g. setrlimit)

    def start(self):
        self.proc = subprocess.Popen([self.skiff, "server", "--data", self.data, "--port", str(self.port),
                                      "--executor", self.executor, "--auth-mode", self.auth, *self.extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     preexec_fn=self.preexec)
        if wait_port(self.port):
            return self
        raise AssertionError("skiff server did not start: " + self.stop())

    def stop(self, kill=False):
        """Stops (SIGKILL when `kill`) and returns what the server printed."""
        if not self.proc:
            return ""
        (self.proc.kill if kill else self.proc.terminate)()
        out, _ = self.proc.communicate(timeout=30)
        self.proc = None
        return out

    def call(self, method, path, body=None, raw=False, token=None):
        req = urllib.request.Request(self.base + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        if token or self.token:
            req.add_header("Authorization", "Bearer " + (token or self.token))
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                text = r.read().decode()
                return r.status, (text if raw else json.loads(text or "{}"))
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            return e.code, (text if raw else json.loads(text or "{}"))

    def until(self, path, pred, timeout=30, what=""):
        """GETs `path` until pred(body) holds; returns the body."""
        deadline = time.time() + timeout
        body = None
        while time.time() < deadline:
            st, body = self.call("GET", path)
            if st == 200 and pred(body):
                return body
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what or path}: last {body}")

    def wait(self, ns, name, timeout=30):
        return self.until(f"/api/v1/workflows/{ns}/{name}",
                          lambda wf: wf.get("status", {}).get("phase") in ("Succeeded", "Failed", "Error"),
                          timeout, f"{name} to finish")


class Checks:
    def __init__(self):
        self.failures = []

    def __call__(self, what, cond, detail=""):
        if not cond:
            self.failures.append(f"{what}: {detail}")
        return cond

    def report(self, name):
        for f in self.failures:
            print("FAIL", f)
        print(f"{name}: {'ok' if not self.failures else f'{len(self.failures)} failed'}")
        return 1 if self.failures else 0


@contextlib.contextmanager
def running(check, srv):
    """Runs a test's body against a started `srv`: an exception is a failure; the server is
    stopped after, and what it printed is shown when something failed. Yields a list that
    receives that output."""
    output = []
    try:
        yield output
    except Exception as e:  # noqa: BLE001 - reported as a failure
        check("no exception", False, f"{type(e).__name__}: {e}")
    finally:
        output.append(srv.stop())
        if check.failures:
            print(output[-1][-3000:])
