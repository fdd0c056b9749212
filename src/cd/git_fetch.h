// Fetching a remote into a bare repository over libgit2 (internal to cd/git.cc).
//
// Brings every branch and tag of `url` (refs/heads/*, refs/tags/*, pruned) and points the
// repository's HEAD at the remote's default branch. Credentials, the extra CA and the time
// limit apply through libgit2's callbacks. Single-threaded per repository: the caller holds
// the repository's mutex.
#pragma once

#include <string>

#include "cd/git.h"
#include "util/status.h"

struct git_repository;

namespace skiff::cd {

Status fetch_remote(git_repository* repo, const std::string& url, const RepoCredentials& creds,
                    const GitLimits& limits);

// libgit2's last error on this thread, in its words.
std::string libgit2_message();

// The URL without any user:password@ part, for messages.
std::string redact_url(const std::string& url);

// Whether the URL speaks ssh (ssh://, git+ssh://, or scp-like user@host:path).
bool is_ssh_url(const std::string& url);

}  // namespace skiff::cd
