// skiff image pull|ls|rm|prune: the local image store (<data>/images); skiff image
// push-self: the skiff image Kubernetes step Pods take their helper from (runtime/self_image.h).
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "cli/commands.h"
#include "cli/registry_flags.h"
#include "runtime/image_store.h"
#include "runtime/self_image.h"

namespace skiff::cli {
namespace {

struct ImageFlags {
  std::vector<std::string> refs;
  std::string data_dir;
  RegistryFlags registry;
  bool emissary_only = false;
};

std::string human_size(int64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} kB", bytes / 1024.0);
  if (bytes < 1024LL * 1024 * 1024) return fmt::format("{:.1f} MB", bytes / 1048576.0);
  return fmt::format("{:.2f} GB", bytes / 1073741824.0);
}

Result<std::unique_ptr<runtime::ImageStore>> open_store(const ImageFlags& flags) {
  return runtime::ImageStore::open((flags.data_dir.empty() ? default_data_dir() : flags.data_dir) + "/images");
}

int fail(const Status& s) {
  std::fprintf(stderr, "error: %s\n", s.message().c_str());
  return s.code() == Code::kInvalid ? kExitInvalid : kExitFailed;
}

// One line per layer, redrawn in place on a terminal.
class PullDisplay {
 public:
  explicit PullDisplay(bool terminal) : terminal_(terminal) {}
  void update(const std::string& digest, int64_t done, int64_t total) {
    auto now = std::chrono::steady_clock::now();
    layers_[digest] = {done, total};
    if (!terminal_ || (now - last_ < std::chrono::milliseconds(100) && done != total)) return;
    last_ = now;
    if (lines_) std::fprintf(stderr, "\x1b[%zuA", lines_);
    for (const auto& [d, p] : layers_) {
      std::fprintf(stderr, "\x1b[2K%s  %s / %s%s\n", d.substr(7, 12).c_str(), human_size(p.first).c_str(),
                   human_size(p.second).c_str(), p.first >= p.second ? "  done" : "");
    }
    lines_ = layers_.size();
  }

 private:
  bool terminal_;
  std::map<std::string, std::pair<int64_t, int64_t>> layers_;
  size_t lines_ = 0;
  std::chrono::steady_clock::time_point last_;
};

int pull(const ImageFlags& flags) {
  auto config = registry_config(flags.registry);
  if (!config) return fail(config.status());
  auto store = open_store(flags);
  if (!store) return fail(store.status());
  runtime::RegistryClient client(std::move(*config));
  int rc = kExitOk;
  for (const auto& text : flags.refs) {
    auto ref = runtime::parse_image_ref(text);
    if (!ref) return fail(ref.status());
    PullDisplay display(isatty(STDERR_FILENO));
    auto start = std::chrono::steady_clock::now();
    auto image = (*store)->pull(client, *ref, [&](const std::string& d, int64_t done, int64_t total) {
      display.update(d, done, total);
    });
    if (!image) {
      rc = fail(image.status());
      continue;
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s  %s  %s  (%lld ms)\n", image->name.c_str(), image->manifest_digest.c_str(),
                human_size(image->size).c_str(), static_cast<long long>(ms));
  }
  return rc;
}

int push_self(const ImageFlags& flags) {
  auto ref = runtime::parse_image_ref(flags.refs.at(0));
  if (!ref) return fail(ref.status());
  if (!ref->digest.empty()) {
    return fail(invalid("push-self " + flags.refs[0] + ": name a tag to push to, not a digest"));
  }
  auto config = registry_config(flags.registry);
  if (!config) return fail(config.status());
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/skiff-push-self-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) return fail(Status(Code::kFailed, "cannot create " + dir));
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir};
  runtime::SelfImageOptions options;
  options.emissary_only = flags.emissary_only;
  options.work_dir = dir;
  auto image = runtime::build_self_image(options);
  if (!image) return fail(image.status());
  std::fprintf(stderr, "layer %s: %zu files, %s\n", image->layer.descriptor.digest.c_str(), image->files.size(),
               human_size(image->layer.descriptor.size).c_str());
  runtime::RegistryClient client(std::move(*config));
  auto start = std::chrono::steady_clock::now();
  auto pushed = runtime::push_self_image(client, *ref, *image);
  if (!pushed) return fail(pushed.status());
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "pushed %d blobs, %d already there (%lld ms)\n", pushed->uploaded, pushed->present,
               static_cast<long long>(ms));
  std::printf("%s@%s\n", ref->canonical().c_str(), pushed->digest.c_str());
  return kExitOk;
}

int list(const ImageFlags& flags) {
  auto store = open_store(flags);
  if (!store) return fail(store.status());
  std::printf("%-60s %-19s %s\n", "IMAGE", "DIGEST", "SIZE");
  for (const auto& image : (*store)->list()) {
    std::printf("%-60s %-19s %s\n", image.name.c_str(), image.manifest_digest.substr(0, 19).c_str(),
                human_size(image.size).c_str());
  }
  return kExitOk;
}

int remove(const ImageFlags& flags) {
  auto store = open_store(flags);
  if (!store) return fail(store.status());
  int rc = kExitOk;
  for (const auto& text : flags.refs) {
    auto ref = runtime::parse_image_ref(text);
    if (!ref) return fail(ref.status());
    if (Status s = (*store)->remove(*ref); !s) {
      rc = fail(s);
    } else {
      std::printf("removed %s\n", ref->canonical().c_str());
    }
  }
  return rc;
}

int prune(const ImageFlags& flags) {
  auto store = open_store(flags);
  if (!store) return fail(store.status());
  auto removed = (*store)->prune();
  if (!removed) return fail(removed.status());
  std::printf("removed %d unused blobs and layers\n", *removed);
  return kExitOk;
}

}  // namespace

void add_image_command(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ImageFlags>();
  auto* cmd = app.add_subcommand("image", "manage the local image store");
  cmd->require_subcommand(1);
  auto data = [&](CLI::App* sub) {
    sub->add_option("--data", flags->data_dir, "data directory (default $SKIFF_DATA or ~/.local/state/skiff)");
  };
  auto* p = cmd->add_subcommand("pull", "pull images from their registries");
  p->add_option("images", flags->refs, "image references, e.g. busybox:1.36")->required();
  data(p);
  add_registry_flags(p, &flags->registry);
  p->callback([flags, exit_code] { *exit_code = pull(*flags); });
  auto* ps = cmd->add_subcommand("push-self", "build the skiff image (this binary, its libraries and "
                                              "skiff-emissary) and push it to REF");
  ps->add_option("ref", flags->refs, "where to push, e.g. registry.local:5000/skiff:0.1")->required()->expected(1);
  ps->add_flag("--emissary-only", flags->emissary_only, "an image holding only /bin/skiff-emissary");
  add_registry_flags(ps, &flags->registry);
  ps->callback([flags, exit_code] { *exit_code = push_self(*flags); });
  auto* l = cmd->add_subcommand("ls", "list stored images");
  data(l);
  l->callback([flags, exit_code] { *exit_code = list(*flags); });
  auto* r = cmd->add_subcommand("rm", "forget images (their layers go at the next prune)");
  r->add_option("images", flags->refs, "image references")->required();
  data(r);
  r->callback([flags, exit_code] { *exit_code = remove(*flags); });
  auto* pr = cmd->add_subcommand("prune", "delete layers and blobs no stored image uses");
  data(pr);
  pr->callback([flags, exit_code] { *exit_code = prune(*flags); });
}

}  // namespace skiff::cli
