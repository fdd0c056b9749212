#!/usr/bin/env python3
"""What a client can do to `skiff server`'s connections without taking it down (issue 10):
hundreds of open log, watch and event streams, connections that drip their headers or a
TLS ClientHello a byte a second, a chunked body larger than the limit, requests for
thousands of distinct paths, more connections or streams than a client's share. Each time
a plain GET must still be answered, the server must let go of what the client abandoned,
and /metrics must stay small. Clients use several loopback addresses (127.0.0.2, ...), as
from several machines.
Usage: hardening_conn_test.py SKIFF"""
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from skiffserver import Checks, Server

NS = "argo"
QUIET = {"workflow": {"metadata": {"name": "quiet"}, "spec": {"entrypoint": "main", "templates": [
    {"name": "main", "container": {"image": "busybox", "command": ["sh", "-c", "echo started; sleep 600"]}}]}}}


def connect(port, source="127.0.0.1", tls=False, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        s = ctx.wrap_socket(s, server_hostname="localhost")
    return s


def open_stream(port, path, token, source="127.0.0.1", head_out=None):
    """A GET whose response does not end: returns (socket, status) once the status line came
    (what came with it is appended to `head_out`)."""
    s = connect(port, source)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    head = b""
    try:
        while b"\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
    except socket.timeout:
        pass
    if head_out is not None:
        head_out.append(head)
    m = re.match(rb"HTTP/1\.1 (\d+)", head)
    return s, int(m.group(1)) if m else 0


def get(srv, path, timeout=10, tls=False, token=None):
    """GET with a deadline: (status, body text), or (0, why) when none came in time."""
    scheme = "https" if tls else "http"
    req = urllib.request.Request(f"{scheme}://127.0.0.1:{srv.port}{path}")
    if token or srv.token:
        req.add_header("Authorization", "Bearer " + (token or srv.token))
    ctx = ssl._create_unverified_context() if tls else None  # noqa: S323 - a throwaway certificate
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return 0, f"{type(e).__name__}: {e}"


def closed_by_server(sockets, within):
    """How many of `sockets` the server closed within `within` seconds."""
    deadline = time.time() + within
    closed = set()
    while time.time() < deadline and len(closed) < len(sockets):
        for i, s in enumerate(sockets):
            if i in closed:
                continue
            s.settimeout(0.01)
            try:
                if s.recv(4096) == b"":
                    closed.add(i)
            except socket.timeout:
                pass
            except (OSError, ssl.SSLError):
                closed.add(i)
        time.sleep(0.2)
    return len(closed)


def drip(sockets, data, stop):
    """Sends `data` to every socket one byte a second until `stop` is set or it is all sent."""
    for i in range(len(data)):
        if stop.wait(1):
            return
        for s in sockets:
            try:
                s.send(data[i:i + 1])
            except OSError:
                pass


def start_quiet_workflow(srv, check):
    st, body = srv.call("POST", f"/api/v1/workflows/{NS}", QUIET)
    check("the quiet workflow is accepted", st == 200, body)
    srv.until(f"/api/v1/workflows/{NS}/quiet",
              lambda wf: any(n.get("type") == "Pod" and n.get("phase") == "Running"
                             for n in wf.get("status", {}).get("nodes", {}).values()), 30, "the quiet step to run")


def stop_checked(srv, check):
    """Stops the server with SIGTERM; it must exit although clients still hold streams."""
    srv.proc.terminate()
    try:
        out, _ = srv.proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        srv.proc.kill()
        out, _ = srv.proc.communicate()
        check("SIGTERM ends the server while streams are open", False, "still running after 20 s")
    srv.proc = None
    return out


def streams_do_not_hold_workers(srv, check):
    """350 streams (more than the 64 workers the server had) from four addresses: GETs and
    a new submission still answered; once the clients go, the server lets go too."""
    start_quiet_workflow(srv, check)
    paths = [f"/api/v1/workflows/{NS}/quiet/log?logOptions.follow=true",
             f"/api/v1/workflow-events/{NS}", f"/api/v1/stream/events/{NS}"]
    streams = []
    for i in range(350):
        s, st = open_stream(srv.port, paths[i % 3], srv.token, f"127.0.0.{2 + i % 4}")
        streams.append(s)
        if not check(f"stream {i} ({paths[i % 3]}) opens", st == 200, st):
            break
    st, body = get(srv, "/api/v1/version")
    check("GET /api/v1/version with 350 streams open", st == 200, body)
    st, body = get(srv, f"/api/v1/workflows/{NS}")
    check("GET /api/v1/workflows/{ns} with 350 streams open", st == 200, body[:300])
    st, body = srv.call("GET", "/metrics", raw=True)
    m = re.search(r"^skiff_http_streams_open (\d+)", body, re.M)
    check("/metrics counts the open streams", m and int(m.group(1)) == 350, m and m.group(0))
    for s in streams:
        s.close()
    deadline = time.time() + 10
    open_now = None
    while time.time() < deadline:
        st, body = srv.call("GET", "/metrics", raw=True)
        m = re.search(r"^skiff_http_streams_open (\d+)", body, re.M)
        open_now = m and int(m.group(1))
        if open_now == 0:
            break
        time.sleep(0.2)
    check("streams end within seconds of their clients going (a quiet log too)", open_now == 0, open_now)


def streams_capped_per_client(srv, check):
    """--max-streams-per-client 4: a fifth stream from the same address is 429, another
    address still gets one; after the four close, the address may open streams again."""
    paths = [f"/api/v1/workflows/{NS}/quiet/log?logOptions.follow=true", f"/api/v1/workflow-events/{NS}"]
    held = [open_stream(srv.port, paths[i % 2], srv.token, "127.0.0.2") for i in range(4)]
    check("four streams from one address", [st for _, st in held] == [200] * 4, [st for _, st in held])
    head = []
    s, st = open_stream(srv.port, paths[0], srv.token, "127.0.0.2", head)
    s.settimeout(1)
    try:
        head.append(s.recv(65536))
    except socket.timeout:
        pass
    s.close()
    body = b"".join(head).decode(errors="replace")
    check("the fifth is 429 with a message", st == 429 and "--max-streams-per-client" in body, f"{st} {body[-300:]}")
    other, st = open_stream(srv.port, paths[1], srv.token, "127.0.0.3")
    check("another address still opens one", st == 200, st)
    other.close()
    st, body = get(srv, "/api/v1/version")
    check("plain GETs are not streams", st == 200, body)
    for s, _ in held:
        s.close()
    deadline, st = time.time() + 10, 0
    while time.time() < deadline:
        s, st = open_stream(srv.port, paths[0], srv.token, "127.0.0.2")
        s.close()
        if st == 200:
            break
        time.sleep(0.2)
    check("the address may open streams again once its clients went", st == 200, st)


def connections_capped_per_client(srv, check):
    """--max-connections-per-client 6: a seventh connection from one address is answered
    429 and closed; another address is served."""
    held = [connect(srv.port, "127.0.0.5") for _ in range(6)]
    time.sleep(0.5)
    s = connect(srv.port, "127.0.0.5")
    s.settimeout(5)
    answer = b""
    try:
        while True:
            part = s.recv(4096)
            if not part:
                break
            answer += part
    except OSError:
        pass
    s.close()
    text = answer.decode(errors="replace")
    check("the seventh connection is 429 with a message",
          text.startswith("HTTP/1.1 429") and "--max-connections-per-client" in text, text[:300])
    s, st = open_stream(srv.port, "/api/v1/version", srv.token, "127.0.0.6")
    s.close()
    check("another address is served", st == 200, st)
    for s in held:
        s.close()


def slow_headers(srv, check):
    """100 connections sending their headers a byte a second, and 100 idle ones: GETs are
    answered meanwhile, and the server closes the slow ones after its 10 s deadline."""
    request = f"GET /api/v1/workflows/{NS} HTTP/1.1\r\nHost: x\r\nX-Pad: {'a' * 40}\r\n\r\n".encode()
    slow = [connect(srv.port, f"127.0.0.{2 + i % 4}") for i in range(100)]
    idle = [connect(srv.port, f"127.0.0.{2 + i % 4}") for i in range(100)]
    stop = threading.Event()
    t = threading.Thread(target=drip, args=(slow, request, stop), daemon=True)
    t.start()
    time.sleep(2)
    st, body = get(srv, "/api/v1/version")
    check("GET while 100 connections drip their headers and 100 sit idle", st == 200, body)
    closed = closed_by_server(slow, 20)
    stop.set()
    check("connections that drip their headers are closed after the deadline", closed == len(slow),
          f"{closed} of {len(slow)}")
    check("idle connections are closed too", closed_by_server(idle, 5) == len(idle))
    for s in slow + idle:
        s.close()
    s = connect(srv.port)
    s.sendall(b"GET /api/v1/version HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
    check("a megabyte of headers is refused", closed_by_server([s], 10) == 1)
    s.close()


def chunked_body(srv, check):
    """A chunked body over the limit is refused (413, with a message) without being read
    whole; one under it still works; a Content-Length over it gets the same message."""
    pid = srv.proc.pid

    def hwm_kb():
        with open(f"/proc/{pid}/status") as f:
            return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))

    before = hwm_kb()
    s = connect(srv.port, timeout=30)
    s.sendall(f"POST /api/v1/workflows/{NS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {srv.token}\r\n"
              "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
    chunk = b"x" * 65536
    frame = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    answer = b""
    try:
        for _ in range(64 * 16):  # 64 MiB
            s.sendall(frame)
    except OSError:
        pass  # the server stopped reading: expected
    try:
        s.settimeout(10)
        while True:
            part = s.recv(65536)
            if not part:
                break
            answer += part
    except OSError:
        pass
    s.close()
    text = answer.decode(errors="replace")
    check("64 MiB chunked body: 413", text.startswith("HTTP/1.1 413"), text[:200])
    check("413 says what the limit is", "8 MiB" in text and "larger than" in text, text[-300:])
    grew = hwm_kb() - before
    check("the body was not held in memory", grew < 24 * 1024, f"peak RSS grew by {grew} KiB")

    body = json.dumps(QUIET | {"workflow": QUIET["workflow"] | {"metadata": {"name": "chunked"}}}).encode()
    s = connect(srv.port)
    s.sendall(f"POST /api/v1/workflows/{NS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {srv.token}\r\n"
              "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode()
              + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
    s.settimeout(10)
    answer = b""
    while True:
        part = s.recv(65536)
        if not part:
            break
        answer += part
    s.close()
    check("a small chunked body is accepted", answer.startswith(b"HTTP/1.1 200"), answer[:300])
    srv.call("PUT", f"/api/v1/workflows/{NS}/chunked/terminate", {})

    s = connect(srv.port)
    s.sendall(f"POST /api/v1/workflows/{NS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {srv.token}\r\n"
              f"Content-Length: {9 << 20}\r\n\r\n".encode())
    s.settimeout(10)
    answer = b""
    try:  # the whole answer: it may come in more than one piece
        while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) == 0:
            part = s.recv(65536)
            if not part:
                break
            answer += part
        s.settimeout(0.5)
        while True:
            part = s.recv(65536)
            if not part:
                break
            answer += part
    except OSError:
        pass
    answer = answer.decode(errors="replace")
    s.close()
    check("Content-Length over the limit: 413 with the same message",
          answer.startswith("HTTP/1.1 413") and "8 MiB" in answer, answer[:300])


def metrics_by_route(srv, check):
    """3,000 requests for distinct paths (most of them 401s) add a handful of series."""
    st, before = srv.call("GET", "/metrics", raw=True)
    for i in range(1000):
        get(srv, f"/api/v1/workflows/ns-{i}/wf-{i}", token="nope")
        get(srv, f"/api/v1/workflow-templates/ns-{i}", token="nope")
        get(srv, f"/no/such/path-{i}")
    st, after = srv.call("GET", "/metrics", raw=True)
    series = [line for line in after.splitlines() if line.startswith("skiff_api_requests_total")]
    check("a handful of request series", len(series) < 40, f"{len(series)} series")
    check("/metrics stays small", len(after) < len(before) + 20000, f"{len(before)} -> {len(after)} bytes")
    check("no raw path becomes a label", "ns-7" not in after and "path-7" not in after,
          [s for s in series if "ns-" in s or "path-" in s][:3])
    check("labelled by route pattern",
          'route="/api/v1/workflows/{namespace}/{name}"' in after and 'code="401"' in after, series[:10])


def tls_handshakes(skiff, data, check):
    """80 connections sending a TLS ClientHello a byte a second: HTTPS GETs still answered,
    and the handshakes are cut off after the deadline."""
    os.makedirs(data)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", f"{data}/key.pem", "-out", f"{data}/cert.pem", "-days", "1", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    srv = server(skiff, data, "--secure", "--tls-cert", f"{data}/cert.pem", "--tls-key", f"{data}/key.pem")
    try:
        hello = client_hello()
        slow = [connect(srv.port, f"127.0.0.{2 + i % 4}") for i in range(80)]
        stop = threading.Event()
        threading.Thread(target=drip, args=(slow, hello, stop), daemon=True).start()
        time.sleep(2)
        st, body = get(srv, "/api/v1/version", tls=True)
        check("HTTPS GET while 80 handshakes drip", st == 200, body)
        st, body = get(srv, f"/api/v1/workflows/{NS}", tls=True)
        check("HTTPS GET of a list while 80 handshakes drip", st == 200, body[:200])
        closed = closed_by_server(slow, 20)
        stop.set()
        check("slow handshakes are cut off after the deadline", closed == len(slow), f"{closed} of {len(slow)}")
        for s in slow:
            s.close()
    finally:
        out = stop_checked(srv, check)
        if check.failures:
            print(out[-3000:])


def client_hello():
    """The bytes of a real TLS ClientHello, as a client sends them first."""
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def server(skiff, data, *extra):
    """A started server over `data` with client auth; its token allows every namespace."""
    os.makedirs(data, exist_ok=True)
    token = subprocess.run([skiff, "token", "create", "-n", "*", "--data", data], check=True,
                           capture_output=True, text=True).stdout.strip()
    return Server(skiff, data, *extra, auth="client", token=token).start()


def run(check, srv, *cases):
    """Runs `cases` against `srv`, then stops it (it must stop with streams open)."""
    try:
        for case in cases:
            try:
                case(srv, check)
            except Exception as e:  # noqa: BLE001 - reported as a failure
                check(f"{case.__name__}: no exception", False, f"{type(e).__name__}: {e}")
    finally:
        try:
            srv.call("DELETE", f"/api/v1/workflows/{NS}/quiet")  # its step must not outlive the test
        except OSError:
            pass
        out = stop_checked(srv, check)
    if check.failures:
        print(out[-3000:])


def main():
    skiff = sys.argv[1]
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="skiff-conn-") as data:
        parts = [(("a",), (streams_do_not_hold_workers, slow_headers, chunked_body, metrics_by_route)),
                 (("b", "--max-streams-per-client", "4", "--max-connections-per-client", "6"),
                  (start_quiet_workflow, streams_capped_per_client, connections_capped_per_client))]
        for (sub, *extra), cases in parts:
            try:
                srv = server(skiff, f"{data}/{sub}", *extra)
            except AssertionError as e:
                check("the server starts", False, e)
                continue
            run(check, srv, *cases)
        try:
            tls_handshakes(skiff, f"{data}/c", check)
        except Exception as e:  # noqa: BLE001
            check("no exception", False, f"{type(e).__name__}: {e}")
    return check.report("hardening-conn")


if __name__ == "__main__":
    sys.exit(main())
