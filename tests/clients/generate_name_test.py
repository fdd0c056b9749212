#!/usr/bin/env python3
"""WorkflowTemplates, ClusterWorkflowTemplates and CronWorkflows created through the API with
metadata.generateName and no name get a generated name, as Kubernetes and Argo give them;
a bad prefix and a missing name and prefix are still 400s. Usage: generate_name_test.py SKIFF"""
import sys
import tempfile

from skiffserver import Checks, Server, running

SPEC = {"entrypoint": "a", "templates": [{"name": "a", "container": {"image": "busybox", "command": ["true"]}}]}


def main():
    check = Checks()
    with tempfile.TemporaryDirectory(prefix="skiff-genname-") as data:
        srv = Server(sys.argv[1], data).start()
        with running(check, srv):
            cases = [
                ("/api/v1/workflow-templates/argo", "template", {"spec": SPEC}),
                ("/api/v1/cluster-workflow-templates", "template", {"spec": SPEC}),
                ("/api/v1/cron-workflows/argo", "cronWorkflow",
                 {"spec": {"schedule": "0 0 1 1 *", "workflowSpec": SPEC}}),
            ]
            for path, field, body in cases:
                names = []
                for _ in range(2):
                    obj = dict(body, metadata={"generateName": "gen-"})
                    st, got = srv.call("POST", path, {field: obj})
                    name = got.get("metadata", {}).get("name", "") if st == 200 else ""
                    check(f"{path}: created", st == 200, f"{st} {got}")
                    check(f"{path}: name from the prefix", name.startswith("gen-") and len(name) == len("gen-") + 5,
                          repr(name))
                    check(f"{path}: generateName kept", got.get("metadata", {}).get("generateName") == "gen-", got)
                    names.append(name)
                    item = path + "/" + name
                    st, again = srv.call("GET", item)
                    check(f"{path}: readable by its name", st == 200 and again["metadata"]["name"] == name, f"{st}")
                check(f"{path}: two names", names[0] != names[1], names)
                st, got = srv.call("POST", path, {field: dict(body, metadata={"generateName": "Bad_"})})
                check(f"{path}: bad prefix refused", st == 400 and "generateName" in got.get("message", ""), f"{st} {got}")
                st, got = srv.call("POST", path, {field: dict(body, metadata={})})
                check(f"{path}: no name refused", st == 400 and "name" in got.get("message", ""), f"{st} {got}")
    return check.report("generate-name")


if __name__ == "__main__":
    sys.exit(main())
