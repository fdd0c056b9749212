#!/usr/bin/env python3
"""Applications deployed to this machine (no cluster): a file:// git repository holding a
Deployment of 2 replicas serving HTTP (busybox httpd from the test registry) and a Service.

- the app syncs and becomes Healthy; the Service's port is published on 127.0.0.1 (said in
  the annotation skiff.io/published-ports and status.loadBalancer, and as the app's
  summary.externalURLs, which `skiff app get` shows) and serves the page;
  the resource tree shows app -> Deployment -> ReplicaSet -> Pods;
- a push changing the page (an env var) rolls the pods: a new ReplicaSet, the new page;
- a readiness probe that fails keeps the app Progressing while the old pods keep serving;
- minReadySeconds: a ready pod is available (and the app Healthy) only that long after;
- a paused Deployment does not roll a changed template (Suspended); removing `paused` from git
  resumes it;
- a container killed from outside is restarted (restartCount grows), with events and logs;
- a restarted server brings the workloads back, on the same published port;
- a Service whose nodePort another program holds gets a PortPublished=False condition;
- a StatefulSet runs ordinal pods each with its own claim (a directory under the data dir),
  ready by an exec probe (runc exec in the container),
  a Job completes; a Job failing past its backoffLimit makes its app Degraded;
- a Deployment whose pod never gets ready, with progressDeadlineSeconds: 3, makes its app
  Degraded ("Deployment "stuck" exceeded its progress deadline") within seconds;
- removing the Service's file prunes it (the port closes);
- deleting the app with its finalizer stops every container.
Skips (77) when containers cannot run here. Usage: cd_machine_test.py SKIFF REGISTRY_DIR"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from cd_test import git, write
from skiffserver import Checks, Server, running

NS = "shop"
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
        - name: web
          image: busybox:latest
          command: [sh, -c, 'mkdir -p /cd-machine && echo "$PAGE" > /cd-machine/index.html && echo "serving $PAGE" && exec httpd -f -p 8080 -h /cd-machine']
          env: [{{name: PAGE, value: "{page}"}}]
          ports: [{{name: http, containerPort: 8080}}]
          readinessProbe: {{httpGet: {{path: "{probe}", port: http}}, periodSeconds: 1, failureThreshold: 1}}
"""
BATCH = """apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
        - name: db
          image: busybox:latest
          command: [sh, -c, 'echo "$(hostname) was here" >> /data/visits && exec sleep 3600']
          volumeMounts: [{name: data, mountPath: /data}]
          readinessProbe: {exec: {command: [test, -s, /data/visits]}, periodSeconds: 1}
  volumeClaimTemplates:
    - metadata: {name: data}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Mi}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: once, image: "busybox:latest", command: [sh, -c, "echo done"]}]
"""
FAILING = """apiVersion: batch/v1
kind: Job
metadata: {name: fails}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: fails, image: "busybox:latest", command: [sh, -c, "exit 3"]}]
"""
STUCK = """apiVersion: apps/v1
kind: Deployment
metadata: {name: stuck}
spec:
  replicas: 1
  progressDeadlineSeconds: 3
  selector: {matchLabels: {app: stuck}}
  template:
    metadata: {labels: {app: stuck}}
    spec:
      containers:
        - name: stuck
          image: busybox:latest
          command: [sleep, "3600"]
          readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
"""
SETTLING = """apiVersion: apps/v1
kind: Deployment
metadata: {name: settling}
spec:
  replicas: 1
  minReadySeconds: 5
  selector: {matchLabels: {app: settling}}
  template:
    metadata: {labels: {app: settling}}
    spec:
      containers:
        - name: settling
          image: busybox:latest
          command: [sh, -c, 'mkdir -p /s && echo ok > /s/index.html && exec httpd -f -p 8080 -h /s']
          readinessProbe: {httpGet: {path: /index.html, port: 8080}, periodSeconds: 1}
"""
SERVICE = """apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
"""


def page(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            return r.read().decode().strip()
    except OSError as e:
        return f"error: {e}"


def closed(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except OSError:
        return True


def httpd_pids():
    pids = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                # Its own (the document root is this test's): other tests run httpd on 8080 too.
                if f.read().split(b"\0")[:6] == [b"httpd", b"-f", b"-p", b"8080", b"-h", b"/cd-machine"]:
                    pids.append(int(pid))
        except OSError:
            pass
    return pids


def main():
    if os.geteuid() != 0 or not shutil.which("runc"):
        print("skipped: containers need root and runc")
        return 77
    skiff, registry = sys.argv[1], sys.argv[2]
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="skiff-cd-machine-") as data:
        repo = f"{data}/repo"
        os.makedirs(repo)
        git(repo, "init", "-q", "-b", "main")
        write(repo, "web/deployment.yaml", DEPLOYMENT.format(page="v1", probe="/"))
        write(repo, "web/service.yaml", SERVICE)
        git(repo, "add", "-A")
        first = git(repo, "commit", "-q", "-m", "v1")

        srv = Server(skiff, data, "--registries", f"{registry}/registries.yaml",
                     "--registry-config", f"{registry}/config.json", "--app-resync", "60").start()
        with running(check, srv):
            def status():
                st, a = srv.call("GET", "/api/v1/applications/web")
                return a.get("status", {}) if st == 200 else {}

            def until(pred, what, timeout=120, every=0.3):
                deadline = time.monotonic() + timeout
                last = None
                while time.monotonic() < deadline:
                    last = pred()
                    if last:
                        return last
                    time.sleep(every)
                raise AssertionError(f"no {what} within {timeout} s: {json.dumps(status())[:2000]}")

            def healthy(revision):
                s = status()
                if "cannot run containers" in json.dumps(s.get("conditions", [])):
                    raise SystemExit(print("skipped:", s["conditions"]) or 77)
                return (s.get("sync", {}).get("status") == "Synced" and s.get("sync", {}).get("revision") == revision
                        and s.get("health", {}).get("status") == "Healthy")

            def tree():
                st, t = srv.call("GET", "/api/v1/applications/web/resource-tree")
                return t.get("nodes", []) if st == 200 else []

            def pods():
                return [n for n in tree() if n["kind"] == "Pod"]

            def push(message, **files):
                for path, text in files.items():
                    if text is None:
                        git(repo, "rm", "-q", path)
                    else:
                        write(repo, path, text)
                git(repo, "add", "-A")
                sha = git(repo, "commit", "-q", "-m", message)
                srv.call("GET", "/api/v1/applications/web?refresh=normal")
                return sha

            app = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                   "metadata": {"name": "web", "namespace": "argocd"},
                   "spec": {"project": "default",
                            "source": {"repoURL": f"file://{repo}", "path": "web", "targetRevision": "HEAD"},
                            "destination": {"server": "https://kubernetes.default.svc", "namespace": NS},
                            "syncPolicy": {"automated": {"prune": True, "selfHeal": True},
                                           "syncOptions": ["CreateNamespace=true"]}}}
            st, body = srv.call("POST", "/api/v1/applications", app)
            check("create", st == 200, f"{st} {body}")
            started = time.monotonic()
            until(lambda: healthy(first), "Synced+Healthy", timeout=180)
            print(f"sync to Healthy (2 replicas, image pulled): {time.monotonic() - started:.1f} s")

            st, managed = srv.call("GET", "/api/v1/applications/web/managed-resources")
            live = {i["kind"]: json.loads(i.get("liveState") or "null") for i in managed.get("items", [])}
            svc = live.get("Service") or {}
            published = svc.get("metadata", {}).get("annotations", {}).get("skiff.io/published-ports", "")
            check("the port is said in an annotation", published.startswith("80:"), svc.get("metadata"))
            port = int(published.split(":")[1]) if published.startswith("80:") else 0
            ingress = svc.get("status", {}).get("loadBalancer", {}).get("ingress", [{}])
            check("and in status.loadBalancer", ingress[0].get("ip") == "127.0.0.1"
                  and ingress[0].get("ports", [{}])[0].get("port") == port, svc.get("status"))
            check("the page answers on the published port", page(port) == "v1", page(port))
            url = f"http://127.0.0.1:{port}"
            summary = until(lambda: status().get("summary", {}).get("externalURLs") and status()["summary"],
                            "summary.externalURLs", timeout=10)
            check("the app's summary names the URL and the image", summary.get("externalURLs") == [url]
                  and summary.get("images") == ["busybox:latest"], summary)
            shown = subprocess.run([skiff, "app", "get", "web"], capture_output=True, text=True, timeout=30,
                                   env=dict(os.environ, ARGO_SERVER=f"127.0.0.1:{srv.port}", ARGO_SECURE="false"))
            check("skiff app get shows it", f"External URL:       {url}" in shown.stdout, shown.stdout + shown.stderr)
            nodes = tree()
            sets = [n for n in nodes if n["kind"] == "ReplicaSet"]
            check("a ReplicaSet under the Deployment", len(sets) == 1 and sets[0]["parentRefs"][0]["kind"] == "Deployment",
                  nodes)
            check("two Pods under it", len([n for n in nodes if n["kind"] == "Pod"
                                            and n["parentRefs"][0]["name"] == sets[0]["name"]]) == 2, nodes)
            old_pods = {n["name"] for n in pods()}

            # A new env var: the pods roll to a new ReplicaSet and serve the new page.
            started = time.monotonic()
            second = push("v2", **{"web/deployment.yaml": DEPLOYMENT.format(page="v2", probe="/")})
            until(lambda: healthy(second), "Healthy at v2")
            until(lambda: page(port) == "v2" and page(port) == "v2", "the new page", timeout=30)
            print(f"rollout to Healthy (2 replicas): {time.monotonic() - started:.1f} s")
            now_pods = {n["name"] for n in pods()}
            check("new pods replaced the old", len(now_pods) == 2 and not now_pods & old_pods, (old_pods, now_pods))
            check("a second ReplicaSet", len([n for n in tree() if n["kind"] == "ReplicaSet"]) == 2, tree())

            # A readiness probe that fails: Progressing, the old pods keep serving.
            third = push("bad probe", **{"web/deployment.yaml": DEPLOYMENT.format(page="v3", probe="/missing.html")})
            until(lambda: status().get("sync", {}).get("revision") == third, "the bad probe synced")
            healths = set()
            for _ in range(20):
                healths.add(status().get("health", {}).get("status"))
                time.sleep(0.4)
            check("a failing readiness probe keeps it Progressing", healths == {"Progressing"}, healths)
            check("the old pods still serve", page(port) == "v2", page(port))
            fourth = push("good probe", **{"web/deployment.yaml": DEPLOYMENT.format(page="v3", probe="/index.html")})
            until(lambda: healthy(fourth), "Healthy at v3")
            until(lambda: page(port) == "v3", "the v3 page", timeout=30)

            # Paused: a changed template makes no new ReplicaSet (Suspended, the v3 pods
            # serve); resumed, it rolls.
            sets_before = {n["name"] for n in tree() if n["kind"] == "ReplicaSet"}
            paused = push("paused", **{"web/deployment.yaml": DEPLOYMENT.format(page="v4", probe="/index.html")
                                       .replace("  replicas: 2\n", "  replicas: 2\n  paused: true\n")})
            until(lambda: status().get("sync", {}).get("revision") == paused
                  and status().get("health", {}).get("status") == "Suspended", "Suspended while paused")
            time.sleep(1.5)
            check("paused: no new ReplicaSet", {n["name"] for n in tree() if n["kind"] == "ReplicaSet"} == sets_before,
                  tree())
            check("paused: the v3 pods still serve", page(port) == "v3", page(port))
            # Resumed by removing the field from git (apply drops what it no longer gives).
            fourth = push("resumed", **{"web/deployment.yaml": DEPLOYMENT.format(page="v3", probe="/index.html")})
            until(lambda: healthy(fourth), "Healthy once resumed")
            check("resumed: the v3 ReplicaSet serves again", page(port) == "v3", page(port))

            # A container killed from outside is restarted, after kubelet's 10 s back-off.
            # The old ReplicaSet's pods may still be stopping (as Terminating pods on Kubernetes).
            until(lambda: len(httpd_pids()) == 2, "the old pods gone", timeout=40)
            pids = httpd_pids()
            check("two httpd processes run", len(pids) == 2, pids)
            if pids:
                os.kill(pids[0], signal.SIGKILL)
            restarted = until(lambda: [p for p in pods() if any(i["name"] == "Restart Count" and i["value"] != "0"
                                                                 for i in p.get("info", []))], "a restart", timeout=60)
            until(lambda: healthy(fourth) and len(httpd_pids()) == 2, "Healthy after the restart", timeout=60)
            st, events = srv.call("GET", "/api/v1/applications/web/events")
            reasons = {e["reason"] for e in events.get("items", [])}
            check("events say what happened", {"Started", "BackOff", "Unhealthy"} <= reasons, reasons)
            pod = restarted[0]["name"]
            st, logs = srv.call("GET", f"/api/v1/applications/web/logs?podName={pod}&namespace={NS}&container=web",
                                raw=True)
            lines = [json.loads(line)["result"] for line in logs.splitlines() if line.strip()]
            check("logs as Argo CD streams them", st == 200 and any(r["content"] == "serving v3" and r["podName"] == pod
                                                                     for r in lines), f"{st} {logs[:500]}")
            # follow=true streams: the first line comes while the container still runs.
            with urllib.request.urlopen(f"{srv.base}/api/v1/applications/web/logs?podName={pod}&follow=true"
                                        f"&tailLines=1", timeout=10) as stream:
                first_line = json.loads(stream.readline())["result"]
            check("follow streams the log", first_line["content"] == "serving v3", first_line)
            st, body = srv.call("GET", "/api/v1/applications/web/logs?podName=not-mine", raw=True)
            check("a pod not of the app is 404", st == 404, f"{st} {body}")

            # A restarted server brings the workloads back, on the same port.
            srv.stop()
            # Stopped with it (a container still exiting on a busy machine gets a few seconds).
            deadline = time.time() + 10
            while httpd_pids() and time.time() < deadline:
                time.sleep(0.1)
            left = httpd_pids()
            check("containers end with the server", not left, left)
            srv.start()
            until(lambda: healthy(fourth) and page(port) == "v3", "the page back after a restart", timeout=60)

            # A nodePort another program holds: a condition on the Service, nothing else breaks.
            with socket.socket() as holder:
                holder.bind(("127.0.0.1", 0))
                holder.listen(1)
                busy = holder.getsockname()[1]
                write(repo, "busy/service.yaml", SERVICE.replace("name: web}", "name: busy}").replace(
                    "targetPort: http}", f"targetPort: http, nodePort: {busy}}}"))
                git(repo, "add", "-A")
                git(repo, "commit", "-q", "-m", "busy")
                busy_app = json.loads(json.dumps(app))
                busy_app["metadata"]["name"] = "busy"
                busy_app["spec"]["source"]["path"] = "busy"
                st, body = srv.call("POST", "/api/v1/applications", busy_app)
                check("create busy", st == 200, f"{st} {body}")

                def busy_condition():
                    st, m = srv.call("GET", "/api/v1/applications/busy/managed-resources")
                    items = m.get("items", []) if st == 200 else []
                    live = json.loads(items[0].get("liveState") or "null") if items else None
                    return [c for c in (live or {}).get("status", {}).get("conditions", [])
                            if c.get("type") == "PortPublished" and c.get("status") == "False"]
                conditions = until(busy_condition, "a PortPublished condition", timeout=30)
                check("the condition says the port is in use", f"127.0.0.1:{busy}" in conditions[0]["message"]
                      and "in use" in conditions[0]["message"], conditions)
                check("the web page still answers", page(port) == "v3", page(port))
            srv.call("DELETE", "/api/v1/applications/busy?cascade=true")

            # A StatefulSet (ordinal pods, a claim each) and a Job; a Job that fails for good.
            write(repo, "batch/all.yaml", BATCH)
            write(repo, "failing/job.yaml", FAILING)
            write(repo, "stuck/deployment.yaml", STUCK)
            write(repo, "settling/deployment.yaml", SETTLING)
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", "batch")
            created = time.monotonic()
            for name in ("batch", "failing", "stuck", "settling"):
                other = json.loads(json.dumps(app))
                other["metadata"]["name"] = name
                other["spec"]["source"]["path"] = name
                st, body = srv.call("POST", "/api/v1/applications", other)
                check(f"create {name}", st == 200, f"{st} {body}")

            def app_health(name):
                st, a = srv.call("GET", f"/api/v1/applications/{name}")
                return a.get("status", {}).get("health", {}).get("status") if st == 200 else None
            # minReadySeconds (5): ready is not yet available; the app is Healthy once it is.
            def settling_status():
                st, m = srv.call("GET", "/api/v1/applications/settling/managed-resources")
                items = m.get("items", []) if st == 200 else []
                live = json.loads(items[0].get("liveState") or "null") if items else None
                return (live or {}).get("status", {})
            first_ready = until(lambda: settling_status().get("readyReplicas") == 1 and settling_status(),
                                "the settling pod ready", timeout=60, every=0.1)
            check("minReadySeconds: ready but not yet available", not first_ready.get("availableReplicas")
                  and app_health("settling") == "Progressing", (first_ready, app_health("settling")))
            until(lambda: app_health("settling") == "Healthy", "Healthy once available", timeout=30)
            check("available after minReadySeconds", settling_status().get("availableReplicas") == 1, settling_status())
            until(lambda: app_health("batch") == "Healthy", "the StatefulSet and Job Healthy", timeout=90)
            st, t = srv.call("GET", "/api/v1/applications/batch/resource-tree")
            names = sorted(n["name"] for n in t.get("nodes", []) if n["kind"] == "Pod")
            check("StatefulSet pods by ordinal, one Job pod", names[:2] == ["db-0", "db-1"] and len(names) == 3
                  and names[2].startswith("once-"), names)
            for ordinal in (0, 1):
                visits = f"{data}/volumes/{NS}/data-db-{ordinal}/visits"
                check(f"db-{ordinal} wrote to its own claim", os.path.exists(visits)
                      and "was here" in open(visits).read(), visits)
            until(lambda: app_health("failing") == "Degraded", "the failing Job Degraded", timeout=60)
            st, managed = srv.call("GET", "/api/v1/applications/failing/managed-resources")
            live = json.loads(managed.get("items", [{}])[0].get("liveState") or "{}")
            check("the Job says why", any(c.get("reason") == "BackoffLimitExceeded"
                                          for c in live.get("status", {}).get("conditions", [])), live.get("status"))

            # A Deployment that cannot get ready within its progressDeadlineSeconds (3).
            until(lambda: app_health("stuck") == "Degraded", "the stuck Deployment Degraded", timeout=60)
            print(f"create to Degraded (progressDeadlineSeconds 3): {time.monotonic() - created:.1f} s")
            st, a = srv.call("GET", "/api/v1/applications/stuck")
            res = [r for r in a.get("status", {}).get("resources", []) if r.get("kind") == "Deployment"]
            check("the Deployment's health says why", res and res[0].get("health") == {
                "status": "Degraded", "message": 'Deployment "stuck" exceeded its progress deadline'}, res)
            st, managed = srv.call("GET", "/api/v1/applications/stuck/managed-resources")
            live = json.loads(managed.get("items", [{}])[0].get("liveState") or "{}")
            progressing = [c for c in live.get("status", {}).get("conditions", []) if c.get("type") == "Progressing"]
            rs = [n["name"] for n in srv.call("GET", "/api/v1/applications/stuck/resource-tree")[1].get("nodes", [])
                  if n["kind"] == "ReplicaSet"]
            check("its Progressing condition is Kubernetes'", progressing and rs and progressing[0].get("status") == "False"
                  and progressing[0].get("reason") == "ProgressDeadlineExceeded"
                  and progressing[0].get("message") == f'ReplicaSet "{rs[0]}" has timed out progressing.', (progressing, rs))
            for name in ("batch", "failing", "stuck"):
                srv.call("DELETE", f"/api/v1/applications/{name}?cascade=true")

            # Removing the Service's file prunes it: the port closes.
            fifth = push("no service", **{"web/service.yaml": None})
            until(lambda: healthy(fifth), "Healthy without the service")
            until(lambda: closed(port), "the port closed", timeout=20)

            # Deleting the app with its finalizer stops everything.
            st, body = srv.call("DELETE", "/api/v1/applications/web?cascade=true")
            check("delete", st == 200, f"{st} {body}")
            until(lambda: srv.call("GET", "/api/v1/applications/web")[0] == 404, "the app gone", timeout=60)
            until(lambda: not httpd_pids(), "every container stopped", timeout=60)
    return check.report("cd-machine")


if __name__ == "__main__":
    sys.exit(main())
