#!/usr/bin/env python3
"""How skiff server serves the web UI's files (--ui DIR): files by name, index.html for
the app's own routes (deep links), nothing outside DIR, JSON 404s under /api/, and a page
that says how to build the UI when there is none. Usage: ui_serving_test.py SKIFF"""
import http.client
import os
import sys
import tempfile

from skiffserver import Checks, Server, running


def get(srv, path):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    conn.request("GET", path)  # sent as written: no client-side normalisation of ".."
    r = conn.getresponse()
    body = r.read().decode(errors="replace")
    conn.close()
    return r.status, r.getheader("Content-Type", ""), body


def main():
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="skiff-ui-") as tmp:
        ui = os.path.join(tmp, "ui")
        os.makedirs(os.path.join(ui, "assets"))
        with open(os.path.join(ui, "index.html"), "w") as f:
            f.write("<!doctype html><title>skiff ui</title>")
        with open(os.path.join(ui, "assets", "app-1234.js"), "w") as f:
            f.write("console.log('app')")
        with open(os.path.join(ui, ".secret"), "w") as f:
            f.write("hidden")
        with open(os.path.join(tmp, "outside.txt"), "w") as f:
            f.write("outside")
        srv = Server(sys.argv[1], os.path.join(tmp, "data"), "--ui", ui).start()
        with running(check, srv):
            st, ctype, body = get(srv, "/")
            check("/ is the app", st == 200 and "skiff ui" in body and ctype.startswith("text/html"), (st, body))
            st, ctype, body = get(srv, "/workflows/argo/hello?tab=workflow")
            check("a deep link loads the app", st == 200 and "skiff ui" in body, (st, body))
            st, ctype, body = get(srv, "/assets/app-1234.js")
            check("assets by name", st == 200 and "console.log" in body and "javascript" in ctype, (st, ctype))
            for path in ("/../outside.txt", "/assets/../../outside.txt", "/.secret", "/%2e%2e/outside.txt"):
                st, ctype, body = get(srv, path)
                check(f"{path} serves nothing outside or hidden", "outside" not in body and "hidden" not in body,
                      (st, body[:100]))
            st, ctype, body = get(srv, "/api/v1/nothing-here")
            check("unknown API paths stay JSON 404s", st == 404 and ctype.startswith("application/json"), (st, body))
            st, _, body = get(srv, "/metrics")
            check("/metrics is not the app", st == 200 and "skiff ui" not in body)
        bare = Server(sys.argv[1], os.path.join(tmp, "data2"), "--ui", os.path.join(tmp, "missing")).start()
        with running(check, bare):
            st, ctype, body = get(bare, "/")
            check("without a build / says how to make one", st == 200 and "scripts/build" in body and "--ui" in body,
                  (st, body[:300]))
    return check.report("ui-serving")


if __name__ == "__main__":
    sys.exit(main())
