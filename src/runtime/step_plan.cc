#include "runtime/step_plan.h"

#include <cstdlib>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include <nlohmann/json.hpp>

#include "runtime/fd.h"
#include "runtime/quantity.h"
#include "runtime/secret_store.h"
#include "runtime/termination_message.h"
#include "runtime/volumes.h"

namespace skiff::runtime {
namespace {

const std::string* lookup(const std::vector<std::pair<std::string, std::string>>& vars, std::string_view name) {
  for (auto it = vars.rbegin(); it != vars.rend(); ++it) {
    if (it->first == name) return &it->second;
  }
  return nullptr;
}

void set_var(std::vector<std::pair<std::string, std::string>>& vars, const std::string& name, std::string value) {
  for (auto& v : vars) {
    if (v.first == name) {
      v.second = std::move(value);
      return;
    }
  }
  vars.emplace_back(name, std::move(value));
}

Status check_env_name(const std::string& name) {
  if (name.empty() || name.find('=') != std::string::npos || name.find('\0') != std::string::npos) {
    return invalid("env \"" + name + "\": not a valid environment variable name");
  }
  return Status::ok();
}

// One key of a secret or config map, for env valueFrom. Empty optional value -> not set.
Result<std::optional<std::string>> key_ref(const nlohmann::json& ref, ConfigKind kind, const PlanDefaults& d,
                                           const std::string& env_name) {
  std::string what = "env " + env_name + ": " + (kind == ConfigKind::kSecret ? "secretKeyRef" : "configMapKeyRef");
  if (!ref.is_object()) return invalid(what + " must be an object with name and key");
  bool optional = ref.value("optional", false);
  auto obj = read_config_object(d.data_dir, kind, d.namespace_, ref.value("name", ""));
  if (!obj) {
    if (optional && obj.status().code() == Code::kNotFound) return std::optional<std::string>();
    return obj.status().with_context(what);
  }
  std::string key = ref.value("key", "");
  auto it = obj->data.find(key);
  if (it == obj->data.end()) {
    if (optional) return std::optional<std::string>();
    return not_found(what + ": " + ref.value("name", "") + " has no key \"" + key + "\"");
  }
  return std::optional<std::string>(it->second);
}

// securityContext.privileged: honoured when the executor allows it.
Status check_privileged(const spec::Container& c, const PlanDefaults& defaults, bool* privileged) {
  if (c.security_context_json.empty()) return Status::ok();
  nlohmann::json sec = nlohmann::json::parse(c.security_context_json, nullptr, false);
  auto it = sec.is_object() ? sec.find("privileged") : sec.end();
  if (!sec.is_object() || it == sec.end()) return Status::ok();
  if (!it->is_boolean()) return invalid("securityContext.privileged must be true or false");
  *privileged = it->get<bool>();
  if (*privileged && !defaults.allow_privileged) return privileged_not_allowed();
  return Status::ok();
}

}  // namespace

Result<EnvList> resolve_env(const spec::Container& c, EnvList vars, const PlanDefaults& defaults,
                            const std::string& pod_name) {
  using Json = nlohmann::json;
  if (!c.env_from_json.empty()) {
    Json list = Json::parse(c.env_from_json, nullptr, false);
    if (!list.is_array()) return invalid("envFrom must be a list");
    for (const auto& source : list) {
      std::string prefix = source.value("prefix", "");
      for (auto [field, kind] : {std::pair{"secretRef", ConfigKind::kSecret}, {"configMapRef", ConfigKind::kConfigMap}}) {
        if (!source.contains(field)) continue;
        const Json& ref = source[field];
        auto obj = read_config_object(defaults.data_dir, kind, defaults.namespace_, ref.value("name", ""));
        if (!obj) {
          if (ref.value("optional", false) && obj.status().code() == Code::kNotFound) continue;
          return obj.status().with_context(std::string("envFrom ") + field);
        }
        for (const auto& [k, v] : obj->data) set_var(vars, prefix + k, v);
      }
    }
  }
  for (const auto& e : c.env) {
    if (Status s = check_env_name(e.name); !s) return s;
    if (e.value_from_json.empty()) {
      set_var(vars, e.name, expand_vars(e.value.value_or(""), vars));
      continue;
    }
    Json from = Json::parse(e.value_from_json, nullptr, false);
    Result<std::optional<std::string>> value = std::optional<std::string>();
    if (from.contains("secretKeyRef")) {
      value = key_ref(from["secretKeyRef"], ConfigKind::kSecret, defaults, e.name);
    } else if (from.contains("configMapKeyRef")) {
      value = key_ref(from["configMapKeyRef"], ConfigKind::kConfigMap, defaults, e.name);
    } else if (from.contains("fieldRef")) {
      std::string field = from["fieldRef"].value("fieldPath", "");
      if (field == "metadata.name") {
        value = std::optional<std::string>(pod_name);
      } else if (field == "metadata.namespace") {
        value = std::optional<std::string>(defaults.namespace_);
      } else {
        return invalid("env " + e.name + ": fieldRef " + field + " is not available here (metadata.name, metadata.namespace are)");
      }
    } else if (from.contains("resourceFieldRef")) {
      const Json& ref = from["resourceFieldRef"];
      if (!ref.is_object()) return invalid("env " + e.name + ": resourceFieldRef must be an object with resource");
      const Json divisor = ref.value("divisor", Json(""));
      auto v = resource_field_value(c.resources_json, ref.value("resource", ""),
                                    divisor.is_string() ? divisor.get<std::string>() : divisor.dump(), e.name);
      if (!v) return v.status();
      value = std::optional<std::string>(std::move(*v));
    } else {
      return invalid("env " + e.name + ": valueFrom needs secretKeyRef, configMapKeyRef, fieldRef or resourceFieldRef");
    }
    if (!value) return value.status();
    if (*value) set_var(vars, e.name, std::move(**value));
  }
  return vars;
}

std::string file_name_for(const std::string& node_id) {
  std::string out;
  out.reserve(node_id.size());
  for (char c : node_id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.';
    out += ok ? c : '_';
  }
  if (out.empty() || out[0] == '.') out.insert(out.begin(), '_');
  if (out.size() > 200) out.resize(200);
  return out;
}

std::string expand_vars(const std::string& text, const EnvList& vars) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size()) {
      out += text[i];
      continue;
    }
    char next = text[i + 1];
    if (next == '$') {
      out += '$';
      ++i;
    } else if (next == '(') {
      size_t close = text.find(')', i + 2);
      if (close == std::string::npos) {
        out += text.substr(i);
        break;
      }
      std::string_view name(text.data() + i + 2, close - i - 2);
      if (const std::string* value = lookup(vars, name)) {
        out += *value;
      } else {
        out.append(text, i, close - i + 1);
      }
      i = close;
    } else {
      out += '$';
    }
  }
  return out;
}

Result<StepPlan> plan_step(const StepRequest& request, const std::string& run_dir, const std::string& step_dir,
                           const PlanDefaults& defaults) {
  if (!request.tmpl.container) {
    return invalid("template " + request.tmpl.name + ": the host executor runs container and script templates only");
  }
  if (!request.tmpl.sidecars.empty()) {
    return invalid("template " + request.tmpl.name + ": sidecars need --executor container");
  }
  const spec::Container& c = *request.tmpl.container;
  const bool script = !c.source.empty();
  StepPlan plan;
  std::string name = file_name_for(request.node_id);
  plan.step_dir = step_dir;
  SandboxSpec& sb = plan.sandbox;
  sb.tmp_dir = plan.step_dir + "/tmp";
  sb.hostname = (request.pod_name.empty() ? name : request.pod_name).substr(0, 63);

  // Environment first: command and args may refer to it with $(VAR).
  auto env = resolve_env(c, {{"PATH", defaults.path}, {"HOME", defaults.home}, {"HOSTNAME", sb.hostname}}, defaults,
                         request.pod_name);
  if (!env) return env.status();
  const EnvList& vars = *env;
  for (const auto& [k, v] : vars) sb.env.push_back(k + "=" + v);

  std::vector<std::string> argv = c.command;
  if (script && argv.empty()) argv.push_back("sh");
  argv.insert(argv.end(), c.args.begin(), c.args.end());
  if (script) argv.push_back(kScriptPath);
  if (argv.empty()) return invalid("container has no command: host executor needs command or args");
  for (auto& arg : argv) sb.argv.push_back(expand_vars(arg, vars));
  if (sb.argv[0].empty()) return invalid("container command is an empty string");

  if (Status s = make_dirs(sb.tmp_dir); !s) return s.with_context("creating the step's private /tmp");
  ::chmod(sb.tmp_dir.c_str(), 01777);

  if (Status s = check_privileged(c, defaults, &sb.privileged); !s) return s;
  sb.hidden = defaults.server_paths;
  sb.read_only_root = !defaults.allow_host_path;
  VolumeContext ctx{run_dir, plan.step_dir, defaults.data_dir, defaults.namespace_, defaults.server_paths,
                    defaults.allow_host_path};
  auto mounts = resolve_mounts(request, ctx, sb.tmp_dir, &sb.shadows);
  if (!mounts) return mounts.status();
  sb.mounts = std::move(*mounts);

  if (script) {
    std::string file = host_path(sb.mounts, sb.tmp_dir, kScriptPath);
    if (Status s = make_dirs(file.substr(0, file.find_last_of('/'))); !s) return s.with_context("script");
    if (Status s = write_file(file, c.source, 0755); !s) return s.with_context("script");
  }

  sb.working_dir = "/tmp";  // no image WORKDIR on the host; the private tmp keeps the host clean
  if (!c.working_dir.empty()) {
    auto wd = clean_absolute_path(expand_vars(c.working_dir, vars));
    if (!wd) return wd.status().with_context("workingDir");
    sb.working_dir = *wd;
  }

  auto message = termination_message_spec(c);
  if (!message) return message.status();
  if (!(is_under(message->path, "/dev") || is_under(message->path, "/tmp")) || message->path == "/dev" ||
      message->path == "/tmp") {
    return invalid("terminationMessagePath " + message->path +
                   ": the host executor keeps a step's termination message only under /dev or /tmp, the step's own "
                   "directories (elsewhere it would make a file on this machine); use a path there, or --executor "
                   "container");
  }
  plan.termination_log = plan.step_dir + "/termination-log";
  if (Status s = make_termination_log(plan.termination_log); !s) return s;
  plan.fallback_to_logs = message->fallback_to_logs;
  sb.message_file = plan.termination_log;
  sb.message_path = message->path;

  for (const auto& p : request.tmpl.outputs.parameters) {
    if (!p.value_from || p.value_from->path.empty()) continue;
    auto path = clean_absolute_path(p.value_from->path);
    if (!path) return path.status().with_context("output parameter " + p.name + ": valueFrom.path");
    plan.output_files.emplace_back(p.name, *path);
  }
  return plan;
}

Result<std::string> read_step_file(const SandboxSpec& sandbox, const std::string& path, size_t cap) {
  auto clean = clean_absolute_path(path);
  if (!clean) return clean.status();
  auto [root, rel] = locate_in_mounts(sandbox.mounts, *clean);
  if (!root.empty()) return read_in_root(root, rel, cap);
  if (is_under(*clean, "/tmp")) return read_in_root(sandbox.tmp_dir, clean->substr(4), cap);
  // One of the host's own files: find it (without opening it: opening a device may act),
  // look where it really is, and refuse what the step could not see.
  Fd fd(::open(clean->c_str(), O_PATH | O_CLOEXEC));
  if (!fd.valid()) return errno_status("reading " + *clean, errno);
  std::string self = "/proc/self/fd/" + std::to_string(fd.get());
  char real[PATH_MAX];
  ssize_t n = ::readlink(self.c_str(), real, sizeof real - 1);
  if (n <= 0) return errno_status("reading " + *clean, errno);
  std::string where(real, static_cast<size_t>(n));
  std::vector<std::string> unseen = sandbox.hidden;
  if (!sandbox.privileged) unseen.insert(unseen.end(), {"/proc", "/sys", "/dev"});
  for (const std::string& dir : unseen) {
    if (is_under(where, dir)) return invalid("reading " + *clean + ": the step could not see " + where);
  }
  return read_regular_file(fd.get(), *clean, cap);
}

namespace {

// "300ms", "1s", "5m", "1h" or a number of seconds.
long long delay_ms(const std::string& text) {
  if (text.empty()) return 0;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  std::string unit = end ? std::string(end) : "";
  if (end == text.c_str() || v < 0) return -1;
  if (unit.empty() || unit == "s") return static_cast<long long>(v * 1000);
  if (unit == "ms") return static_cast<long long>(v);
  if (unit == "m") return static_cast<long long>(v * 60000);
  if (unit == "h") return static_cast<long long>(v * 3600000);
  return -1;
}

}  // namespace

Result<ContainerSetPlan> plan_container_set(const StepRequest& request) {
  const spec::ContainerSet& set = *request.tmpl.container_set;
  if (set.containers.empty()) return invalid("containerSet has no containers");
  ContainerSetPlan plan;
  const spec::Container* main = nullptr;
  for (const auto& c : set.containers)
    if (c.name == "main") main = &c;
  if (!main) {
    for (auto it = set.containers.rbegin(); it != set.containers.rend() && !main; ++it) {
      bool needed = false;
      for (const auto& other : set.containers)
        for (const auto& d : other.dependencies) needed |= d == it->name;
      if (!needed) main = &*it;
    }
  }
  if (!main) return invalid("containerSet: every container is another's dependency (a cycle)");
  auto with_mounts = [&](spec::Container c) {
    c.volume_mounts.insert(c.volume_mounts.end(), set.volume_mounts.begin(), set.volume_mounts.end());
    return c;
  };
  plan.main_request = request;
  plan.main_request.tmpl.container = with_mounts(*main);
  plan.main_request.tmpl.container_set.reset();
  plan.main_name = main->name;
  plan.main_dependencies = main->dependencies;
  for (const auto& c : set.containers) {
    if (&c == main) continue;
    for (const auto& d : c.dependencies)
      if (d == main->name) return invalid("containerSet: container " + c.name + " depends on " + d + ", which skiff runs last");
    ContainerSetPlan::Member m;
    m.request = plan.main_request;
    m.request.tmpl.container = with_mounts(c);
    m.request.tmpl.outputs = {};
    m.request.tmpl.init_containers.clear();
    m.request.tmpl.sidecars.clear();
    m.request.extra_mounts.clear();
    m.name = c.name;
    m.dependencies = c.dependencies;
    plan.members.push_back(std::move(m));
  }
  if (!set.retries.empty()) {
    char* end = nullptr;
    long r = std::strtol(set.retries.c_str(), &end, 10);
    if (!end || *end || r < 0 || r > 1000) return invalid("containerSet.retryStrategy.retries \"" + set.retries + "\" is not a count");
    plan.retries = static_cast<int>(r);
  }
  long long d = delay_ms(set.duration);
  if (d < 0) return invalid("containerSet.retryStrategy.duration \"" + set.duration + "\" is not a duration like 1s or 300ms");
  plan.retry_delay_ms = d;
  return plan;
}

}  // namespace skiff::runtime
