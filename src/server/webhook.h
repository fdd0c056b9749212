// Git push webhooks as Argo CD's /api/webhook reads them (argo-cd util/webhook): which
// provider sent the request, whether its signature holds, and what the push changed.
//
// The provider is decided by the most specific header, as Argo CD does (Gitea also sends
// X-Gogs-Event and X-GitHub-Event, with a GitHub-style signature beside its own):
//   X-Gitea-Event / X-Gogs-Event  Gitea, Gogs: X-Gitea-Signature or X-Gogs-Signature, the
//                                 hex HMAC-SHA256 of the body with webhook.gogs.secret
//   X-GitHub-Event                GitHub: X-Hub-Signature-256 "sha256=<hex HMAC-SHA256>"
//                                 with webhook.github.secret
//   X-Gitlab-Event                GitLab: X-Gitlab-Token equal to webhook.gitlab.secret
// With the provider's secret set, a missing signature is 400 and a wrong one 401 (compared
// in constant time); with none, unsigned payloads are accepted (Argo CD's behaviour). A ping
// (GitHub's) is accepted and changes nothing; other events are 400. Pure: no I/O.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace skiff::server {

// argocd-secret's webhook.github.secret, webhook.gitlab.secret, webhook.gogs.secret.
struct WebhookSecrets {
  std::string github, gitlab, gogs;
};

struct PushEvent {
  std::vector<std::string> repo_urls;  // the repository's web, clone and ssh URLs
  std::string revision;                // the pushed branch or tag (refs/heads/, refs/tags/ dropped)
  bool touched_head = false;           // the pushed branch is the repository's default branch
};

struct Webhook {
  int http_status = 200;  // 400 / 401 / 413 with `error` saying why
  std::string error;
  std::string provider;   // github | gitlab | gitea | gogs
  bool ping = false;      // accepted, refreshes nothing
  PushEvent push;
};

// `header(name)` gives a request header ("" when absent).
Webhook parse_webhook(const std::function<std::string(const std::string&)>& header, std::string_view body,
                      const WebhookSecrets& secrets, size_t max_body);

// Whether a push refreshes a source of `repo_url` at `target_revision`: the same repository
// (cd/repo_url.h) and the pushed branch or tag (HEAD or "" follows the default branch; a
// commit sha is never refreshed by a push).
bool push_refreshes(const PushEvent& push, const std::string& repo_url, const std::string& target_revision);

// The hex HMAC-SHA256 of `body` under `key` (lower case).
std::string hmac_sha256_hex(std::string_view key, std::string_view body);

}  // namespace skiff::server
