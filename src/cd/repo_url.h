// Repository URLs compared as the same repository, as Argo CD's webhook handler compares
// them: a push from GitHub names https://github.com/org/repo while an Application may say
// git@github.com:org/repo.git or https://GitHub.com/org/repo/.
#pragma once

#include <string>
#include <string_view>

namespace skiff::cd {

// `host/path` with the scheme, user, port, a trailing ".git" and trailing "/" dropped and the
// host in lower case; scp-like `user@host:path` reads as host/path. Local paths and file://
// URLs give their path (no host): "file:///srv/repo.git" -> "/srv/repo".
//   https://GitHub.com/Org/Repo.git/  -> github.com/Org/Repo
//   git@github.com:Org/Repo.git       -> github.com/Org/Repo
//   ssh://git@host:2222/x/y           -> host/x/y
std::string normalize_repo_url(std::string_view url);

// Whether two URLs name the same repository (their normal forms are equal).
bool same_repo(std::string_view a, std::string_view b);

}  // namespace skiff::cd
