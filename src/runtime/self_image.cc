#include "runtime/self_image.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <map>
#include <nlohmann/json.hpp>

#include "runtime/fd.h"
#include "runtime/program.h"
#include "util/digest.h"
#include "util/strings.h"

namespace skiff::runtime {
namespace {

using Json = nlohmann::json;

// One entry of the layer: a directory, a file copied from `source`, or `data`.
struct Entry {
  enum class Kind { kDir, kFile, kData } kind = Kind::kDir;
  int mode = 0755;
  std::string source;
  std::string data;
};

// Entries by path without the leading '/': a map keeps them sorted, parents first.
using Entries = std::map<std::string, Entry>;

void add_parents(Entries* entries, const std::string& path) {
  for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    entries->emplace(path.substr(0, slash), Entry{});
  }
}

void add_file(Entries* entries, const std::string& absolute, const std::string& source) {
  std::string path = absolute.substr(1);
  add_parents(entries, path);
  (*entries)[path] = Entry{Entry::Kind::kFile, 0755, source, ""};
}

void add_data(Entries* entries, const std::string& path, std::string data) {
  add_parents(entries, path);
  (*entries)[path] = Entry{Entry::Kind::kData, 0644, "", std::move(data)};
}

// Where libarchive's output goes: hashed, and written to `fd` when there is one.
struct Sink {
  Sha256 hash;
  int fd = -1;
  int64_t size = 0;
  int err = 0;
};

la_ssize_t sink_write(archive*, void* opaque, const void* buffer, size_t length) {
  auto* sink = static_cast<Sink*>(opaque);
  sink->hash.add(buffer, length);
  sink->size += static_cast<int64_t>(length);
  const char* p = static_cast<const char*>(buffer);
  for (size_t off = 0; sink->fd >= 0 && off < length;) {
    ssize_t w = ::write(sink->fd, p + off, length - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      sink->err = errno ? errno : EIO;
      return -1;
    }
    off += static_cast<size_t>(w);
  }
  return static_cast<la_ssize_t>(length);
}

Status archive_error(archive* a, const std::string& what) {
  const char* e = archive_error_string(a);
  return Status(Code::kInternal, "writing the image layer: " + what + ": " + (e ? e : "unknown error"));
}

Status write_entries(archive* a, const Entries& entries) {
  std::vector<char> buffer(1 << 16);
  for (const auto& [path, e] : entries) {
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> entry(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(entry.get(), path.c_str());
    archive_entry_set_uid(entry.get(), 0);
    archive_entry_set_gid(entry.get(), 0);
    archive_entry_set_mtime(entry.get(), 0, 0);
    Fd fd;
    int64_t size = 0;
    if (e.kind == Entry::Kind::kDir) {
      archive_entry_set_filetype(entry.get(), AE_IFDIR);
    } else {
      archive_entry_set_filetype(entry.get(), AE_IFREG);
      if (e.kind == Entry::Kind::kData) {
        size = static_cast<int64_t>(e.data.size());
      } else {
        fd = Fd(::open(e.source.c_str(), O_RDONLY | O_CLOEXEC));
        struct stat st;
        if (!fd.valid() || ::fstat(fd.get(), &st) != 0) return errno_status("reading " + e.source, errno);
        if (!S_ISREG(st.st_mode)) return Status(Code::kFailed, e.source + " is not a regular file");
        size = st.st_size;
      }
      archive_entry_set_size(entry.get(), size);
    }
    archive_entry_set_perm(entry.get(), static_cast<mode_t>(e.mode));
    if (archive_write_header(a, entry.get()) != ARCHIVE_OK) return archive_error(a, path);
    if (e.kind == Entry::Kind::kData && !e.data.empty()) {
      if (archive_write_data(a, e.data.data(), e.data.size()) < 0) return archive_error(a, path);
    } else if (e.kind == Entry::Kind::kFile) {
      int64_t done = 0;
      while (done < size) {
        ssize_t n = ::read(fd.get(), buffer.data(), static_cast<size_t>(std::min<int64_t>(size - done, buffer.size())));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_status("reading " + e.source, errno);
        if (n == 0) return Status(Code::kFailed, e.source + " shrank while it was being read");
        if (archive_write_data(a, buffer.data(), static_cast<size_t>(n)) < 0) return archive_error(a, path);
        done += n;
      }
    }
  }
  return Status::ok();
}

// Writes the entries as a tar (gzip'd when `gzip`) into `sink`.
Status write_layer(const Entries& entries, bool gzip, Sink* sink) {
  std::unique_ptr<archive, int (*)(archive*)> a(archive_write_new(), archive_write_free);
  archive_write_set_format_pax_restricted(a.get());
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (gzip) {
    archive_write_add_filter_gzip(a.get());
    // No time in the gzip header: the same files give the same blob.
    if (archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr) != ARCHIVE_OK) {
      return archive_error(a.get(), "gzip options");
    }
  }
  if (archive_write_open(a.get(), sink, nullptr, sink_write, nullptr) != ARCHIVE_OK) {
    return archive_error(a.get(), "opening");
  }
  if (Status s = write_entries(a.get(), entries); !s) return s;
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    if (sink->err) return errno_status("writing the image layer", sink->err);
    return archive_error(a.get(), "closing");
  }
  return Status::ok();
}

std::string real_path(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return "";
  return buf;
}

bool is_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The libraries `self` loads, from ldd.
Result<std::vector<std::string>> libraries_of(const std::string& self) {
  std::string ldd = find_program("ldd");
  if (ldd.empty()) {
    return Status(Code::kFailed, "ldd not found in PATH: it lists the libraries skiff needs in the image (Debian "
                                 "package libc-bin)");
  }
  auto out = run_program_limited({ldd, self}, "", ProgramLimits{});
  if (!out) return out.status().with_context("running ldd");
  if (out->exit_code != 0) {
    if (out->err.find("not a dynamic executable") != std::string::npos) return std::vector<std::string>{};
    return Status(Code::kFailed, "ldd " + self + " failed: " + std::string(trim(out->err)));
  }
  auto libs = parse_ldd(out->out);
  if (!libs) return libs.status().with_context("libraries of " + self);
  return libs;
}

}  // namespace

Result<std::vector<std::string>> parse_ldd(const std::string& output) {
  std::vector<std::string> libs;
  for (const std::string& raw : split(output, '\n')) {
    std::string line(trim(raw));
    if (line.empty() || line == "statically linked") continue;
    std::string path = line;
    if (size_t arrow = line.find(" => "); arrow != std::string::npos) {
      path = line.substr(arrow + 4);
      if (starts_with(path, "not found")) {
        return Status(Code::kFailed, "ldd does not find " + line.substr(0, arrow) +
                                         ": install the library skiff was built against");
      }
    }
    if (size_t paren = path.find(" ("); paren != std::string::npos) path.resize(paren);
    path = std::string(trim(path));
    if (!starts_with(path, "/")) continue;  // linux-vdso.so.1: the kernel maps it
    libs.push_back(path);
  }
  return libs;
}

Result<SelfImage> build_self_image(const SelfImageOptions& options) {
  // Resolved here: ldd must not see /proc/self/exe (it would mean ldd's own process).
  std::string self = real_path(options.self.empty() ? "/proc/self/exe" : options.self);
  if (self.empty() || !is_file(self)) return Status(Code::kFailed, "cannot find the running skiff binary");
  std::string emissary = options.emissary;
  if (emissary.empty()) emissary = self.substr(0, self.rfind('/') + 1) + "skiff-emissary";
  if (!is_file(emissary)) {
    return Status(Code::kFailed, "skiff-emissary not found beside skiff (" + emissary +
                                     "): it is built with skiff (scripts/build, or `cmake --build build "
                                     "--target skiff-emissary`) and installed beside it");
  }
  Entries entries;
  add_file(&entries, "/bin/skiff-emissary", emissary);
  std::string entrypoint = "/bin/skiff-emissary";
  if (!options.emissary_only) {
    entrypoint = "/bin/skiff";
    add_file(&entries, "/bin/skiff", self);
    auto libs = libraries_of(self);
    if (!libs) return libs.status();
    for (const std::string& lib : *libs) {
      // Stored as a file under the path the loader asks for (the host's symlinks, as in
      // /lib64/ld-linux-x86-64.so.2 -> ..., are not needed in the image).
      std::string source = real_path(lib);
      if (source.empty()) return Status(Code::kFailed, "library " + lib + " that skiff loads is not readable");
      add_file(&entries, lib, source);
    }
    entries["tmp"] = Entry{Entry::Kind::kDir, 01777, "", ""};
    add_data(&entries, "etc/passwd", "root:x:0:0:root:/:/bin/skiff\n");
    add_data(&entries, "etc/group", "root:x:0:\n");
  }

  SelfImage image;
  for (const auto& [path, e] : entries) {
    if (e.kind == Entry::Kind::kFile) image.files.push_back("/" + path);
  }
  Sink raw;
  if (Status s = write_layer(entries, false, &raw); !s) return s;
  image.diff_id = "sha256:" + raw.hash.hex();
  image.layer.path = options.work_dir + "/layer.tar.gz";
  Fd out(::open(image.layer.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!out.valid()) return errno_status("creating " + image.layer.path, errno);
  Sink gz;
  gz.fd = out.get();
  if (Status s = write_layer(entries, true, &gz); !s) return s;
  image.layer.descriptor = {"application/vnd.oci.image.layer.v1.tar+gzip", "sha256:" + gz.hash.hex(), gz.size};

  // nlohmann's objects keep their keys sorted: the same image gives the same bytes.
  Json config = {{"architecture", machine_architecture()},
                 {"os", "linux"},
                 {"config", {{"Entrypoint", Json::array({entrypoint})}, {"Env", Json::array({"PATH=/bin:/usr/bin"})}}},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", Json::array({image.diff_id})}}}};
  image.config.data = config.dump();
  image.config.descriptor = {"application/vnd.oci.image.config.v1+json", sha256_digest(image.config.data),
                             static_cast<int64_t>(image.config.data.size())};
  auto descriptor = [](const Descriptor& d) {
    return Json{{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  };
  Json manifest = {{"schemaVersion", 2},
                   {"mediaType", kOciManifestType},
                   {"config", descriptor(image.config.descriptor)},
                   {"layers", Json::array({descriptor(image.layer.descriptor)})}};
  image.manifest = manifest.dump();
  image.manifest_digest = sha256_digest(image.manifest);
  return image;
}

Result<PushOutcome> push_self_image(RegistryClient& client, const ImageRef& ref, const SelfImage& image) {
  PushOutcome outcome;
  for (const BlobSource* blob : {&image.layer, &image.config}) {
    auto sent = client.push_blob(ref, *blob);
    if (!sent) return sent.status();
    ++(*sent ? outcome.uploaded : outcome.present);
  }
  auto digest = client.push_manifest(ref, kOciManifestType, image.manifest);
  if (!digest) return digest.status();
  outcome.digest = *digest;
  return outcome;
}

}  // namespace skiff::runtime
