#!/usr/bin/env python3
"""What a client or a step sends cannot take skiff server down: deeply nested JSON in a
create or lint body is refused (400, naming the limit); a body that is not JSON says where
and why; a step printing invalid UTF-8, no final newline, JSON nested 100,000 deep or a
log of megabytes has its whole log read (plain and followed), before and after a
restart; the data directory is private (0700) with its database and logs 0600.
Usage: hardening_input_test.py SKIFF_BINARY"""
import http.client
import json
import os
import stat
import sys
import tempfile

from skiffserver import Checks, Server, running

DEPTH_LIMIT = "512"

# (path, field) of every create and lint route a nested body reaches.
CREATE_AND_LINT = [
    ("/api/v1/workflows/argo", "workflow"),
    ("/api/v1/workflows/argo/lint", "workflow"),
    ("/api/v1/workflow-templates/argo", "template"),
    ("/api/v1/workflow-templates/argo/lint", "template"),
    ("/api/v1/cluster-workflow-templates", "template"),
    ("/api/v1/cron-workflows/argo", "cronWorkflow"),
    ("/api/v1/cron-workflows/argo/lint", "cronWorkflow"),
]


def raw_call(srv, method, path, data):
    """Sends `data` (bytes) as the body; (status, parsed reply or {"raw": text})."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    try:
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        text = r.read()
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, {"raw": text.decode(errors="replace")}
    finally:
        conn.close()


def nested(field, depth, opener="[", closer="]"):
    """A body whose `field` object holds a value nested `depth` levels deep."""
    deep = (opener * depth) + (closer * depth)
    return ('{"%s": {"metadata": {"name": "deep"}, "spec": {"entrypoint": "a", "x": %s}}}' % (field, deep)).encode()


def check_nesting(check, srv):
    for depth in (100_000, 10_000, 600):
        for path, field in CREATE_AND_LINT:
            st, body = raw_call(srv, "POST", path, nested(field, depth))
            check(f"{path} nested {depth} deep is refused naming the limit",
                  st == 400 and DEPTH_LIMIT in body.get("message", "") and "byte" in body.get("message", ""),
                  f"{st} {str(body)[:300]}")
    st, body = raw_call(srv, "POST", "/api/v1/workflows/argo", nested("workflow", 100_000, '{"a":', "}"))
    check("nested objects are refused too", st == 400 and DEPTH_LIMIT in body.get("message", ""), f"{st} {body}")
    st, body = raw_call(srv, "PUT", "/api/v1/workflows/argo/nope/set", nested("x", 100_000))
    check("a nested action body is refused", st == 400 and DEPTH_LIMIT in body.get("message", ""), f"{st} {body}")
    st, _ = srv.call("GET", "/api/v1/version")
    check("the server still answers after nested bodies", st == 200, st)


def check_bad_bodies(check, srv):
    data = b'{"workflow": {"metadata": {"name": "\xff"}}}'
    st, body = raw_call(srv, "POST", "/api/v1/workflows/argo", data)
    byte = data.index(b"\xff") + 1
    check("invalid UTF-8 is named with its byte",
          st == 400 and f"invalid UTF-8 at byte {byte} (line 1, column {byte})" in body.get("message", ""),
          f"{st} {body}")
    data = b'{"workflow": {"metadata": nope}}'
    st, body = raw_call(srv, "POST", "/api/v1/workflows/argo", data)
    message = body.get("message", "")
    byte = data.index(b"nope") + 2  # where the literal stops making sense
    check("a syntax error says where and what",
          st == 400 and f"not valid JSON at byte {byte} (line 1, column {byte})" in message and
          "invalid literal" in message, f"{st} {body}")
    st, body = raw_call(srv, "POST", "/api/v1/workflows/argo", b'{"workflow": {}')
    check("a truncated body says so", st == 400 and "not valid JSON" in body.get("message", "") and
          "end of input" in body.get("message", ""), f"{st} {body}")
    st, body = raw_call(srv, "POST", "/api/v1/workflows/argo", b'{"workflow": 1e999}')
    check("a number out of range is named", st == 400 and "number overflow" in body.get("message", ""), f"{st} {body}")
    st, body = raw_call(srv, "POST", "/api/v1/workflows/argo", b'[1, 2]')
    check("an array is not an object", st == 400 and "not a JSON object (it is array)" in body.get("message", ""),
          f"{st} {body}")


# Steps whose output is not clean text: invalid UTF-8 (in the log, `result` and an output
# parameter) and a last line without a newline, once at once and once after a pause.
BAD_OUTPUT = {"metadata": {"name": "bad-output"}, "spec": {"entrypoint": "main", "templates": [
    {"name": "main", "steps": [[{"name": "bytes", "template": "bytes"}, {"name": "late", "template": "late"}]]},
    {"name": "bytes", "script": {"image": "busybox", "command": ["sh"],
                                 "source": "printf '\\377\\n'; printf 'bad \\377 byte\\n' > /tmp/p; "
                                           "printf 'bad \\377 byte\\n'; printf 'no newline'"},
     "outputs": {"parameters": [{"name": "p", "valueFrom": {"path": "/tmp/p"}}]}},
    {"name": "late", "container": {"image": "busybox", "command": ["sh", "-c",
                                                                   "printf 'first\\n'; sleep 1; printf 'partial tail'"]}},
]}}


def log_lines(srv, name, follow=False, sse=False):
    """The `content` of each line the log route sends (reading to its end)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    query = "?logOptions.container=main" + ("&logOptions.follow=true" if follow else "")
    conn.request("GET", f"/api/v1/workflows/argo/{name}/log{query}",
                 headers={"Accept": "text/event-stream"} if sse else {})
    r = conn.getresponse()
    if r.status != 200:
        raise AssertionError(f"log of {name}: {r.status} {r.read()[:300]}")
    out = []
    for line in r.read().decode().splitlines():
        line = line[len("data: "):] if line.startswith("data: ") else line
        if line.strip():
            out.append(json.loads(line)["result"]["content"])
    conn.close()
    return out


def check_logs(check, srv, name, when):
    want = ["\ufffd", "bad \ufffd byte", "no newline", "first", "partial tail"]
    for sse in (False, True):
        lines = log_lines(srv, name, sse=sse)
        check(f"{when}: the whole log is read (sse {sse})", sorted(lines) == sorted(want), lines)
    wf = srv.call("GET", f"/api/v1/workflows/argo/{name}")[1]
    node = next((n for n in wf.get("status", {}).get("nodes", {}).values() if n.get("displayName") == "bytes"), {})
    outputs = node.get("outputs", {})
    check(f"{when}: result keeps the text with U+FFFD", "bad \ufffd byte" in outputs.get("result", ""), outputs)
    params = {p["name"]: p.get("value") for p in outputs.get("parameters", [])}
    check(f"{when}: the output parameter keeps the text with U+FFFD", params.get("p") == "bad \ufffd byte", outputs)


def check_step_output(check, srv):
    st, body = srv.call("POST", "/api/v1/workflows/argo", {"workflow": BAD_OUTPUT})
    check("bad-output submitted", st == 200, body)
    followed = log_lines(srv, "bad-output", follow=True)
    check("a followed log sends the last partial lines once the steps end",
          "partial tail" in followed and "no newline" in followed and "\ufffd" in followed, followed)
    wf = srv.wait("argo", "bad-output")
    check("bad-output succeeded", wf["status"]["phase"] == "Succeeded", wf["status"])
    check_logs(check, srv, "bad-output", "before a restart")


DEEP_STDOUT = "head -c 100000 /dev/zero | tr '\\0' '['; head -c 100000 /dev/zero | tr '\\0' ']'"


def deep_output_workflow(name, loop):
    """A step printing JSON nested 100,000 deep, read back through withParam or, from a
    loop's children, as their aggregated results."""
    gen = {"name": "gen", "template": "gen", **({"withItems": [1, 2]} if loop else {})}
    use = ({"name": "use", "template": "echo", "arguments": {"parameters": [
               {"name": "x", "value": "{{steps.gen.outputs.result}}"}]}} if loop else
           {"name": "use", "template": "echo", "withParam": "{{steps.gen.outputs.result}}",
            "arguments": {"parameters": [{"name": "x", "value": "{{item}}"}]}})
    return {"metadata": {"name": name}, "spec": {"entrypoint": "main", "templates": [
        {"name": "main", "steps": [[gen], [use]]},
        {"name": "gen", "script": {"image": "busybox", "command": ["sh"], "source": DEEP_STDOUT}},
        {"name": "echo", "inputs": {"parameters": [{"name": "x"}]},
         "container": {"image": "busybox", "command": ["true"]}}]}}


def check_deep_step_output(check, srv):
    for name, loop in (("deep-param", False), ("deep-results", True)):
        st, body = srv.call("POST", "/api/v1/workflows/argo", {"workflow": deep_output_workflow(name, loop)})
        check(f"{name} submitted", st == 200, body)
        wf = srv.wait("argo", name, timeout=60)
        check(f"{name} ends without taking the server down", wf["status"]["phase"] in ("Failed", "Error", "Succeeded"),
              wf["status"].get("phase"))
    st, _ = srv.call("GET", "/api/v1/version")
    check("the server still answers after deep step output", st == 200, st)


def check_long_log(check, srv):
    """A log of several MiB is read to its end, without follow as with it."""
    wf = {"metadata": {"name": "long-log"}, "spec": {"entrypoint": "main", "templates": [
        {"name": "main", "container": {"image": "busybox", "command": ["seq", "1", "400000"]}}]}}
    st, body = srv.call("POST", "/api/v1/workflows/argo", {"workflow": wf})
    check("long-log submitted", st == 200, body)
    srv.wait("argo", "long-log")
    for follow in (False, True):
        lines = log_lines(srv, "long-log", follow=follow)
        check(f"a 2.6 MB log is read whole (follow {follow})", len(lines) == 400000 and lines[-1] == "400000",
              f"{len(lines)} lines, last {lines[-1:]}")


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def check_private_files(check, data):
    check("the data directory is 0700", mode(data) == 0o700, oct(mode(data)))
    for root, dirs, files in os.walk(data):
        for f in files:
            path = os.path.join(root, f)
            if f.startswith("skiff.db") or f.endswith(".log"):
                check(f"{os.path.relpath(path, data)} is 0600", mode(path) == 0o600, oct(mode(path)))


def main():
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="skiff-input-") as tmp:
        data = os.path.join(tmp, "data")  # made by the server
        srv = Server(sys.argv[1], data).start()
        with running(check, srv):
            check_nesting(check, srv)
            check_bad_bodies(check, srv)
            check_step_output(check, srv)
            check_deep_step_output(check, srv)
            check_long_log(check, srv)
            check_private_files(check, data)
        os.chmod(data, 0o755)  # an existing, open data directory is made private at start
        srv.start()
        with running(check, srv):
            check_logs(check, srv, "bad-output", "after a restart")
            check("an open data directory is made private at start", mode(data) == 0o700, oct(mode(data)))
        shared = os.path.join(tmp, "shared")
        os.mkdir(shared)
        os.chmod(shared, 0o1777)
        refused = Server(sys.argv[1], shared)
        try:
            refused.start()
            out = refused.stop()
            check("a world-writable data directory is refused", False, out[-500:])
        except AssertionError as e:
            check("a world-writable data directory is refused with a reason", "writable" in str(e), str(e)[-500:])
    return check.report("hardening-input")


if __name__ == "__main__":
    sys.exit(main())
