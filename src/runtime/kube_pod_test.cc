#include "runtime/kube_pod.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

namespace skiff::runtime {
namespace {

using Json = nlohmann::json;

StepRequest request() {
  auto wf = std::make_shared<WorkflowContext>();
  wf->namespace_ = "team";
  wf->name = "wf";
  StepRequest r;
  r.workflow = wf;
  r.node_id = "uid-1/wf-123";
  r.node_name = "wf.a";
  r.pod_name = "wf-echo-123";
  r.tmpl.name = "echo";
  spec::Container c;
  c.image = "busybox";
  c.command = {"sh", "-c"};
  c.args = {"echo $(GREETING)"};
  c.env.push_back({"GREETING", std::string("hi"), ""});
  c.env.push_back({"TOKEN", std::nullopt, R"({"secretKeyRef":{"name":"s","key":"k"}})"});
  c.volume_mounts.push_back({"work", "/work", "", false});
  c.resources_json = R"({"limits":{"memory":"64Mi"}})";
  r.tmpl.container = c;
  spec::Parameter p;
  p.name = "out";
  p.value_from = spec::ValueFrom{};
  p.value_from->path = "/tmp/out";
  r.tmpl.outputs.parameters.push_back(p);
  r.volumes.push_back({"work", R"({"emptyDir":{}})", {}});
  return r;
}

PodOptions options() {
  PodOptions o;
  o.emissary_image = "skiff/skiff:1";
  return o;
}

const Json& container(const Json& pod, const char* list, const std::string& name) {
  for (const auto& c : pod["spec"][list])
    if (c["name"] == name) return c;
  static const Json none;
  return none;
}

TEST(KubePod, IsArgosPodWithTheStepRunningThroughTheEmissary) {
  auto pod = step_pod(request(), options(), nullptr);
  ASSERT_TRUE(pod) << pod.status().message();
  const Json& p = *pod;
  EXPECT_EQ(p["metadata"]["name"], "wf-echo-123");
  EXPECT_EQ(p["metadata"]["namespace"], "team");
  EXPECT_EQ(p["metadata"]["labels"][kWorkflowLabel], "wf");
  EXPECT_EQ(p["metadata"]["labels"][kCompletedLabel], "false");
  EXPECT_EQ(p["metadata"]["annotations"][kNodeNameAnnotation], "wf.a");
  EXPECT_EQ(p["metadata"]["annotations"][kNodeIdAnnotation], "wf-123");
  EXPECT_EQ(p["metadata"]["annotations"][kStepAnnotation], "uid-1/wf-123");
  EXPECT_EQ(p["spec"]["restartPolicy"], "Never");
  EXPECT_EQ(p["spec"]["initContainers"][0]["name"], "init");
  EXPECT_EQ(p["spec"]["initContainers"][0]["image"], "skiff/skiff:1");

  const Json& main = container(p, "containers", "main");
  ASSERT_FALSE(main.is_null());
  EXPECT_EQ(main["command"], Json({"/var/run/skiff/skiff-emissary", "main", "--", "sh", "-c", "echo $(GREETING)"}));
  EXPECT_FALSE(main.contains("args"));
  EXPECT_EQ(main["resources"]["limits"]["memory"], "64Mi");
  EXPECT_EQ(main["env"][0], Json({{"name", "GREETING"}, {"value", "hi"}}));
  EXPECT_EQ(main["env"][1]["valueFrom"]["secretKeyRef"]["name"], "s");
  Json settings = Json::parse(main["env"].back()["value"].get<std::string>());
  EXPECT_EQ(main["env"].back()["name"], "SKIFF_EMISSARY");
  EXPECT_EQ(settings["outputs"][0], Json({{"name", "out"}, {"path", "/tmp/out"}}));
  EXPECT_EQ(main["volumeMounts"].size(), 2u);
  EXPECT_FALSE(container(p, "containers", "wait").is_null());
  EXPECT_EQ(p["spec"]["volumes"][1], Json({{"name", "work"}, {"emptyDir", Json::object()}}));
}

TEST(KubePod, NoCommandRunsTheImagesEntrypointWithArgsInPlaceOfCmd) {
  StepRequest r = request();
  r.tmpl.container->command.clear();
  r.tmpl.container->args = {"x"};
  auto lookup = [](const std::string& image) -> Result<ImageCommand> {
    EXPECT_EQ(image, "busybox");
    return ImageCommand{{"echo", "entry"}, {"default"}};
  };
  auto pod = step_pod(r, options(), lookup);
  ASSERT_TRUE(pod) << pod.status().message();
  EXPECT_EQ(container(*pod, "containers", "main")["command"],
            Json({"/var/run/skiff/skiff-emissary", "main", "--", "echo", "entry", "x"}));
  auto unreadable = step_pod(r, options(), [](const std::string&) -> Result<ImageCommand> {
    return Status(Code::kNotFound, "manifest unknown");
  });
  ASSERT_FALSE(unreadable);
  EXPECT_NE(unreadable.status().message().find("entrypoint of image busybox could not be read: manifest unknown"),
            std::string::npos);
}

TEST(KubePod, PodLevelFieldsAndPodSpecPatchReachThePod) {
  StepRequest r = request();
  r.tmpl.pod.json = R"({"nodeSelector":{"disk":"ssd"},"serviceAccountName":"runner",
    "metadata":{"labels":{"team":"a"}},
    "podSpecPatch":["{\"containers\":[{\"name\":\"main\",\"resources\":{\"limits\":{\"cpu\":\"1\"}}}]}"]})";
  r.tmpl.active_deadline_seconds = "30";
  auto pod = step_pod(r, options(), nullptr);
  ASSERT_TRUE(pod) << pod.status().message();
  EXPECT_EQ((*pod)["spec"]["nodeSelector"]["disk"], "ssd");
  EXPECT_EQ((*pod)["spec"]["serviceAccountName"], "runner");
  EXPECT_EQ((*pod)["spec"]["activeDeadlineSeconds"], 30);
  EXPECT_EQ((*pod)["metadata"]["labels"]["team"], "a");
  const Json& main = container(*pod, "containers", "main");
  EXPECT_EQ(main["resources"]["limits"]["cpu"], "1");
  EXPECT_EQ(main["resources"]["limits"]["memory"], "64Mi");  // merged, not replaced
}

TEST(KubePod, ClaimsBecomeTheWorkflowsPersistentVolumeClaims) {
  StepRequest r = request();
  r.claims.push_back({"work", R"({"metadata":{"name":"work"},"spec":{"accessModes":["ReadWriteOnce"]}})", {}});
  r.claims.push_back({"unused", "{}", {}});
  r.volumes.clear();
  auto pod = step_pod(r, options(), nullptr);
  ASSERT_TRUE(pod) << pod.status().message();
  ASSERT_EQ((*pod)["spec"]["volumes"].size(), 2u);  // skiff's own and the one mounted
  EXPECT_EQ((*pod)["spec"]["volumes"][1],
            Json({{"name", "work"}, {"persistentVolumeClaim", {{"claimName", "wf-work"}}}}));
  Json claim = claim_object(*r.workflow, r.claims[0]);
  EXPECT_EQ(claim["metadata"]["name"], "wf-work");
  EXPECT_EQ(claim["metadata"]["namespace"], "team");
  EXPECT_EQ(claim["metadata"]["labels"][kWorkflowLabel], "wf");
  EXPECT_EQ(claim["spec"]["accessModes"][0], "ReadWriteOnce");
}

TEST(KubePod, RefusesWhatItCannotDoYetNamingIt) {
  StepRequest r = request();
  r.volumes.push_back({"host", R"({"hostPath":{"path":"/etc"}})", {}});
  r.tmpl.container->volume_mounts.push_back({"host", "/host", "", true});
  PodOptions o = options();
  o.allow_host_path = false;
  auto pod = step_pod(r, o, nullptr);
  ASSERT_FALSE(pod);
  EXPECT_NE(pod.status().message().find("volume host: hostPath volumes are not allowed"), std::string::npos);

  // What the server does not allow, also when a podSpecPatch adds it.
  r = request();
  r.tmpl.pod.json = R"({"podSpecPatch":["{\"hostPID\": true}"]})";
  o = options();
  o.allow_privileged = false;
  pod = step_pod(r, o, nullptr);
  ASSERT_FALSE(pod);
  EXPECT_NE(pod.status().message().find("hostPID: not allowed on this server"), std::string::npos);
  o.allow_privileged = true;
  EXPECT_TRUE(step_pod(r, o, nullptr));

}

TEST(KubePod, ContainerSetContainersRunThroughTheEmissaryAfterTheirDependencies) {
  StepRequest r = request();
  spec::ContainerSet set;
  spec::Container a = *r.tmpl.container, main = *r.tmpl.container;
  a.name = "a";
  main.name = "main";
  main.dependencies = {"a"};
  set.containers = {a, main};
  set.retries = "2";
  r.tmpl.container_set = set;
  r.tmpl.container.reset();
  auto pod = step_pod(r, options(), nullptr);
  ASSERT_TRUE(pod) << pod.status().message();
  std::vector<std::string> names;
  for (const auto& c : (*pod)["spec"]["containers"]) names.push_back(c["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"wait", "main", "a"}));
  const Json& member = container(*pod, "containers", "a");
  EXPECT_EQ(member["command"][1], "member");
  Json settings = Json::parse(member["env"].back()["value"].get<std::string>());
  EXPECT_EQ(settings["name"], "a");
  EXPECT_EQ(settings["retries"], 2);
  Json main_settings = Json::parse(container(*pod, "containers", "main")["env"].back()["value"].get<std::string>());
  EXPECT_EQ(main_settings["after"], Json({"a"}));
  Json wait_settings = Json::parse(container(*pod, "containers", "wait")["env"][0]["value"].get<std::string>());
  EXPECT_EQ(wait_settings["members"], Json({"a", "main"}));
}

TEST(KubePod, ArtifactsTravelThroughTheEmissary) {
  char dir_template[] = "/tmp/skiff-kube-pod-XXXXXX";
  std::string dir = ::mkdtemp(dir_template);
  ::mkdir((dir + "/in").c_str(), 0755);
  FILE* f = std::fopen((dir + "/in/a.txt").c_str(), "w");
  std::fputs("alpha", f);
  std::fclose(f);
  StepRequest r = request();
  r.extra_mounts.push_back({dir + "/in", "/work/in"});
  r.tmpl.outputs.artifacts.push_back({});
  r.tmpl.outputs.artifacts.back().name = "report";
  r.tmpl.outputs.artifacts.back().path = "/tmp/r";
  auto pod = step_pod(r, options(), nullptr);
  ASSERT_TRUE(pod) << pod.status().message();
  const Json& main = container(*pod, "containers", "main");
  EXPECT_EQ(main["volumeMounts"].back(),
            Json({{"name", "skiff-var"}, {"mountPath", "/work/in"}, {"subPath", "inputs/0"}}));
  Json settings = Json::parse(main["env"].back()["value"].get<std::string>());
  EXPECT_EQ(settings["artifacts"][0], Json({{"name", "report"}, {"path", "/tmp/r"}}));
  EXPECT_EQ((*pod)["spec"]["initContainers"][0]["command"].back(), "/var/run/skiff-inputs");

  auto secret = inputs_secret(r, 1024);
  ASSERT_TRUE(secret) << secret.status().message();
  EXPECT_EQ((*secret)["metadata"]["name"], "wf-echo-123-inputs");
  EXPECT_EQ((*secret)["data"]["f0"], "YWxwaGE=");
  EXPECT_FALSE(inputs_secret(r, 3));  // larger than allowed: refused

  StepResult result;
  Json carried = {{"report", {{"files", {{{"path", ""}, {"dir", true}, {"mode", 0755}},
                                         {{"path", "x"}, {"mode", 0644}, {"data", "eHl6"}}}}}},
                  {"bad", {{"files", {{{"path", "../escape"}, {"data", ""}}}}}},
                  {"big", {{"error", "too large"}}}};
  save_artifacts(carried, dir + "/out", &result);
  EXPECT_EQ(result.artifact_files["report"], dir + "/out/report");
  FILE* x = std::fopen((dir + "/out/report/x").c_str(), "r");
  ASSERT_NE(x, nullptr);
  char buf[8] = {};
  EXPECT_EQ(std::fread(buf, 1, 7, x), 3u);
  std::fclose(x);
  EXPECT_STREQ(buf, "xyz");
  EXPECT_EQ(result.artifact_files["bad"], "!path ../escape leaves the artifact");
  EXPECT_EQ(result.artifact_files["big"], "!too large");
  std::system(("rm -rf " + dir).c_str());
}

Json pod_with(const Json& status) { return {{"status", status}}; }

TEST(KubePod, StateFromStatus) {
  EXPECT_EQ(pod_state(pod_with({{"phase", "Pending"}})).kind, PodState::kWaiting);

  PodState pull = pod_state(pod_with(
      {{"phase", "Pending"},
       {"containerStatuses",
        {{{"name", "main"},
          {"state", {{"waiting", {{"reason", "ImagePullBackOff"}, {"message", "Back-off pulling image \"nope\""}}}}}}}}}));
  EXPECT_EQ(pull.kind, PodState::kWaiting);  // the kubelet tries again: it may be the pull QPS
  PodState missing = pod_state(pod_with(
      {{"phase", "Pending"},
       {"containerStatuses",
        {{{"name", "main"},
          {"state", {{"waiting", {{"reason", "ImagePullBackOff"},
                                  {"message", "Back-off pulling image \"nope\": ErrImagePull: nope: not found"}}}}}}}}}));
  EXPECT_EQ(missing.kind, PodState::kFailed);
  EXPECT_EQ(missing.message, "ImagePullBackOff: Back-off pulling image \"nope\": ErrImagePull: nope: not found");
  EXPECT_TRUE(missing.with_events);  // the kubelet's words: the Pod's events follow them

  PodState running = pod_state(pod_with({{"phase", "Running"},
                                         {"podIP", "10.0.0.7"},
                                         {"containerStatuses",
                                          {{{"name", "main"}, {"ready", true}, {"state", {{"running", Json::object()}}}},
                                           {{"name", "wait"}, {"state", {{"running", Json::object()}}}}}}}));
  EXPECT_EQ(running.kind, PodState::kRunning);
  EXPECT_EQ(running.ip, "10.0.0.7");
  EXPECT_TRUE(running.ready);

  Json main_done = {{"name", "main"},
                    {"state", {{"terminated", {{"exitCode", 137}, {"reason", "OOMKilled"}, {"message", "m"}}}}}};
  PodState done = pod_state(pod_with({{"phase", "Running"},
                                      {"containerStatuses", {main_done, {{"name", "wait"}, {"state", {{"running", Json::object()}}}}}}}));
  EXPECT_EQ(done.kind, PodState::kMainDone);
  EXPECT_EQ(done.exit_code, 137);
  EXPECT_EQ(done.reason, "OOMKilled");
  EXPECT_FALSE(done.outputs_ready);
  EXPECT_TRUE(pod_state(pod_with({{"phase", "Failed"}, {"containerStatuses", {main_done}}})).outputs_ready);

  PodState evicted = pod_state(pod_with({{"phase", "Failed"}, {"reason", "Evicted"}, {"message", "low on memory"}}));
  EXPECT_EQ(evicted.kind, PodState::kFailed);
  EXPECT_EQ(evicted.message, "Evicted: low on memory");
  EXPECT_TRUE(evicted.with_events);

  // Argo's exact words, with nothing after them: a template's init container that failed,
  // and a Pod past its activeDeadlineSeconds.
  PodState init = pod_state(pod_with(
      {{"phase", "Failed"},
       {"initContainerStatuses",
        {{{"name", "init"}, {"state", {{"terminated", {{"exitCode", 0}}}}}},
         {{"name", "mine"}, {"state", {{"terminated", {{"exitCode", 1}, {"reason", "Error"}}}}}}}}}));
  EXPECT_EQ(init.kind, PodState::kFailed);
  EXPECT_EQ(init.message, "failed to load artifacts");
  EXPECT_FALSE(init.with_events);
  PodState late = pod_state(pod_with({{"phase", "Failed"}, {"reason", "DeadlineExceeded"}}));
  EXPECT_TRUE(late.deadline);
  EXPECT_FALSE(late.with_events);
}

TEST(KubePod, ResultFromTheWaitContainersLastLine) {
  PodState s;
  s.kind = PodState::kMainDone;
  s.exit_code = 3;
  StepResult r = step_result("n", s, "noise\n{\"exitCode\":3,\"result\":\"hi\\n\",\"parameters\":{\"p\":\"v\"}}\n");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.stdout_text, "hi\n");
  EXPECT_EQ(r.output_parameters.at("p"), "v");
  EXPECT_FALSE(r.error);

  StepResult missing = step_result("n", s, "{\"exitCode\":127,\"error\":\"executable \\\"x\\\" not found in $PATH\"}");
  EXPECT_TRUE(missing.error);
  EXPECT_EQ(missing.message, "executable \"x\" not found in $PATH");

  // The kubelet said Error, but the emissary saw the cgroup's OOM kill.
  s.exit_code = 137;
  EXPECT_EQ(step_result("n", s, "{\"exitCode\":137,\"reason\":\"OOMKilled\",\"result\":\"\"}").reason, "OOMKilled");
  EXPECT_EQ(step_result("n", s, "{\"exitCode\":137,\"result\":\"\"}").reason, "");

  s.exit_code = 0;
  EXPECT_EQ(step_result("n", s, "").message, "the step's outputs could not be read from its pod's wait container");
}

TEST(KubePod, WarningEventsEndTheMessageLatestLast) {
  Json events = Json::parse(R"({"items": [
    {"type": "Normal", "reason": "Scheduled", "message": "assigned", "lastTimestamp": "2026-12-01T10:00:00Z"},
    {"type": "Warning", "reason": "FailedMount", "message": "secret \"x\" not found", "lastTimestamp": "2026-12-01T10:00:05Z"},
    {"type": "Warning", "reason": "BackOff", "message": "back-off", "lastTimestamp": "2026-12-01T10:00:03Z"},
    {"type": "Warning", "reason": "Failed", "message": "one", "eventTime": "2026-12-01T10:00:01.000000Z"},
    {"type": "Warning", "reason": "Failed", "message": "two", "lastTimestamp": "2026-12-01T10:00:02Z"},
    {"type": "Warning", "reason": "Failed", "message": "one", "lastTimestamp": "2026-12-01T10:00:04Z"}
  ]})");
  EXPECT_EQ(warning_events(events), "; events: BackOff: back-off; Failed: one; FailedMount: secret \"x\" not found");
  EXPECT_EQ(warning_events(events, 1), "; events: FailedMount: secret \"x\" not found");
  EXPECT_EQ(warning_events(Json::parse(R"({"items": [{"type": "Normal", "reason": "Pulled"}]})")), "");
  EXPECT_EQ(warning_events(Json::object()), "");
}

}  // namespace
}  // namespace skiff::runtime
