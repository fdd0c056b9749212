// Sockets for libgit2 with a deadline (internal to cd/git_fetch.cc).
//
// libgit2 1.5 has no network timeouts: a server that accepts a connection and then says
// nothing would hold a fetch (and its repository's mutex) for ever. install_timed_sockets()
// registers a socket stream whose connect, read and write wait at most until the calling
// thread's deadline (set by a DeadlineScope around a fetch); TLS (libgit2's OpenSSL stream)
// runs over it, and libssh2 reads its socket with SO_RCVTIMEO set to the same deadline.
// Without a scope the sockets block as libgit2's own do.
#pragma once

#include <chrono>

namespace skiff::cd {

// Registers the stream with libgit2 (after git_libgit2_init; again after a shutdown).
void install_timed_sockets();

class DeadlineScope {
 public:
  explicit DeadlineScope(std::chrono::steady_clock::time_point deadline);
  ~DeadlineScope();
  DeadlineScope(const DeadlineScope&) = delete;
  DeadlineScope& operator=(const DeadlineScope&) = delete;
};

}  // namespace skiff::cd
