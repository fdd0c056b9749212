#include "cli/load.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "spec/decode.h"

namespace skiff::cli {

void print_warnings(const Diagnostics& warnings) {
  for (const auto& w : warnings) std::fprintf(stderr, "warning: %s\n", w.format().c_str());
}

void load_files(const std::vector<std::string>& files, Loaded& out) {
  for (const auto& file : files) {
    spec::Decoded decoded = spec::decode_file(file);
    for (auto& d : decoded.diagnostics) out.diagnostics.push_back(std::move(d));
    for (auto& obj : decoded.objects) out.objects.push_back(std::move(obj));
    for (auto& config : decoded.configs) out.configs.push_back(std::move(config));
  }
  for (const auto& obj : out.objects) {
    if (obj.kind == spec::Kind::kWorkflowTemplate) out.library.workflow_templates.push_back(&obj);
    if (obj.kind == spec::Kind::kClusterWorkflowTemplate)
      out.library.cluster_workflow_templates.push_back(&obj);
  }
}

Status refuse_configs(const Loaded& loaded) {
  if (loaded.configs.empty()) return Status::ok();
  const spec::ConfigDocument& d = loaded.configs.front();
  const char* kind = d.secret ? "Secret" : "ConfigMap";
  return invalid(d.pos.file + ":" + std::to_string(d.pos.line) + ": " + kind + " " + d.name +
                 ": this command sends workflow objects only; create it on the server with `skiff " +
                 (d.secret ? "secret" : "configmap") + " create`");
}

namespace {

constexpr size_t kMaxParameterFile = 4 << 20;

// Renders a YAML value the way a parameter holds it: scalars as text, the rest as JSON.
std::string parameter_text(const YAML::Node& node) {
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter emitter;
  emitter << YAML::DoubleQuoted << YAML::Flow << node;
  return emitter.c_str();
}

}  // namespace

Result<std::map<std::string, std::string>> load_parameters(const std::vector<std::string>& flags,
                                                           const std::string& parameter_file) {
  std::map<std::string, std::string> params;
  if (!parameter_file.empty()) {
    std::ifstream in(parameter_file, std::ios::binary);
    if (!in) return invalid("parameter file " + parameter_file + ": cannot be read; check the path");
    std::ostringstream text;
    text << in.rdbuf();
    if (text.str().size() > kMaxParameterFile)
      return invalid("parameter file " + parameter_file + ": larger than 4 MiB");
    try {
      YAML::Node root = YAML::Load(text.str());
      if (!root.IsMap() && !root.IsNull())
        return invalid("parameter file " + parameter_file +
                       ": must be a map of parameter names to values, like `git_branch: main`");
      for (const auto& kv : root) params[kv.first.as<std::string>()] = parameter_text(kv.second);
    } catch (const YAML::Exception& e) {
      return invalid(parameter_file + ":" + std::to_string(e.mark.line + 1) + ":" +
                     std::to_string(e.mark.column + 1) + ": " + e.msg);
    }
  }
  for (const auto& flag : flags) {
    auto eq = flag.find('=');
    if (eq == std::string::npos || eq == 0)
      return invalid("parameter \"" + flag + "\": expected name=value, e.g. -p git_branch=main");
    params[flag.substr(0, eq)] = flag.substr(eq + 1);
  }
  return params;
}

}  // namespace skiff::cli
