// Fd: an owned file descriptor, closed when it goes out of scope. Move-only.
//
// Also the one place errno becomes a Status (errno_status), plus the few small file helpers
// the host executor needs. Not thread-safe per object; free functions are reentrant.
#pragma once

#include <string>
#include <utility>

#include "util/status.h"

namespace skiff::runtime {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// "<what>: <strerror(err)>" with a code chosen from errno (ENOENT -> kNotFound, ...).
Status errno_status(const std::string& what, int err);

// A pipe whose ends are close-on-exec; the read end is non-blocking when asked.
Status make_pipe(Fd* read_end, Fd* write_end, bool nonblocking_read);

// Creates `path` and its missing parents (mode 0755); ok when it already is a directory.
Status make_dirs(const std::string& path);

// A directory only its owner may enter (0700), for data others must not read: created so
// (parents 0755), or tightened when it exists. A directory everyone may write to (such as
// /tmp) is refused: making it private would break its other users.
Status make_private_dir(const std::string& path);

// Writes all of `data` to a new file (truncating), mode `mode`.
Status write_file(const std::string& path, const std::string& data, int mode);

// Like write_file, but readers see all of `data` or the file as it was: a temporary file
// (`path`.tmp) renamed over it. No fsync: it guards against this process dying, not the
// machine.
Status write_file_atomically(const std::string& path, const std::string& data, int mode);

// Reads at most `cap` bytes of a regular file. kNotFound when absent or not a regular file.
Result<std::string> read_file_capped(const std::string& path, size_t cap);

// Removes a directory tree without following symlinks; errors are ignored (best effort).
void remove_tree(const std::string& path);

}  // namespace skiff::runtime
