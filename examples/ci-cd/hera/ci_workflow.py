#!/usr/bin/env python3
"""The reference CI/CD pipeline written with Hera, the Python SDK for Argo Workflows.

The same five WorkflowTemplates as the YAML beside it (examples/ci-cd/*.yaml) and the
`ci-workflow` DAG that calls them by templateRef, made with Hera's objects. Running this file
creates (or, when they exist, updates) the templates on the server, then submits a Workflow
naming ci-workflow, waits for it and prints its phase and its link in the UI.

    python ci_workflow.py --app-repo https://git.example/demo-app.git \\
        --git-branch feature-1 --container-registry registry.example:5000

The server is found as the argo CLI finds it: ARGO_SERVER (host:port, or a URL),
ARGO_SECURE (https unless "false"), ARGO_INSECURE_SKIP_VERIFY, ARGO_TOKEN, ARGO_NAMESPACE;
each has a flag too (--help). Exits 0 when the workflow Succeeded, 1 when it ended otherwise,
2 when the server refused a request.
"""
import argparse
import os
import sys

import requests
from hera.exceptions import AlreadyExists, HeraException
from hera.workflows import (
    DAG,
    AccessMode,
    ConfigMapVolume,
    Container,
    Counter,
    EmptyDirVolume,
    Env,
    Gauge,
    Label,
    Parameter,
    Resource,
    Script,
    SecretEnv,
    SecretVolume,
    Task,
    Volume,
    Workflow,
    WorkflowsService,
    WorkflowTemplate,
)
from hera.workflows.models import (
    KeyToPath,
    ResourceRequirements,
    SecurityContext,
    TemplateRef,
    ValueFrom,
    VolumeMount,
    WorkflowTemplateRef,
)

# Every step's workspace: the workflow's `workdir` claim (ci-workflow's volumeClaimTemplates).
WORKDIR = VolumeMount(name="workdir", mount_path="/workdir")


def step_metrics(step):
    """What each step reports to Prometheus: its duration, and a count of its results."""

    def result(status):
        return Counter(
            name="result_counter",
            help="Pipeline steps by their result",
            labels=[Label(key="name", value=step), Label(key="status", value=status)],
            when=f"{{{{status}}}} == {status}",
            value="1",
        )

    # Hera's Gauge requires `realtime`; Argo reads a missing one as false.
    duration = Gauge(
        name="exec_duration_gauge",
        help="Duration of a pipeline step, in seconds",
        labels=[Label(key="name", value=step)],
        value="{{duration}}",
        realtime=False,
    )
    return [duration, result("Succeeded"), result("Failed")]


GIT_CHECKOUT = """\
set -eu
rm -rf /workdir/src
# The token goes in a header, never in the URL, the log or the clone's config.
auth="Authorization: Basic $(printf '%s:%s' "$GIT_USERNAME" "$GIT_TOKEN" | base64 | tr -d '\\n')"
git -c http.extraHeader="$auth" clone --quiet --branch "$GIT_BRANCH" "$APP_REPO" /workdir/src
cd /workdir/src
git -c http.extraHeader="$auth" fetch --quiet origin "$TARGET_BRANCH"
git merge --no-edit FETCH_HEAD
git rev-parse HEAD > /tmp/commit
echo "checked out $GIT_BRANCH at $(cat /tmp/commit), merged $TARGET_BRANCH"
"""


def git_checkout_pr(**service):
    """Clones the repository with a token, checks out the pull request's branch and merges the
    target branch into it, in the shared claim (at /workdir/src)."""
    with WorkflowTemplate(name="git-checkout-pr", **service) as wt:
        Container(
            name="git-checkout-pr",
            inputs=[Parameter(name="app_repo"), Parameter(name="git_branch"), Parameter(name="target_branch")],
            outputs=[Parameter(name="commit", value_from=ValueFrom(path="/tmp/commit"))],
            active_deadline_seconds=1200,
            image="alpine:3.20",
            command=["sh", "-c"],
            args=[GIT_CHECKOUT],
            env=[
                Env(name="APP_REPO", value="{{inputs.parameters.app_repo}}"),
                Env(name="GIT_BRANCH", value="{{inputs.parameters.git_branch}}"),
                Env(name="TARGET_BRANCH", value="{{inputs.parameters.target_branch}}"),
                SecretEnv(name="GIT_USERNAME", secret_name="git-credentials", secret_key="username"),
                SecretEnv(name="GIT_TOKEN", secret_name="git-credentials", secret_key="token"),
                Env(name="GIT_SSL_CAINFO", value="/etc/git-ca/ca.crt"),
                Env(name="GIT_AUTHOR_NAME", value="ci"),
                Env(name="GIT_AUTHOR_EMAIL", value="ci@example.com"),
                Env(name="GIT_COMMITTER_NAME", value="ci"),
                Env(name="GIT_COMMITTER_EMAIL", value="ci@example.com"),
            ],
            termination_message_policy="FallbackToLogsOnError",
            resources=ResourceRequirements(requests={"cpu": "100m", "memory": "64Mi"},
                                           limits={"cpu": "1", "memory": "256Mi"}),
            volume_mounts=[WORKDIR],
            volumes=[SecretVolume(name="git-ca", secret_name="git-ca", mount_path="/etc/git-ca", read_only=True)],
            metrics=step_metrics("git-checkout-pr"),
        )
    return wt


HTML_MODIFIER = """\
set -euo pipefail
page='{{inputs.parameters.file}}'
if ! grep -q CHANGEMEPLEASE "$page"; then
  echo "CHANGEMEPLEASE not found in $page: nothing to replace (was the page changed already?)" >&2
  exit 1
fi
sed -i 's/CHANGEMEPLEASE/{{workflow.name}}/g' "$page"
echo "$page now names {{workflow.name}}"
"""


def html_modifier(**service):
    """Writes the workflow's name into the page; a page without CHANGEMEPLEASE fails the step."""
    with WorkflowTemplate(name="html-modifier", **service) as wt:
        Script(
            name="html-modifier",
            inputs=[Parameter(name="file", value="/workdir/src/CI/index.html")],
            image="bash:5.2",
            command=["bash"],
            source=HTML_MODIFIER,
            termination_message_policy="FallbackToLogsOnError",
            volume_mounts=[WORKDIR],
            metrics=step_metrics("html-modifier"),
        )
    return wt


CONTAINER_BUILD = """\
set -eu
buildctl-daemonless.sh build \\
  --frontend dockerfile.v0 \\
  --local context='{{inputs.parameters.context}}' \\
  --local dockerfile='{{inputs.parameters.context}}' \\
  --output type=image,name='{{inputs.parameters.image}}',push=true \\
  --metadata-file /tmp/metadata.json
sed -n 's/.*"containerimage.digest": *"\\([^"]*\\)".*/\\1/p' /tmp/metadata.json > /tmp/digest
echo "pushed {{inputs.parameters.image}}@$(cat /tmp/digest)"
"""


def container_build(**service):
    """Builds CI/Dockerfile with BuildKit and pushes the image, trusting the registry's CA (added
    to the image's CA directory) and logging in with a docker-registry secret's config.json;
    buildkitd.toml comes from the config map buildkitd-config. Outputs the pushed digest."""
    with WorkflowTemplate(name="container-build", **service) as wt:
        Container(
            name="container-build",
            inputs=[Parameter(name="image"), Parameter(name="context", value="/workdir/src/CI")],
            outputs=[Parameter(name="digest", value_from=ValueFrom(path="/tmp/digest"))],
            image="moby/buildkit:v0.34.2",
            command=["sh", "-c"],
            args=[CONTAINER_BUILD],
            env=[Env(name="DOCKER_CONFIG", value="/.docker")],
            termination_message_policy="FallbackToLogsOnError",
            security_context=SecurityContext(privileged=True),
            volume_mounts=[WORKDIR],
            volumes=[
                SecretVolume(name="docker-config", secret_name="registry-credentials", mount_path="/.docker",
                             read_only=True, items=[KeyToPath(key=".dockerconfigjson", path="config.json")]),
                SecretVolume(name="harbor-ca", secret_name="harbor-ca", mount_path="/etc/ssl/certs/harbor-ca.crt",
                             sub_path="harbor-ca.crt", read_only=True),
                ConfigMapVolume(name="buildkitd-config", config_map_name="buildkitd-config", mount_path="/etc/buildkit",
                                read_only=True),
                # buildkitd's state: its overlay snapshots cannot sit on the image's overlay rootfs.
                EmptyDirVolume(name="buildkitd", mount_path="/var/lib/buildkit"),
            ],
            metrics=step_metrics("container-build"),
        )
    return wt


APPLICATION = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {{inputs.parameters.app_name}}
  namespace: argocd
  finalizers:
    - resources-finalizer.argocd.argoproj.io
spec:
  project: default
  source:
    repoURL: {{inputs.parameters.app_repo}}
    targetRevision: {{inputs.parameters.git_branch}}
    path: bootstrap/final-application
    kustomize:
      images:
        - demo-app={{inputs.parameters.image}}
  destination:
    server: {{inputs.parameters.destination}}
    namespace: {{inputs.parameters.app_namespace}}
  syncPolicy:
    automated:
      prune: true
      selfHeal: true
    syncOptions:
      - CreateNamespace=true
      - PruneLast=true
"""


def deploy_application(**service):
    """Creates the Argo CD Application that deploys the image just built and waits until it is
    Healthy; Degraded fails the step."""
    with WorkflowTemplate(name="deploy-application", **service) as wt:
        Resource(
            name="deploy-application",
            inputs=[
                Parameter(name="app_repo"),
                Parameter(name="git_branch"),
                Parameter(name="image"),
                Parameter(name="app_name", value="final-application"),
                Parameter(name="app_namespace", value="final-application"),
                Parameter(name="destination", value="https://kubernetes.default.svc"),
            ],
            action="create",
            success_condition="status.health.status == Healthy",
            failure_condition="status.health.status == Degraded",
            manifest=APPLICATION,
            metrics=step_metrics("deploy-application"),
        )
    return wt


def delete_application(**service):
    """Deletes the Application and, through its finalizer, everything it deployed."""
    with WorkflowTemplate(name="delete-application", **service) as wt:
        Resource(
            name="delete-application",
            inputs=[Parameter(name="app_name", value="final-application")],
            action="delete",
            flags=["--ignore-not-found"],
            manifest=(
                "apiVersion: argoproj.io/v1alpha1\n"
                "kind: Application\n"
                "metadata:\n"
                "  name: {{inputs.parameters.app_name}}\n"
                "  namespace: argocd\n"
            ),
            metrics=step_metrics("delete-application"),
        )
    return wt


def step(name):
    """A task calling the template of that name in the WorkflowTemplate of that name."""
    return TemplateRef(name=name, template=name)


def workflow_param(name):
    return Parameter(name=name, value=f"{{{{workflow.parameters.{name}}}}}")


def ci_workflow(**service):
    """The pipeline: check out the pull request, write the build's name into the page, build
    and push the image, deploy it; a failed deploy deletes the Application again."""
    image = "{{workflow.parameters.container_registry}}/{{workflow.parameters.container_image}}"
    with WorkflowTemplate(
        name="ci-workflow",
        entrypoint="ci",
        arguments=[
            Parameter(name="app_repo", description="the application's git repository (https)"),
            Parameter(name="git_branch", description="the pull request's branch"),
            Parameter(name="target_branch", value="main"),
            Parameter(name="container_registry", description="where the image is pushed (host:port)"),
            Parameter(name="container_image", value="demo-app"),
            Parameter(name="app_name", value="final-application"),
            Parameter(name="app_namespace", value="final-application"),
        ],
        # The git server and the registry of this set-up listen on 127.0.0.1 only.
        host_network=True,
        volumes=[Volume(name="workdir", size="1Gi", access_modes=[AccessMode.read_write_many])],
        **service,
    ) as wt:
        with DAG(name="ci"):
            Task(name="git-checkout-pr", template_ref=step("git-checkout-pr"),
                 arguments=[workflow_param("app_repo"), workflow_param("git_branch"), workflow_param("target_branch")])
            Task(name="html-modifier", depends="git-checkout-pr", template_ref=step("html-modifier"))
            Task(name="container-build", depends="html-modifier", template_ref=step("container-build"),
                 arguments=[Parameter(name="image", value=image + ":{{workflow.name}}")])
            Task(name="deploy-application", depends="container-build", template_ref=step("deploy-application"),
                 arguments=[
                     workflow_param("app_repo"),
                     workflow_param("git_branch"),
                     Parameter(name="image", value=image + "@{{tasks.container-build.outputs.parameters.digest}}"),
                     workflow_param("app_name"),
                     workflow_param("app_namespace"),
                 ])
            Task(name="delete-application", depends="deploy-application.Failed",
                 template_ref=step("delete-application"), arguments=[workflow_param("app_name")])
    return wt


def templates(**service):
    """The six WorkflowTemplates, steps first; `service` is passed to each (workflows_service,
    namespace), so they can be created, or left out to only build them."""
    return [f(**service) for f in (git_checkout_pr, html_modifier, container_build, deploy_application,
                                   delete_application, ci_workflow)]


def create_or_update(wt):
    try:
        wt.create()
        return "created"
    except AlreadyExists:
        wt.update()
        return "updated"


def workflow(a, **service):
    """A run of ci-workflow for one pull request; `a` holds the parsed flags."""
    return Workflow(
        generate_name="ci-workflow-",
        workflow_template_ref=WorkflowTemplateRef(name="ci-workflow"),
        arguments=[
            Parameter(name="app_repo", value=a.app_repo),
            Parameter(name="git_branch", value=a.git_branch),
            Parameter(name="target_branch", value=a.target_branch),
            Parameter(name="container_registry", value=a.container_registry),
            Parameter(name="container_image", value=a.container_image),
            Parameter(name="app_name", value=a.app_name),
            Parameter(name="app_namespace", value=a.app_namespace),
        ],
        **service,
    )


def env_flag(name, default=""):
    return os.environ.get(name, default)


def server_url(server, secure):
    """ARGO_SERVER is host:port as the argo CLI takes it; a full URL is taken as it is."""
    if "://" in server:
        return server.rstrip("/")
    return ("https://" if secure else "http://") + server


def parse_args(argv):
    truthy = ("1", "true", "yes")
    p = argparse.ArgumentParser(description="Create the CI/CD pipeline's templates and run it, with Hera.")
    p.add_argument("--server", default=env_flag("ARGO_SERVER", "localhost:2746"),
                   help="Argo Server (or skiff server): host:port or a URL (env ARGO_SERVER)")
    p.add_argument("--secure", default=env_flag("ARGO_SECURE", "true").lower() in truthy,
                   action=argparse.BooleanOptionalAction, help="use https (env ARGO_SECURE; default true)")
    p.add_argument("--insecure-skip-verify", action="store_true",
                   default=env_flag("ARGO_INSECURE_SKIP_VERIFY").lower() in truthy,
                   help="do not verify the server's certificate (env ARGO_INSECURE_SKIP_VERIFY)")
    p.add_argument("--token", default=env_flag("ARGO_TOKEN"),
                   help="the server's token, with or without 'Bearer ' (env ARGO_TOKEN)")
    p.add_argument("-n", "--namespace", default=env_flag("ARGO_NAMESPACE", "argo"),
                   help="namespace of the templates and the workflow (env ARGO_NAMESPACE; default argo)")
    p.add_argument("--app-repo", default=env_flag("APP_REPO"), help="the application's git repository (env APP_REPO)")
    p.add_argument("--git-branch", default=env_flag("GIT_BRANCH"), help="the pull request's branch (env GIT_BRANCH)")
    p.add_argument("--target-branch", default=env_flag("TARGET_BRANCH", "main"),
                   help="merged into the branch before the build (env TARGET_BRANCH; default main)")
    p.add_argument("--container-registry", default=env_flag("CONTAINER_REGISTRY"),
                   help="registry host:port the image is pushed to (env CONTAINER_REGISTRY)")
    p.add_argument("--container-image", default=env_flag("CONTAINER_IMAGE", "demo-app"),
                   help="image repository (env CONTAINER_IMAGE; default demo-app)")
    p.add_argument("--app-name", default=env_flag("APP_NAME", "final-application"),
                   help="the Application's name (env APP_NAME)")
    p.add_argument("--app-namespace", default=env_flag("APP_NAMESPACE", "final-application"),
                   help="where the application is deployed (env APP_NAMESPACE)")
    p.add_argument("--poll-interval", type=float, default=1.0, help="seconds between status checks (default 1)")
    a = p.parse_args(argv)
    missing = [flag for flag, value in (("--app-repo", a.app_repo), ("--git-branch", a.git_branch),
                                        ("--container-registry", a.container_registry)) if not value]
    if missing:
        p.error(f"missing {', '.join(missing)} (or their environment variables)")
    return a


def main(argv):
    a = parse_args(argv)
    ws = WorkflowsService(host=server_url(a.server, a.secure), namespace=a.namespace,
                          token=a.token or None, verify_ssl=not a.insecure_skip_verify)
    try:
        for wt in templates(workflows_service=ws, namespace=a.namespace):
            print(f"WorkflowTemplate {wt.name}: {create_or_update(wt)}", flush=True)

        wf = workflow(a, workflows_service=ws, namespace=a.namespace)
        wf.create()
        print(f"Workflow {wf.name}: submitted", flush=True)
        done = wf.wait(poll_interval=a.poll_interval)
    except HeraException as e:
        print(f"ci_workflow: the server at {ws.host} refused: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    except requests.RequestException as e:
        print(f"ci_workflow: cannot reach the server at {ws.host}: {e}", file=sys.stderr)
        return 2
    phase = done.status.phase
    message = f" ({done.status.message})" if done.status.message else ""
    print(f"Workflow {wf.name}: {phase}{message}")
    for node in (done.status.nodes or {}).values():
        if node.type == "Pod" and node.phase in ("Failed", "Error"):
            print(f"  {node.display_name}: {node.phase}: {node.message}")
    print(f"Workflow link: {wf.get_workflow_link()}")
    return 0 if phase == "Succeeded" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
