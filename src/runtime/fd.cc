#include "runtime/fd.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

namespace skiff::runtime {

void Fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Status errno_status(const std::string& what, int err) {
  Code code = Code::kInternal;
  switch (err) {
    case ENOENT:
    case ENOTDIR: code = Code::kNotFound; break;
    case EEXIST: code = Code::kAlreadyExists; break;
    case EPERM:
    case EACCES:
    case ENOSYS: code = Code::kUnavailable; break;
    default: break;
  }
  return {code, what + ": " + strerror(err)};
}

Status make_pipe(Fd* read_end, Fd* write_end, bool nonblocking_read) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno_status("creating a pipe", errno);
  read_end->reset(fds[0]);
  write_end->reset(fds[1]);
  if (nonblocking_read && ::fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0) {
    return errno_status("making a pipe non-blocking", errno);
  }
  return Status::ok();
}

Status make_dirs(const std::string& path) {
  if (path.empty()) return invalid("empty directory path");
  if (::mkdir(path.c_str(), 0755) == 0) return Status::ok();
  if (errno == EEXIST) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::ok();
    return {Code::kAlreadyExists, path + " exists and is not a directory"};
  }
  if (errno != ENOENT) return errno_status("creating directory " + path, errno);
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return errno_status("creating directory " + path, ENOENT);
  if (Status s = make_dirs(path.substr(0, slash)); !s) return s;
  if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return Status::ok();
  return errno_status("creating directory " + path, errno);
}

Status make_private_dir(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    if (Status s = make_dirs(path.substr(0, slash)); !s) return s;
  }
  if (::mkdir(path.c_str(), 0700) == 0) return Status::ok();
  if (errno != EEXIST) return errno_status("creating directory " + path, errno);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return errno_status("reading " + path, errno);
  if (!S_ISDIR(st.st_mode)) return {Code::kAlreadyExists, path + " exists and is not a directory"};
  if (st.st_mode & S_IWOTH) {
    return invalid(path + " is writable by everyone; give skiff a directory of its own (e.g. " + path + "/skiff)");
  }
  if ((st.st_mode & 077) != 0 && ::chmod(path.c_str(), 0700) != 0) return errno_status("making " + path + " private", errno);
  return Status::ok();
}

Status write_file(const std::string& path, const std::string& data, int mode) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) return errno_status("writing " + path, errno);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status("writing " + path, errno);
    }
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

Status write_file_atomically(const std::string& path, const std::string& data, int mode) {
  std::string tmp = path + ".tmp";
  if (Status s = write_file(tmp, data, mode); !s) {
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return errno_status("renaming " + tmp, err);
  }
  return Status::ok();
}

Result<std::string> read_file_capped(const std::string& path, size_t cap) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) return errno_status("reading " + path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return errno_status("reading " + path, errno);
  if (!S_ISREG(st.st_mode)) return not_found(path + " is not a regular file");
  std::string out;
  char buf[16384];
  while (out.size() < cap) {
    ssize_t n = ::read(fd.get(), buf, std::min(sizeof buf, cap - out.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status("reading " + path, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

void remove_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

}  // namespace skiff::runtime
