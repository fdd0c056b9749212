# End-to-end workflow cases: tests/workflows/<area>/<case>.yaml with <case>.expect.yaml,
# each run through the real binary by tests/run_case.py. Unit tests: skiff_tests.
include(GoogleTest)
# Every test has a TIMEOUT (unit tests take under 15 s each), so one that hangs fails with
# its output instead of holding the whole run.
gtest_discover_tests(skiff_tests DISCOVERY_MODE PRE_TEST PROPERTIES LABELS unit TIMEOUT 120)

find_program(SKIFF_PYTHON NAMES python3 REQUIRED)
file(GLOB_RECURSE skiff_cases CONFIGURE_DEPENDS RELATIVE ${CMAKE_SOURCE_DIR}/tests/workflows
     ${CMAKE_SOURCE_DIR}/tests/workflows/*.yaml)
# A real registry (TLS from a test CA, htpasswd auth) for the container runs of every case.
set(SKIFF_TEST_REGISTRY ${CMAKE_BINARY_DIR}/test-registry)
add_test(NAME registry/start COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/registry/registry.py start ${SKIFF_TEST_REGISTRY})
add_test(NAME registry/stop COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/registry/registry.py stop ${SKIFF_TEST_REGISTRY})
set_tests_properties(registry/start PROPERTIES FIXTURES_SETUP registry LABELS "e2e;container" TIMEOUT 300)
set_tests_properties(registry/stop PROPERTIES FIXTURES_CLEANUP registry LABELS "e2e;container" TIMEOUT 300)

# The executor conformance suite's container parameter, against that registry's busybox.
add_test(NAME executor-container COMMAND $<TARGET_FILE:skiff_tests> --gtest_filter=Executors/ExecutorConformance.*/container)
set_tests_properties(executor-container PROPERTIES FIXTURES_REQUIRED registry LABELS "container" TIMEOUT 300
                     ENVIRONMENT SKIFF_TEST_REGISTRY=${SKIFF_TEST_REGISTRY}
                     FAIL_REGULAR_EXPRESSION "no test registry")

add_test(NAME image-cli COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/registry/image_cli_test.py
         $<TARGET_FILE:skiff> ${SKIFF_TEST_REGISTRY})
set_tests_properties(image-cli PROPERTIES FIXTURES_REQUIRED registry LABELS "e2e;container" TIMEOUT 120)
# RegistryClient's push protocol against that registry.
add_test(NAME registry-push COMMAND $<TARGET_FILE:skiff_tests> --gtest_filter=RegistryPush.*)
set_tests_properties(registry-push PROPERTIES FIXTURES_REQUIRED registry LABELS "container" TIMEOUT 120
                     ENVIRONMENT SKIFF_TEST_REGISTRY=${SKIFF_TEST_REGISTRY}
                     FAIL_REGULAR_EXPRESSION "no test registry")
# The skiff image (`skiff image push-self`): pushed, pulled back and run as steps.
add_test(NAME image-push-self COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/registry/push_self_test.py
         $<TARGET_FILE:skiff> ${SKIFF_TEST_REGISTRY})
set_tests_properties(image-push-self PROPERTIES FIXTURES_REQUIRED registry LABELS "e2e;container" TIMEOUT 600)

# The reference pipeline's container-build step: BuildKit (scripts/buildkit-build, run by
# scripts/test before ctest) builds and pushes an image inside a privileged skiff step.
add_test(NAME pipeline/buildkit COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/registry/buildkit_test.py
         $<TARGET_FILE:skiff> ${SKIFF_TEST_REGISTRY})
set_tests_properties(pipeline/buildkit PROPERTIES FIXTURES_REQUIRED registry LABELS "e2e;container;pipeline"
                     TIMEOUT 600 SKIP_RETURN_CODE 77)

# The store's suite again, against a real PostgreSQL server started for it.
set(SKIFF_TEST_POSTGRES ${CMAKE_BINARY_DIR}/test-postgres)
add_test(NAME postgres/start COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/postgres/postgres.py start ${SKIFF_TEST_POSTGRES})
add_test(NAME postgres/stop COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/postgres/postgres.py stop ${SKIFF_TEST_POSTGRES})
add_test(NAME store-postgres COMMAND $<TARGET_FILE:skiff_tests> --gtest_filter=Backends/StoreTest.*/postgres)
set_tests_properties(postgres/start PROPERTIES FIXTURES_SETUP postgres LABELS postgres TIMEOUT 300)
set_tests_properties(postgres/stop PROPERTIES FIXTURES_CLEANUP postgres LABELS postgres TIMEOUT 300)
set_tests_properties(store-postgres PROPERTIES FIXTURES_REQUIRED postgres LABELS postgres TIMEOUT 300
                     ENVIRONMENT SKIFF_TEST_POSTGRES_FILE=${SKIFF_TEST_POSTGRES}/url
                     FAIL_REGULAR_EXPRESSION "SKIPPED|no PostgreSQL")
add_test(NAME leader-postgres COMMAND $<TARGET_FILE:skiff_tests> --gtest_filter=LeaderElection.*)
set_tests_properties(leader-postgres PROPERTIES FIXTURES_REQUIRED postgres LABELS postgres TIMEOUT 120
                     ENVIRONMENT SKIFF_TEST_POSTGRES_FILE=${SKIFF_TEST_POSTGRES}/url FAIL_REGULAR_EXPRESSION "SKIPPED")
# Two servers on one PostgreSQL: the follower forwards the API, and leads when the leader
# is SIGKILLed mid-run (docs/failover.md).
add_test(NAME server/failover COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/failover_test.py
         $<TARGET_FILE:skiff> ${SKIFF_TEST_POSTGRES})
set_tests_properties(server/failover PROPERTIES FIXTURES_REQUIRED postgres LABELS "e2e;server;postgres" TIMEOUT 300)

# A real single-node Kubernetes (docs/kubernetes.md): scripts/k8s-up builds what is missing
# (scripts/test builds it before ctest starts) and starts it; every test labelled k8s uses it.
# Without root or a kernel feature it needs, k8s/up and the tests skip with the reason.
add_test(NAME k8s/up COMMAND ${CMAKE_SOURCE_DIR}/scripts/k8s-up)
add_test(NAME k8s/down COMMAND ${CMAKE_SOURCE_DIR}/scripts/k8s-down)
set_tests_properties(k8s/up PROPERTIES FIXTURES_SETUP k8s LABELS k8s TIMEOUT 1800 SKIP_RETURN_CODE 77)
set_tests_properties(k8s/down PROPERTIES FIXTURES_CLEANUP k8s LABELS k8s TIMEOUT 120)
add_test(NAME k8s/smoke COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/k8s/smoke_test.py ${CMAKE_SOURCE_DIR})
set_tests_properties(k8s/smoke PROPERTIES FIXTURES_REQUIRED k8s LABELS k8s TIMEOUT 600 SKIP_RETURN_CODE 77)
add_test(NAME k8s/storage COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/k8s/storage_test.py ${CMAKE_SOURCE_DIR})
set_tests_properties(k8s/storage PROPERTIES FIXTURES_REQUIRED k8s LABELS k8s TIMEOUT 600 SKIP_RETURN_CODE 77)
add_test(NAME k8s/client COMMAND kube_cluster_tests)
set_tests_properties(k8s/client PROPERTIES FIXTURES_REQUIRED k8s LABELS k8s TIMEOUT 300 SKIP_RETURN_CODE 77)
add_test(NAME k8s/leader-lease COMMAND leader_cluster_tests)
set_tests_properties(k8s/leader-lease PROPERTIES FIXTURES_REQUIRED k8s LABELS k8s TIMEOUT 120 SKIP_RETURN_CODE 77)
add_test(NAME cd/diff-k8s COMMAND cd_cluster_tests)
set_tests_properties(cd/diff-k8s PROPERTIES FIXTURES_REQUIRED k8s LABELS k8s TIMEOUT 300 SKIP_RETURN_CODE 77)
add_test(NAME k8s/resource-steps COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/k8s/resource_steps_test.py ${CMAKE_SOURCE_DIR} $<TARGET_FILE:skiff>)
add_test(NAME k8s/cd COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/k8s/cd_test.py ${CMAKE_SOURCE_DIR} $<TARGET_FILE:skiff>)
set_tests_properties(k8s/cd PROPERTIES FIXTURES_REQUIRED k8s LABELS "k8s;cd" TIMEOUT 600 SKIP_RETURN_CODE 77)
set_tests_properties(k8s/resource-steps PROPERTIES FIXTURES_REQUIRED k8s LABELS k8s TIMEOUT 900 SKIP_RETURN_CODE 77)
# The kubernetes executor (docs/kubernetes-executor.md): k8s/images puts the test images and
# skiff's own image (`skiff image push-self`) in the cluster's registry; wfk/<case> (below)
# runs each workflow case with --executor kubernetes.
if(DEFINED ENV{SKIFF_K8S_STATE})
  set(SKIFF_K8S_ENV $ENV{SKIFF_K8S_STATE}/env.json)
else()
  set(SKIFF_K8S_ENV /var/tmp/skiff-k8s/env.json)
endif()
add_test(NAME k8s/images COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/k8s/push_images.py $<TARGET_FILE:skiff> ${SKIFF_K8S_ENV})
set_tests_properties(k8s/images PROPERTIES FIXTURES_REQUIRED k8s FIXTURES_SETUP k8s-images LABELS "k8s;k8s-executor"
                     TIMEOUT 300 SKIP_RETURN_CODE 77)
add_test(NAME k8s/executor-server COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/k8s/executor_server_test.py
         ${CMAKE_SOURCE_DIR} $<TARGET_FILE:skiff>)
set_tests_properties(k8s/executor-server PROPERTIES FIXTURES_REQUIRED "k8s;k8s-images" LABELS "k8s;k8s-executor"
                     TIMEOUT 300 SKIP_RETURN_CODE 77)
# The namespaced install: a service account with deploy/rbac-namespaced.yaml's Role only,
# and --managed-namespace (docs/kubernetes-executor.md).
add_test(NAME k8s/namespaced COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/k8s/namespaced_test.py
         ${CMAKE_SOURCE_DIR} $<TARGET_FILE:skiff> ${SKIFF_TEST_POSTGRES})
set_tests_properties(k8s/namespaced PROPERTIES FIXTURES_REQUIRED "k8s;k8s-images;postgres"
                     LABELS "k8s;k8s-executor;postgres" TIMEOUT 300 SKIP_RETURN_CODE 77)
# Two servers on one PostgreSQL running steps as Pods: the follower takes over and adopts them.
add_test(NAME k8s/failover COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/k8s/failover_test.py
         ${CMAKE_SOURCE_DIR} $<TARGET_FILE:skiff> ${SKIFF_TEST_POSTGRES})
set_tests_properties(k8s/failover PROPERTIES FIXTURES_REQUIRED "k8s;k8s-images;postgres" LABELS "k8s;k8s-executor;postgres"
                     TIMEOUT 300 SKIP_RETURN_CODE 77)
# The reference pipeline (docs/pipeline.md) with the cluster as the Application's destination.
add_test(NAME k8s/pipeline COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/k8s/pipeline_test.py ${CMAKE_SOURCE_DIR}
         $<TARGET_FILE:skiff> ${CMAKE_BINARY_DIR}/test-k8s-pipeline)
set_tests_properties(k8s/pipeline PROPERTIES FIXTURES_REQUIRED k8s LABELS "k8s;pipeline" TIMEOUT 900 SKIP_RETURN_CODE 77)
# The same with every step a Pod (--executor kubernetes; docs/pipeline.md, "Every step as a
# Pod"), then once more with the steps here, to print both wall times.
add_test(NAME k8s/pipeline-pods COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/k8s/pipeline_test.py ${CMAKE_SOURCE_DIR}
         $<TARGET_FILE:skiff> ${CMAKE_BINARY_DIR}/test-k8s-pipeline-pods --pods)
set_tests_properties(k8s/pipeline-pods PROPERTIES FIXTURES_REQUIRED "k8s;k8s-images" LABELS "k8s;pipeline" TIMEOUT 900
                     SKIP_RETURN_CODE 77)

# Real clients against `skiff server` (scripts/install-test-clients puts them in .clients/).
set(SKIFF_CLIENTS ${CMAKE_SOURCE_DIR}/.clients)
add_test(NAME clients/hera
         COMMAND sh -c "test -x '${SKIFF_CLIENTS}/bin/python' || { echo 'no .clients: run scripts/install-test-clients'; exit 77; }; exec '${SKIFF_CLIENTS}/bin/python' '${CMAKE_SOURCE_DIR}/tests/clients/hera_test.py' '$<TARGET_FILE:skiff>'")
set_tests_properties(clients/hera PROPERTIES LABELS "e2e;server" TIMEOUT 120 SKIP_RETURN_CODE 77)
# Hera's script runner (python -m hera.workflows.runner) on the host executor: it reads
# {{inputs.parameters}} as Argo's JSON list.
add_test(NAME clients/hera-runner
         COMMAND sh -c "test -x '${SKIFF_CLIENTS}/bin/python' || { echo 'no .clients: run scripts/install-test-clients'; exit 77; }; exec '${SKIFF_CLIENTS}/bin/python' '${CMAKE_SOURCE_DIR}/tests/clients/hera_runner_test.py' '$<TARGET_FILE:skiff>'")
set_tests_properties(clients/hera-runner PROPERTIES LABELS "e2e;host" TIMEOUT 120 SKIP_RETURN_CODE 77)
add_test(NAME server/generate-name COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/generate_name_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/generate-name PROPERTIES LABELS "e2e;server" TIMEOUT 60)
add_test(NAME server/api-errors COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/api_errors_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/api-errors PROPERTIES LABELS "e2e;server" TIMEOUT 120)
add_test(NAME server/hardening-input COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/hardening_input_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/hardening-input PROPERTIES LABELS "e2e;server" TIMEOUT 180)
add_test(NAME server/actions COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/server_actions_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/actions PROPERTIES LABELS "e2e;server" TIMEOUT 180)
add_test(NAME server/cli-client COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/cli_client_test.py
         $<TARGET_FILE:skiff> ${CMAKE_SOURCE_DIR})
set_tests_properties(server/cli-client PROPERTIES LABELS "e2e;server" TIMEOUT 180)
add_test(NAME clients/argo COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/argo_cli_test.py
         $<TARGET_FILE:skiff> ${SKIFF_CLIENTS}/bin/argo ${CMAKE_SOURCE_DIR})
set_tests_properties(clients/argo PROPERTIES LABELS "e2e;server" TIMEOUT 300 SKIP_RETURN_CODE 77)
add_test(NAME server/suspend COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/suspend_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/suspend PROPERTIES LABELS "e2e;server" TIMEOUT 120)
add_test(NAME server/memoize COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/memoize_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/memoize PROPERTIES LABELS "e2e;server" TIMEOUT 120)
add_test(NAME server/sync COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/sync_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/sync PROPERTIES LABELS "e2e;server" TIMEOUT 180)
add_test(NAME server/resource-steps COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/resource_steps_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/resource-steps PROPERTIES LABELS "e2e;server" TIMEOUT 180)
add_test(NAME server/app-api COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/app_api_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/app-api PROPERTIES LABELS "e2e;server;cd" TIMEOUT 120)
add_test(NAME server/app-cli COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/app_cli_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/app-cli PROPERTIES LABELS "e2e;server;cd" TIMEOUT 120)
add_test(NAME server/cd COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/cd_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/cd PROPERTIES LABELS "e2e;server;cd" TIMEOUT 240)
add_test(NAME server/cd-machine COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/cd_machine_test.py
         $<TARGET_FILE:skiff> ${SKIFF_TEST_REGISTRY})
set_tests_properties(server/cd-machine PROPERTIES LABELS "e2e;cd;container" TIMEOUT 600 SKIP_RETURN_CODE 77
                     FIXTURES_REQUIRED registry)
add_test(NAME server/cd-hooks COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/cd_hooks_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/cd-hooks PROPERTIES LABELS "e2e;server;cd" TIMEOUT 240)
add_test(NAME server/cd-webhook COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/cd_webhook_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/cd-webhook PROPERTIES LABELS "e2e;server;cd" TIMEOUT 120)
add_test(NAME server/cd-metrics COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/cd_metrics_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/cd-metrics PROPERTIES LABELS "e2e;server;cd" TIMEOUT 180 SKIP_RETURN_CODE 77)
add_test(NAME server/cron COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/cron_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/cron PROPERTIES LABELS "e2e;server;slow" TIMEOUT 240)
add_test(NAME clients/prometheus
         COMMAND sh -c "test -x '${SKIFF_CLIENTS}/bin/python' || { echo 'no .clients: run scripts/install-test-clients'; exit 77; }; exec '${SKIFF_CLIENTS}/bin/python' '${CMAKE_SOURCE_DIR}/tests/clients/metrics_test.py' '$<TARGET_FILE:skiff>'")
set_tests_properties(clients/prometheus PROPERTIES LABELS "e2e;server" TIMEOUT 120 SKIP_RETURN_CODE 77)
add_test(NAME server/secrets COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/secrets_test.py
         $<TARGET_FILE:skiff> ${SKIFF_TEST_REGISTRY})
set_tests_properties(server/secrets PROPERTIES LABELS "e2e;server;container" TIMEOUT 120 FIXTURES_REQUIRED registry)
add_test(NAME server/host-access COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/host_access_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/host-access PROPERTIES LABELS "e2e;server" TIMEOUT 120)
add_test(NAME server/artifacts COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/artifacts_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/artifacts PROPERTIES LABELS "e2e;server" TIMEOUT 120)
add_test(NAME server/ttl COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/ttl_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/ttl PROPERTIES LABELS "e2e;server" TIMEOUT 120)
add_test(NAME server/ui-serving COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/ui_serving_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/ui-serving PROPERTIES LABELS "e2e;server" TIMEOUT 60)
add_test(NAME server/large-workflow COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/large_workflow_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/large-workflow PROPERTIES LABELS "e2e;server;slow" TIMEOUT 300)
add_test(NAME server/crash COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/crash_test.py $<TARGET_FILE:skiff>
         ${SKIFF_TEST_REGISTRY})
set_tests_properties(server/crash PROPERTIES LABELS "e2e;server;container" TIMEOUT 300 FIXTURES_REQUIRED registry)
add_test(NAME server/disk-full COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/disk_full_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/disk-full PROPERTIES LABELS "e2e;server" TIMEOUT 120 SKIP_RETURN_CODE 77)
add_test(NAME server/hardening-conn COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/hardening_conn_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/hardening-conn PROPERTIES LABELS "e2e;server" TIMEOUT 300)

# A real S3 server (MinIO from its Go module: scripts/minio-build, which scripts/test runs
# before ctest) for the artifact repository and the cases that keep artifacts in S3. When
# MinIO is not built, s3/start and every test that uses it skip, saying why.
set(SKIFF_TEST_S3 ${CMAKE_BINARY_DIR}/test-s3)
add_test(NAME s3/start COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/s3/s3server.py start ${SKIFF_TEST_S3})
add_test(NAME s3/stop COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/s3/s3server.py stop ${SKIFF_TEST_S3})
set_tests_properties(s3/start PROPERTIES FIXTURES_SETUP s3 LABELS "e2e;s3" TIMEOUT 120 SKIP_RETURN_CODE 77)
set_tests_properties(s3/stop PROPERTIES FIXTURES_CLEANUP s3 LABELS "e2e;s3" TIMEOUT 60)
add_test(NAME s3/repository COMMAND s3_repository_tests ${SKIFF_TEST_S3}/env.json)
set_tests_properties(s3/repository PROPERTIES FIXTURES_REQUIRED s3 LABELS "e2e;s3" TIMEOUT 300 SKIP_RETURN_CODE 77)

foreach(case ${skiff_cases})
  if(case MATCHES "\\.expect\\.yaml$")
    continue()
  endif()
  string(REGEX REPLACE "\\.yaml$" "" name ${case})
  # Only the cases whose expectations say `s3: true` start the S3 server (read here, so a
  # change to an expect file reconfigures).
  set(s3_fixture OFF)
  set(expect ${CMAKE_SOURCE_DIR}/tests/workflows/${name}.expect.yaml)
  if(EXISTS ${expect})
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${expect})
    file(STRINGS ${expect} s3_line REGEX "^s3:[ ]*true")
    if(s3_line)
      set(s3_fixture ON)
    endif()
  endif()
  add_test(NAME wf/${name}
           COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/run_case.py
                   --s3 ${SKIFF_TEST_S3} --skiff $<TARGET_FILE:skiff> ${CMAKE_SOURCE_DIR}/tests/workflows/${case})
  set_tests_properties(wf/${name} PROPERTIES LABELS "e2e;host" TIMEOUT 120 SKIP_RETURN_CODE 77)
  add_test(NAME wfc/${name}
           COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/run_case.py --executor container
                   --registry ${SKIFF_TEST_REGISTRY} --s3 ${SKIFF_TEST_S3} --skiff $<TARGET_FILE:skiff>
                   ${CMAKE_SOURCE_DIR}/tests/workflows/${case})
  set_tests_properties(wfc/${name} PROPERTIES LABELS "e2e;container" TIMEOUT 120 SKIP_RETURN_CODE 77
                       FIXTURES_REQUIRED registry)
  add_test(NAME wfk/${name}
           COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/run_case.py --executor kubernetes --k8s-env ${SKIFF_K8S_ENV}
                   --s3 ${SKIFF_TEST_S3} --skiff $<TARGET_FILE:skiff> ${CMAKE_SOURCE_DIR}/tests/workflows/${case})
  set_tests_properties(wfk/${name} PROPERTIES LABELS "k8s;k8s-executor" TIMEOUT 180 SKIP_RETURN_CODE 77
                       FIXTURES_REQUIRED "k8s;k8s-images")
  if(s3_fixture)
    set_tests_properties(wf/${name} PROPERTIES FIXTURES_REQUIRED s3 LABELS "e2e;host;s3")
    set_tests_properties(wfc/${name} PROPERTIES FIXTURES_REQUIRED "registry;s3" LABELS "e2e;container;s3")
    set_tests_properties(wfk/${name} PROPERTIES FIXTURES_REQUIRED "k8s;k8s-images;s3" LABELS "k8s;k8s-executor;s3")
  endif()
endforeach()

# The web UI in Debian's Chromium through playwright-core (scripts/install-test-clients puts
# tests/ui's packages in place; scripts/build puts the UI in build/ui). Screenshots go to
# build/ui-artifacts.
add_test(NAME ui/e2e COMMAND node ${CMAKE_SOURCE_DIR}/tests/ui/e2e.mjs $<TARGET_FILE:skiff> ${CMAKE_BINARY_DIR}/ui)
set_tests_properties(ui/e2e PROPERTIES LABELS "e2e;ui" TIMEOUT 240 SKIP_RETURN_CODE 77
                     ENVIRONMENT SKIFF_UI_ARTIFACTS=${CMAKE_BINARY_DIR}/ui-artifacts)
# The Applications pages (tests/ui/apps.mjs): a file:// git repository of WorkflowTemplates,
# no cluster needed.
add_test(NAME ui/apps COMMAND node ${CMAKE_SOURCE_DIR}/tests/ui/apps.mjs $<TARGET_FILE:skiff> ${CMAKE_BINARY_DIR}/ui)
set_tests_properties(ui/apps PROPERTIES LABELS "e2e;ui" TIMEOUT 240 SKIP_RETURN_CODE 77
                     ENVIRONMENT SKIFF_UI_ARTIFACTS=${CMAKE_BINARY_DIR}/ui-artifacts)

# A real git server (lighttpd + git http-backend, HTTPS from a test CA, basic auth) for cd/.
set(SKIFF_TEST_GITSERVER ${CMAKE_BINARY_DIR}/test-gitserver)
add_test(NAME gitserver/start COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/git/gitserver.py start ${SKIFF_TEST_GITSERVER})
add_test(NAME gitserver/stop COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/git/gitserver.py stop ${SKIFF_TEST_GITSERVER})
set_tests_properties(gitserver/start PROPERTIES FIXTURES_SETUP gitserver LABELS "e2e;cd" TIMEOUT 300)
set_tests_properties(gitserver/stop PROPERTIES FIXTURES_CLEANUP gitserver LABELS "e2e;cd" TIMEOUT 300)
add_test(NAME cd/git-https COMMAND cd_git_https_tests)
set_tests_properties(cd/git-https PROPERTIES FIXTURES_REQUIRED "gitserver;registry" LABELS "e2e;cd" TIMEOUT 120
                     ENVIRONMENT "SKIFF_TEST_GITSERVER=${SKIFF_TEST_GITSERVER};SKIFF_GITSERVER_SCRIPT=${CMAKE_SOURCE_DIR}/tests/git/gitserver.py;SKIFF_TEST_REGISTRY=${SKIFF_TEST_REGISTRY}")
add_test(NAME artifacts/git COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/git/git_artifacts_test.py $<TARGET_FILE:skiff>
         ${SKIFF_TEST_GITSERVER})
set_tests_properties(artifacts/git PROPERTIES FIXTURES_REQUIRED gitserver LABELS "e2e;artifacts" TIMEOUT 300 SKIP_RETURN_CODE 77)
add_test(NAME server/cd-gitserver COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/cd_gitserver_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/cd-gitserver PROPERTIES FIXTURES_REQUIRED gitserver LABELS "e2e;server;cd" TIMEOUT 180
                     ENVIRONMENT "SKIFF_TEST_GITSERVER=${SKIFF_TEST_GITSERVER}")
add_test(NAME server/cd-chart COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/clients/cd_chart_test.py $<TARGET_FILE:skiff>)
set_tests_properties(server/cd-chart PROPERTIES FIXTURES_REQUIRED gitserver LABELS "e2e;server;cd" TIMEOUT 120
                     ENVIRONMENT "SKIFF_TEST_GITSERVER=${SKIFF_TEST_GITSERVER}")

# The reference CI/CD pipeline for real (docs/pipeline.md): its own registry, git server,
# skiff server and Prometheus; BuildKit from scripts/buildkit-build (scripts/test builds it).
add_test(NAME pipeline/e2e COMMAND ${SKIFF_PYTHON} ${CMAKE_SOURCE_DIR}/tests/pipeline/pipeline_test.py
         $<TARGET_FILE:skiff> ${CMAKE_BINARY_DIR}/test-pipeline)
set_tests_properties(pipeline/e2e PROPERTIES LABELS "e2e;container;pipeline" TIMEOUT 900 SKIP_RETURN_CODE 77)
# The pipeline's Hera variant (examples/ci-cd/hera) builds what the YAML says; no server.
add_test(NAME pipeline/hera-templates
         COMMAND sh -c "test -x '${SKIFF_CLIENTS}/bin/python' || { echo 'no .clients: run scripts/install-test-clients'; exit 77; }; exec '${SKIFF_PYTHON}' '${CMAKE_SOURCE_DIR}/tests/pipeline/hera_templates_test.py' '${SKIFF_CLIENTS}/bin/python'")
set_tests_properties(pipeline/hera-templates PROPERTIES LABELS "e2e;pipeline" TIMEOUT 60 SKIP_RETURN_CODE 77)
