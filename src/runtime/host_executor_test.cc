#include "runtime/host_executor.h"
#include "runtime/secret_store.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "runtime/fd.h"
#include "runtime/step_files.h"

namespace skiff::runtime {
namespace {

using Clock = std::chrono::steady_clock;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

StepRequest shell(const std::string& id, const std::string& script) {
  StepRequest r;
  r.node_id = id;
  r.pod_name = id;
  r.tmpl.name = "t";
  r.tmpl.type = spec::TemplateType::kContainer;
  r.tmpl.container.emplace();
  r.tmpl.container->command = {"sh", "-c", script};
  return r;
}

// Asks for the output parameter `name` from the file at `path` (valueFrom.path).
void add_output(StepRequest& r, const std::string& name, const std::string& path) {
  spec::Parameter p;
  p.name = name;
  p.value_from.emplace();
  p.value_from->path = path;
  r.tmpl.outputs.parameters.push_back(std::move(p));
}

struct LogLine {
  std::string node;
  std::string text;
};

class HostExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Not under /tmp: the step's private /tmp would hide it anyway, and a server's data
    // directory is not there either.
    char tmpl[] = "/var/tmp/skiff-runtime-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    options_.run_dir = dir_ + "/run";
    options_.data_dir = dir_ + "/data";
    options_.kill_grace_ms = 2000;
    options_.log_sink = [this](const std::string& node, std::string_view line) {
      lines_.push_back({node, std::string(line)});
    };
    auto ex = make_host_executor(options_);
    if (!ex) GTEST_SKIP() << ex.status().message();
    ex_ = std::move(*ex);
  }
  void TearDown() override {
    ex_.reset();
    // The executor's private tmpfs, once per executor a test made (each stacks one).
    while (::umount2((dir_ + "/run/steps").c_str(), MNT_DETACH) == 0) {
    }
    remove_tree(dir_);
  }

  StepResult run(StepRequest r, int timeout_ms = 10000) {
    std::string id = r.node_id;
    ex_->start(std::move(r));
    return wait_for(id, timeout_ms);
  }
  StepResult wait_for(const std::string& id, int timeout_ms = 10000) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (Clock::now() < deadline) {
      for (auto& res : ex_->wait(100)) {
        if (res.node_id == id) return res;
        others_.push_back(res);
      }
    }
    ADD_FAILURE() << "step " << id << " did not end";
    StepResult none;
    none.exit_code = -999;
    return none;
  }

  bool saw_line(const std::string& node, const std::string& text) {
    for (const auto& l : lines_) {
      if (l.node == node && l.text == text) return true;
    }
    return false;
  }

  std::string dir_;
  ExecutorOptions options_;
  std::unique_ptr<Executor> ex_;
  std::vector<LogLine> lines_;
  std::vector<StepResult> others_;
};

TEST_F(HostExecutorTest, ExitCodes) {
  EXPECT_EQ(run(shell("ok", "true")).exit_code, 0);
  StepResult r = run(shell("three", "exit 3"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.error);
  EXPECT_EQ(run(shell("sig", "kill -9 $$$$")).exit_code, 137);  // "$$" is Kubernetes' escape for "$"
  EXPECT_EQ(ex_->running(), 0u);
}

TEST_F(HostExecutorTest, StdoutCapturedWithTrailingPartialLine) {
  StepResult r = run(shell("out", "printf 'a\\nb\\npartial'"));
  EXPECT_EQ(r.stdout_text, "a\nb\npartial");
  EXPECT_TRUE(saw_line("out", "a"));
  EXPECT_TRUE(saw_line("out", "b"));
  EXPECT_TRUE(saw_line("out", "partial"));
  EXPECT_EQ(slurp(step_files(options_.run_dir, "out").log), "a\nb\npartial");
}

TEST_F(HostExecutorTest, StdoutCapIsHonoured) {
  ex_.reset();
  options_.max_stdout = 10;
  ex_ = std::move(*make_host_executor(options_));
  StepResult r = run(shell("big", "seq 1 10000"));
  EXPECT_EQ(r.stdout_text, "1\n2\n3\n4\n5\n");
  EXPECT_GT(slurp(step_files(options_.run_dir, "big").log).size(), 40000u);
}

TEST_F(HostExecutorTest, StderrGoesToLogNotResult) {
  StepResult r = run(shell("err", "echo out; echo err >&2"));
  EXPECT_EQ(r.stdout_text, "out\n");
  std::string log = slurp(step_files(options_.run_dir, "err").log);
  EXPECT_NE(log.find("out\n"), std::string::npos);
  EXPECT_NE(log.find("err\n"), std::string::npos);
  EXPECT_TRUE(saw_line("err", "err"));
}

TEST_F(HostExecutorTest, EnvironmentAndWorkingDir) {
  ::setenv("SKIFF_HOST_ONLY", "leaked", 1);
  StepRequest r = shell("env", "echo \"$FOO|$BAR|$HOSTNAME|${SKIFF_HOST_ONLY:-unset}|${TERM:-unset}\"; pwd; hostname");
  r.pod_name = "my-pod";
  r.tmpl.container->env = {{"FOO", "bar", ""}, {"BAR", "$(FOO)-x-$$(FOO)", ""}};
  r.tmpl.container->working_dir = "/usr";
  StepResult res = run(r);
  EXPECT_EQ(res.stdout_text, "bar|bar-x-$(FOO)|my-pod|unset|unset\n/usr\nmy-pod\n");
  ::unsetenv("SKIFF_HOST_ONLY");
}

TEST_F(HostExecutorTest, ArgsAloneAreTheCommand) {
  StepRequest r = shell("args", "");
  r.tmpl.container->command.clear();
  r.tmpl.container->args = {"echo", "hello", "$(HOSTNAME)"};
  EXPECT_EQ(run(r).stdout_text, "hello args\n");
}

TEST_F(HostExecutorTest, NoCommandIsAnError) {
  StepRequest r = shell("none", "");
  r.tmpl.container->command.clear();
  StepResult res = run(r);
  EXPECT_TRUE(res.error);
  EXPECT_EQ(res.message, "container has no command: host executor needs command or args");
}

TEST_F(HostExecutorTest, MissingWorkingDirIsAnError) {
  StepRequest r = shell("wd", "true");
  r.tmpl.container->working_dir = "/no/such/dir/skiff";
  StepResult res = run(r);
  EXPECT_TRUE(res.error);
  EXPECT_NE(res.message.find("workingDir \"/no/such/dir/skiff\""), std::string::npos) << res.message;
}

TEST_F(HostExecutorTest, MissingExecutableIsAnError) {
  StepRequest r = shell("missing", "");
  r.tmpl.container->command = {"no-such-binary-skiff", "x"};
  StepResult res = run(r);
  EXPECT_TRUE(res.error);
  EXPECT_EQ(res.message, "executable \"no-such-binary-skiff\" not found in $PATH");
  EXPECT_EQ(res.exit_code, 127);
  EXPECT_NE(slurp(step_files(options_.run_dir, "missing").log).find("not found"), std::string::npos);
}

TEST_F(HostExecutorTest, ScriptSourceRunsWithCommand) {
  StepRequest r = shell("script", "");
  r.tmpl.type = spec::TemplateType::kScript;
  r.tmpl.container->command = {"sh"};
  r.tmpl.container->source = "echo from script \"$0\"\nexit 4\n";
  StepResult res = run(r);
  EXPECT_EQ(res.exit_code, 4);
  EXPECT_EQ(res.stdout_text, "from script /tmp/.skiff/script\n");
}

TEST_F(HostExecutorTest, PrivateTmp) {
  std::string name = "/tmp/skiff-private-" + std::to_string(::getpid());
  EXPECT_EQ(run(shell("w", "echo hi > " + name + " && cat " + name)).stdout_text, "hi\n");
  EXPECT_FALSE(exists(name));
  EXPECT_EQ(run(shell("r", "test -e " + name)).exit_code, 1);
}

TEST_F(HostExecutorTest, PidNamespace) {
  StepResult r = run(shell("pid", "echo $$$$; ls /proc | grep -c '^[0-9]'"));
  std::istringstream in(r.stdout_text);
  int self = 0, count = 0;
  in >> self >> count;
  EXPECT_EQ(self, 2);  // PID 1 is the step's init, which forwards signals and reaps
  EXPECT_GE(count, 2);
  EXPECT_LE(count, 6);
}

TEST_F(HostExecutorTest, ClaimVolumeIsSharedBetweenSteps) {
  auto with_claim = [](StepRequest r) {
    r.claims.push_back({"workdir", "{}", {}});
    r.tmpl.container->volume_mounts.push_back({"workdir", "/tmp/work", "", false});
    return r;
  };
  EXPECT_EQ(run(with_claim(shell("a", "echo shared > /tmp/work/f"))).exit_code, 0);
  EXPECT_EQ(run(with_claim(shell("b", "cat /tmp/work/f"))).stdout_text, "shared\n");
  EXPECT_EQ(slurp(options_.run_dir + "/volumes/workdir/f"), "shared\n");
}

TEST_F(HostExecutorTest, SubPathAndReadOnly) {
  StepRequest r = shell("sub", "echo x > /tmp/sub/file; echo y > /tmp/ro/file || echo denied");
  r.claims.push_back({"workdir", "{}", {}});
  r.tmpl.container->volume_mounts = {{"workdir", "/tmp/sub", "a/b", false}, {"workdir", "/tmp/ro", "", true}};
  StepResult res = run(r);
  EXPECT_EQ(res.stdout_text, "denied\n");
  EXPECT_EQ(slurp(options_.run_dir + "/volumes/workdir/a/b/file"), "x\n");

  StepRequest bad = shell("bad", "true");
  bad.claims.push_back({"workdir", "{}", {}});
  bad.tmpl.container->volume_mounts = {{"workdir", "/tmp/x", "../../etc", false}};
  StepResult b = run(bad);
  EXPECT_TRUE(b.error);
  EXPECT_NE(b.message.find("subPath"), std::string::npos) << b.message;
}

TEST_F(HostExecutorTest, EmptyDirIsNotShared) {
  auto with_scratch = [](StepRequest r) {
    r.volumes.push_back({"scratch", R"({"name":"scratch","emptyDir":{}})", {}});
    r.tmpl.container->volume_mounts.push_back({"scratch", "/tmp/scratch", "", false});
    return r;
  };
  EXPECT_EQ(run(with_scratch(shell("a", "echo x > /tmp/scratch/f && cat /tmp/scratch/f"))).stdout_text, "x\n");
  EXPECT_EQ(run(with_scratch(shell("b", "test -e /tmp/scratch/f"))).exit_code, 1);
}

TEST_F(HostExecutorTest, HostPathVolume) {
  std::string host = dir_ + "/host";
  ASSERT_TRUE(make_dirs(host));
  ASSERT_TRUE(write_file(host + "/in", "from host\n", 0644));
  StepRequest r = shell("hp", "cat /tmp/h/in; echo back > /tmp/h/out");
  r.volumes.push_back({"h", R"({"hostPath":{"path":")" + host + R"("}})", {}});
  r.tmpl.container->volume_mounts.push_back({"h", "/tmp/h", "", false});
  EXPECT_EQ(run(r).stdout_text, "from host\n");
  EXPECT_EQ(slurp(host + "/out"), "back\n");
}

TEST_F(HostExecutorTest, MissingSecretFailsTheStepWithItsName) {
  StepRequest r = shell("sec", "true");
  r.volumes.push_back({"creds", R"({"secret":{"secretName":"x"}})", {}});
  r.tmpl.container->volume_mounts.push_back({"creds", "/tmp/creds", "", true});
  StepResult res = run(r);
  EXPECT_TRUE(res.error);
  EXPECT_EQ(res.message, "volume creds: secret: secret \"x\" not found in namespace default; create it with "
                         "`skiff secret create x ...`");

  StepRequest e = shell("vf", "true");
  e.tmpl.container->env = {{"TOKEN", std::nullopt, R"({"secretKeyRef":{"name":"a","key":"b"}})"}};
  StepResult er = run(e);
  EXPECT_TRUE(er.error);
  EXPECT_NE(er.message.find("env TOKEN: secretKeyRef: secret \"a\" not found"), std::string::npos) << er.message;
}

TEST_F(HostExecutorTest, SecretVolumeItemsAndEnvFromTheLocalStore) {
  ConfigObject secret;
  secret.data = {{"token", "t0k"}, {"ca.crt", "PEM"}};
  ASSERT_TRUE(write_config_object(options_.data_dir, ConfigKind::kSecret, "default", "creds", secret, false).is_ok());
  StepRequest r = shell("sec", "cat /tmp/creds/certs/ca.pem; echo; echo $TOKEN; ls /tmp/creds/certs; "
                               "stat -c %a /tmp/creds/certs/ca.pem; touch /tmp/creds/x 2>/dev/null || echo read-only");
  r.volumes.push_back({"creds", R"({"secret":{"secretName":"creds","items":[{"key":"ca.crt","path":"certs/ca.pem","mode":256}]}})", {}});
  r.tmpl.container->volume_mounts.push_back({"creds", "/tmp/creds", "", false});
  r.tmpl.container->env = {{"TOKEN", std::nullopt, R"({"secretKeyRef":{"name":"creds","key":"token"}})"}};
  StepResult res = run(r);
  EXPECT_FALSE(res.error) << res.message;
  EXPECT_EQ(res.stdout_text, "PEM\nt0k\nca.pem\n400\nread-only\n");
}

TEST_F(HostExecutorTest, OutputParametersFromPaths) {
  StepRequest r = shell("outp", "printf 'v1\\n' > /tmp/p1; echo v2 > /tmp/work/p2");
  r.claims.push_back({"workdir", "{}", {}});
  r.tmpl.container->volume_mounts.push_back({"workdir", "/tmp/work", "", false});
  for (auto [name, path] : {std::pair{"p1", "/tmp/p1"}, {"p2", "/tmp/work/p2"}, {"p3", "/tmp/absent"}}) {
    add_output(r, name, path);
  }
  StepResult res = run(r);
  EXPECT_EQ(res.output_parameters.at("p1"), "v1\n");
  EXPECT_EQ(res.output_parameters.at("p2"), "v2\n");
  EXPECT_EQ(res.output_parameters.count("p3"), 0u);
}

TEST_F(HostExecutorTest, KillWithReasonSigtermHandled) {
  ex_->start(shell("k", "trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.05; done"));
  auto t0 = Clock::now();
  while (!saw_line("k", "ready") && Clock::now() - t0 < std::chrono::seconds(5)) ex_->wait(20);
  ASSERT_TRUE(saw_line("k", "ready"));
  ex_->kill("k", "stopped by test");
  std::vector<StepResult> res;
  while (res.empty() && Clock::now() - t0 < std::chrono::seconds(5)) res = ex_->wait(100);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].exit_code, 7);
  EXPECT_EQ(res[0].message, "stopped by test");
  EXPECT_TRUE(saw_line("k", "got-term"));
}

TEST_F(HostExecutorTest, KillEscalatesToSigkillAfterGrace) {
  ex_.reset();
  options_.kill_grace_ms = 200;
  ex_ = std::move(*make_host_executor(options_));
  ex_->start(shell("stubborn", "trap '' TERM; echo ready; while :; do sleep 0.05; done"));
  auto t0 = Clock::now();
  while (!saw_line("stubborn", "ready") && Clock::now() - t0 < std::chrono::seconds(5)) ex_->wait(20);
  ASSERT_TRUE(saw_line("stubborn", "ready"));
  auto killed_at = Clock::now();
  ex_->kill("stubborn", "deadline exceeded");
  std::vector<StepResult> res;
  while (res.empty() && Clock::now() - t0 < std::chrono::seconds(5)) res = ex_->wait(100);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed_at).count();
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].exit_code, 137);
  EXPECT_EQ(res[0].message, "deadline exceeded");
  EXPECT_GE(took, 190);
  EXPECT_LT(took, 2000);
}

TEST_F(HostExecutorTest, GrandchildHoldingStdoutDoesNotHang) {
  auto t0 = Clock::now();
  StepResult r = run(shell("gc", "(sleep 30 &); sleep 30 & echo done"));
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_text, "done\n");
  EXPECT_LT(took, 2000);
}

TEST_F(HostExecutorTest, HundredConcurrentSteps) {
  for (int i = 0; i < 100; ++i) ex_->start(shell("c" + std::to_string(i), "echo $HOSTNAME; sleep 0.2"));
  EXPECT_EQ(ex_->running(), 100u);
  std::map<std::string, StepResult> done;
  auto t0 = Clock::now();
  while (done.size() < 100 && Clock::now() - t0 < std::chrono::seconds(30)) {
    for (auto& r : ex_->wait(1000)) done[r.node_id] = r;
  }
  ASSERT_EQ(done.size(), 100u);
  for (auto& [id, r] : done) {
    EXPECT_EQ(r.exit_code, 0) << id;
    EXPECT_EQ(r.stdout_text, id + "\n");
  }
}

// --- isolation (issue 10): a root step must never reach the server's data -----------------

StepRequest with_host_path(StepRequest r, const std::string& path) {
  r.volumes.push_back({"h", R"({"hostPath":{"path":")" + path + R"("}})", {}});
  r.tmpl.container->volume_mounts.push_back({"h", "/tmp/h", "", false});
  return r;
}

// The mount options of `target` as the step sees them ("ro,nosuid,..."), one line each.
std::string mount_options_script(const std::string& target) {
  return "awk '$5 == \"" + target + "\" {print $6}' /proc/self/mountinfo | tail -n 1";
}

uint64_t status_field(const std::string& status, const std::string& field) {
  size_t at = status.find(field + ":");
  if (at == std::string::npos) return ~uint64_t{0};
  return std::strtoull(status.c_str() + at + field.size() + 1, nullptr, 16);
}

TEST_F(HostExecutorTest, StepCannotMountOrUnmount) {
  StepResult r = run(shell("mnt", "umount -l /tmp 2>/dev/null && echo unmounted; umount /proc 2>/dev/null && echo "
                                  "proc-unmounted; mkdir -p /tmp/m; mount -t tmpfs none /tmp/m 2>/dev/null && echo "
                                  "mounted; echo done"));
  EXPECT_EQ(r.stdout_text, "done\n");
}

TEST_F(HostExecutorTest, StepKeepsOnlyOrdinaryCapabilities) {
  StepResult r = run(shell("caps", "cat /proc/self/status"));
  ASSERT_EQ(r.exit_code, 0);
  auto mask = [](std::initializer_list<int> caps) {
    uint64_t m = 0;
    for (int c : caps) m |= uint64_t{1} << c;
    return m;
  };
  // DAC_READ_SEARCH, NET_ADMIN, NET_RAW, SYS_MODULE, SYS_RAWIO, SYS_PTRACE, SYS_ADMIN, SYS_BOOT,
  // SYS_TIME, MKNOD, MAC_ADMIN, SYSLOG, BPF.
  const uint64_t forbidden = mask({2, 12, 13, 16, 17, 19, 21, 22, 25, 27, 33, 34, 39});
  // CHOWN, DAC_OVERRIDE, FOWNER, KILL, SETGID, SETUID, NET_BIND_SERVICE.
  const uint64_t needed = mask({0, 1, 3, 5, 6, 7, 10});
  for (const char* set : {"CapEff", "CapPrm", "CapBnd"}) {
    EXPECT_EQ(status_field(r.stdout_text, set) & forbidden, 0u) << set << " holds forbidden capabilities";
  }
  EXPECT_EQ(status_field(r.stdout_text, "CapEff") & needed, needed) << "a root step needs these";
  EXPECT_EQ(status_field(r.stdout_text, "CapInh"), 0u);
  EXPECT_EQ(status_field(r.stdout_text, "CapAmb"), 0u);
  EXPECT_EQ(status_field(r.stdout_text, "NoNewPrivs"), 1u);
}

TEST_F(HostExecutorTest, ServerDataIsHiddenFromSteps) {
  std::string db = dir_ + "/elsewhere.db";  // e.g. skiff server --db sqlite:PATH outside the data directory
  ASSERT_TRUE(write_file(db, "more rows", 0600));
  ex_.reset();
  options_.private_paths = {db};
  ex_ = std::move(*make_host_executor(options_));
  ConfigObject secret;
  secret.data = {{"password", "hunter2"}};
  ASSERT_TRUE(write_config_object(options_.data_dir, ConfigKind::kSecret, "other", "db", secret, false).is_ok());
  ASSERT_TRUE(make_dirs(options_.data_dir));
  ASSERT_TRUE(write_file(options_.data_dir + "/skiff.db", "rows", 0600));
  ASSERT_EQ(run(shell("earlier", "echo earlier-log")).exit_code, 0);
  std::string data = options_.data_dir, runs = options_.run_dir;
  StepResult r = run(shell("look", "ls -A " + data + " " + runs + "; cat " + data + "/skiff.db " + runs +
                                       "/logs/earlier.log " + db + " 2>/dev/null; touch " + data +
                                       "/x 2>/dev/null || echo read-only; echo end"));
  EXPECT_EQ(r.stdout_text, data + ":\n\n" + runs + ":\nread-only\nend\n");
}

TEST_F(HostExecutorTest, KernelFilesAndDevicesAreProtected) {
  StepResult r = run(shell("kern", mount_options_script("/proc/sys") + "; " + mount_options_script("/sys") +
                                       "; find /dev -type b | wc -l; echo x > /dev/null && head -c 4 /dev/urandom | "
                                       "wc -c; ls -A /dev/shm; ls /dev/pts/ptmx"));
  std::istringstream in(r.stdout_text);
  std::string proc_sys, sys, block_devices, random_bytes;
  in >> proc_sys >> sys >> block_devices >> random_bytes;
  EXPECT_EQ(proc_sys.substr(0, 3), "ro,") << r.stdout_text;
  EXPECT_EQ(sys.substr(0, 3), "ro,") << r.stdout_text;
  EXPECT_EQ(block_devices, "0") << "the host's disks are reachable from a step";
  EXPECT_EQ(random_bytes, "4");
  EXPECT_NE(r.stdout_text.find("/dev/pts/ptmx"), std::string::npos) << r.stdout_text;
}

TEST_F(HostExecutorTest, HostPathOnTheDataDirectoryIsRefused) {
  std::string outside = dir_ + "/outside";
  ASSERT_TRUE(make_dirs(options_.data_dir + "/secrets"));
  ASSERT_TRUE(make_dirs(outside));
  ASSERT_EQ(::symlink(options_.data_dir.c_str(), (dir_ + "/link").c_str()), 0);
  int n = 0;
  for (std::string path : {options_.data_dir, options_.data_dir + "/secrets", dir_, dir_ + "/link", std::string("/"),
                           options_.run_dir + "/logs", std::string("/proc/1/root")}) {
    StepResult r = run(with_host_path(shell("hp" + std::to_string(n++), "ls /tmp/h"), path));
    EXPECT_TRUE(r.error) << path;
    EXPECT_NE(r.message.find("volume h: hostPath " + path + " "), std::string::npos) << r.message;
    EXPECT_NE(r.message.find("skiff's own"), std::string::npos) << r.message;
  }
  EXPECT_TRUE(run(with_host_path(shell("up", "true"), outside + "/../data")).error);  // ".." is refused outright
  StepResult ok = run(with_host_path(shell("fine", "ls -A /tmp/h; echo ok"), outside));
  EXPECT_EQ(ok.stdout_text, "ok\n") << ok.message;
}

TEST_F(HostExecutorTest, MountPathInsideTheDataDirectoryIsRefused) {
  StepRequest r = shell("mp", "true");
  r.claims.push_back({"workdir", "{}", {}});
  r.tmpl.container->volume_mounts.push_back({"workdir", options_.data_dir + "/secrets", "", false});
  StepResult res = run(r);
  EXPECT_TRUE(res.error);
  EXPECT_NE(res.message.find("mountPath " + options_.data_dir + "/secrets"), std::string::npos) << res.message;
  EXPECT_FALSE(exists(options_.data_dir + "/secrets"));
}

TEST_F(HostExecutorTest, OutputParametersNeverReadTheServersFiles) {
  ASSERT_TRUE(make_dirs(options_.data_dir));
  ASSERT_TRUE(write_file(options_.data_dir + "/token", "s3cret", 0600));
  StepRequest r = shell("leak", "ln -s " + options_.data_dir + "/token /tmp/link; echo mine > /tmp/mine");
  for (auto [name, path] : {std::pair{"link", std::string("/tmp/link")}, {"direct", options_.data_dir + "/token"},
                            {"proc", std::string("/proc/self/environ")}, {"mine", std::string("/tmp/mine")}}) {
    add_output(r, name, path);
  }
  StepResult res = run(r);
  EXPECT_EQ(res.output_parameters.count("link"), 0u) << res.output_parameters["link"];
  EXPECT_EQ(res.output_parameters.count("direct"), 0u) << res.output_parameters["direct"];
  EXPECT_EQ(res.output_parameters.count("proc"), 0u) << res.output_parameters["proc"];
  EXPECT_EQ(res.output_parameters["mine"], "mine\n");
}

TEST_F(HostExecutorTest, HostPathAndHostWritesNeedTheOperatorsConsent) {
  ex_.reset();
  options_.allow_host_path = false;
  ex_ = std::move(*make_host_executor(options_));
  std::string outside = dir_ + "/outside";
  ASSERT_TRUE(make_dirs(outside));
  StepResult r = run(with_host_path(shell("hp", "true"), outside));
  EXPECT_TRUE(r.error);
  EXPECT_NE(r.message.find("volume h: hostPath volumes are not allowed"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("--allow-host-path"), std::string::npos) << r.message;

  // The host's own files are read-only; the step's /tmp and volumes are not.
  StepRequest w = shell("w", mount_options_script("/") + "; echo x > /tmp/f && echo x > /tmp/work/f && echo writable");
  w.claims.push_back({"workdir", "{}", {}});
  w.tmpl.container->volume_mounts.push_back({"workdir", "/tmp/work", "", false});
  StepResult res = run(w);
  EXPECT_EQ(res.stdout_text.substr(0, 3), "ro,") << res.stdout_text << res.message;
  EXPECT_NE(res.stdout_text.find("writable\n"), std::string::npos) << res.stdout_text;
}

// A mountPath the host lacks is made in the step's private view (volumes.h Shadow), never
// on the host; under a read-only root the view stays read-only but for the volume.
TEST_F(HostExecutorTest, MountPointsTheHostLacksArePrivate) {
  const std::string top = "/skiff-test-private-" + std::to_string(::getpid());
  for (bool read_only : {false, true}) {
    ex_.reset();
    options_.allow_host_path = !read_only;
    ex_ = std::move(*make_host_executor(options_));
    StepRequest w = shell("p", mount_options_script("/") + "; echo x > " + top + "/a/f && cat " + top +
                                   "/a/f && test -x /bin/sh && (touch /skiff-test-new 2>/dev/null && echo root-writable"
                                   " || echo root-read-only)");
    w.claims.push_back({"workdir", "{}", {}});
    w.tmpl.container->volume_mounts.push_back({"workdir", top + "/a", "", false});
    StepResult res = run(w);
    EXPECT_FALSE(res.error) << res.message;
    EXPECT_NE(res.stdout_text.find("x\n"), std::string::npos) << res.stdout_text << res.message;
    EXPECT_NE(res.stdout_text.find(read_only ? "root-read-only" : "root-writable"), std::string::npos)
        << res.stdout_text;
    struct stat st;
    EXPECT_NE(::stat(top.c_str(), &st), 0) << top << " was made on the host";
    EXPECT_NE(::stat("/skiff-test-new", &st), 0) << "a file the step wrote at / reached the host";
  }
}

TEST_F(HostExecutorTest, PrivilegedStepsNeedTheOperatorsConsent) {
  StepRequest r = shell("priv", "grep CapEff /proc/self/status");
  r.tmpl.container->security_context_json = R"({"privileged":true})";
  StepResult allowed = run(r);
  EXPECT_EQ(status_field(allowed.stdout_text, "CapEff") >> 21 & 1, 1u) << allowed.stdout_text << allowed.message;

  ex_.reset();
  options_.allow_privileged = false;
  ex_ = std::move(*make_host_executor(options_));
  r.node_id = "refused";
  StepResult refused = run(r);
  EXPECT_TRUE(refused.error);
  EXPECT_NE(refused.message.find("securityContext.privileged"), std::string::npos) << refused.message;
  EXPECT_NE(refused.message.find("--allow-privileged"), std::string::npos) << refused.message;
}

// Prints (does not assert) the per-step cost of a no-op step against a raw spawn + wait.
TEST_F(HostExecutorTest, NoOpStepOverhead) {
  constexpr int kSteps = 300;
  auto t0 = Clock::now();
  for (int i = 0; i < kSteps; ++i) {
    StepRequest r = shell("n" + std::to_string(i), "");
    r.tmpl.container->command = {"true"};
    ex_->start(std::move(r));
    while (ex_->wait(-1).empty()) {
    }
  }
  double sandbox_us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / kSteps;

  // Throughput with 16 steps in flight, and the gap from a reported exit to the next start.
  constexpr int kParallel = 16;
  int started = 0, finished = 0;
  double worst_gap_us = 0;
  auto start_one = [&] {
    StepRequest r = shell("p" + std::to_string(started++), "");
    r.tmpl.container->command = {"true"};
    ex_->start(std::move(r));
  };
  auto t2 = Clock::now();
  while (started < kParallel) start_one();
  while (finished < kSteps) {
    for (auto& res : ex_->wait(-1)) {
      EXPECT_EQ(res.exit_code, 0);
      ++finished;
      auto gap_start = Clock::now();
      if (started < kSteps) start_one();
      worst_gap_us = std::max(worst_gap_us, std::chrono::duration<double, std::micro>(Clock::now() - gap_start).count());
    }
  }
  double per_second = kSteps / std::chrono::duration<double>(Clock::now() - t2).count();

  auto t1 = Clock::now();
  for (int i = 0; i < kSteps; ++i) {
    pid_t pid;
    char* argv[] = {const_cast<char*>("true"), nullptr};
    ASSERT_EQ(::posix_spawnp(&pid, "true", nullptr, nullptr, argv, environ), 0);
    int st;
    ::waitpid(pid, &st, 0);
  }
  double raw_us = std::chrono::duration<double, std::micro>(Clock::now() - t1).count() / kSteps;
  std::printf("[ perf ] no-op step: host sandbox %.0f us/step, raw posix_spawn+wait %.0f us/step (%.1fx)\n",
              sandbox_us, raw_us, sandbox_us / raw_us);
  std::printf("[ perf ] %d in flight: %.0f steps/s; exit-to-next-start worst %.0f us\n", kParallel, per_second,
              worst_gap_us);
}

}  // namespace
TEST_F(HostExecutorTest, StepHasItsOwnIpcNamespace) {
  char ours[64] = {};
  ASSERT_GT(::readlink("/proc/self/ns/ipc", ours, sizeof ours - 1), 0);
  StepResult r = run(shell("ipc", "readlink /proc/self/ns/ipc"));
  EXPECT_EQ(r.exit_code, 0) << r.message;
  EXPECT_FALSE(r.stdout_text.empty());
  EXPECT_NE(r.stdout_text, std::string(ours) + "\n");
}

// --- steps outlive the executor that started them (supervisor.h) -----------------------------

class SupervisedStepTest : public HostExecutorTest {
 protected:
  // From now on steps outlive their executor, as under skiff server.
  void detach() {
    ex_.reset();
    options_.detach_steps = true;
    restart();
  }
  // A new executor over the same directories, as a restarted server makes.
  void restart() {
    ex_.reset();
    auto ex = make_host_executor(options_);
    ASSERT_TRUE(ex) << ex.status().message();
    ex_ = std::move(*ex);
  }
  StepRequest adopted(StepRequest r) {
    r.adopt = true;
    return r;
  }
};

TEST_F(SupervisedStepTest, RunningStepIsAdoptedAfterRestart) {
  detach();
  StepRequest r = shell("long", "echo before; sleep 1; echo after; echo out > /tmp/o");
  add_output(r, "o", "/tmp/o");
  ex_->start(r);
  ex_->wait(200);  // it runs
  restart();       // the executor goes; the step does not
  StepResult res = run(adopted(r));
  EXPECT_EQ(res.exit_code, 0);
  EXPECT_FALSE(res.error) << res.message;
  EXPECT_EQ(res.stdout_text, "before\nafter\n");
  EXPECT_EQ(res.output_parameters["o"], "out\n");
  EXPECT_EQ(slurp(step_files(options_.run_dir, "long").log), "before\nafter\n");
}

TEST_F(SupervisedStepTest, StepThatEndedMeanwhileReportsItsResult) {
  detach();
  StepRequest r = shell("quick", "echo done; exit 4");
  ex_->start(r);
  ex_->wait(50);
  restart();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  StepResult res = run(adopted(r));
  EXPECT_EQ(res.exit_code, 4);
  EXPECT_EQ(res.stdout_text, "done\n");
}

TEST_F(SupervisedStepTest, StepThatNeverStartedStartsWhenAdopted) {
  StepResult res = run(adopted(shell("fresh", "echo ran")));
  EXPECT_EQ(res.exit_code, 0);
  EXPECT_EQ(res.stdout_text, "ran\n");
}

TEST_F(SupervisedStepTest, AdoptedStepCanBeKilled) {
  detach();
  StepRequest r = shell("forever", "sleep 60");
  ex_->start(r);
  ex_->wait(200);
  restart();
  ex_->start(adopted(r));
  ex_->kill("forever", "stopped by test");
  StepResult res = wait_for("forever", 5000);
  EXPECT_EQ(res.message, "stopped by test");
  EXPECT_NE(res.exit_code, 0);
}

TEST_F(SupervisedStepTest, LogIsCappedWithANote) {
  ex_.reset();
  options_.max_log = 1000;
  restart();
  StepResult res = run(shell("chatty", "seq 1 5000; echo tail"));
  EXPECT_EQ(res.exit_code, 0);
  std::string log = slurp(step_files(options_.run_dir, "chatty").log);
  EXPECT_LT(log.size(), 1300u);
  EXPECT_EQ(log.substr(0, 8), "1\n2\n3\n4\n");
  EXPECT_NE(log.find("skiff: log truncated: the step wrote more than 1000 bytes"), std::string::npos) << log;
}

TEST_F(SupervisedStepTest, KilledSupervisorEndsItsStepInError) {
  detach();
  StepRequest r = shell("victim", "sleep 30");
  ex_->start(r);
  ex_->wait(300);
  std::string pid_file = step_files(options_.run_dir, "victim").pid;
  long pid = std::atol(slurp(pid_file).c_str());
  ASSERT_GT(pid, 1) << pid_file;
  ::kill(static_cast<pid_t>(pid), SIGKILL);
  StepResult res = wait_for("victim", 5000);
  EXPECT_TRUE(res.error);
  EXPECT_NE(res.message.find("supervisor ended without a result"), std::string::npos) << res.message;
  // After a restart, too: it is not run again.
  restart();
  res = run(adopted(r), 5000);
  EXPECT_TRUE(res.error);
  EXPECT_NE(res.message.find("supervisor ended without a result"), std::string::npos) << res.message;
}

}  // namespace skiff::runtime
