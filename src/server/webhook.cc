#include "server/webhook.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <nlohmann/json.hpp>

#include "cd/repo_url.h"
#include "util/digest.h"
#include "util/json_text.h"

namespace skiff::server {
namespace {

using KJson = nlohmann::json;

// Constant time in the secret's content: both sides are hashed to the same length first.
bool same_secret(std::string_view given, std::string_view expected) {
  std::string a = sha256_hex(given), b = sha256_hex(expected);
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Webhook fail(Webhook w, int status, std::string message) {
  w.http_status = status;
  w.error = std::move(message);
  return w;
}

// "refs/heads/main" -> "main", "refs/tags/v1" -> "v1" (argo-cd's ParseRevision).
std::string short_revision(const std::string& ref) {
  for (const char* prefix : {"refs/heads/", "refs/tags/"})
    if (ref.rfind(prefix, 0) == 0) return ref.substr(std::string(prefix).size());
  return ref;
}

// The push's ref, repository URLs and default branch from the provider's payload.
Webhook read_push(Webhook w, std::string_view body) {
  KJson payload = parse_json_or_discarded<KJson>(body);
  if (!payload.is_object())
    return fail(std::move(w), 400, "the " + w.provider + " push payload is not a JSON object");
  const KJson& ref = payload.contains("ref") ? payload["ref"] : KJson();
  if (!ref.is_string() || ref.get<std::string>().empty())
    return fail(std::move(w), 400, "the " + w.provider + " push payload has no \"ref\" string (the pushed branch or tag)");
  // GitLab names the repository "project"; the others "repository".
  const char* repo_field = w.provider == "gitlab" ? "project" : "repository";
  const KJson repo = object_member(payload, repo_field);
  if (repo.empty())
    return fail(std::move(w), 400, "the " + w.provider + " push payload has no \"" + repo_field + "\" object");
  static const char* const kUrlFields[] = {"html_url", "clone_url", "ssh_url", "git_url", "url",
                                           "web_url",  "git_http_url", "git_ssh_url", "http_url"};
  for (const char* field : kUrlFields)
    if (repo.contains(field) && repo[field].is_string() && !repo[field].get<std::string>().empty())
      w.push.repo_urls.push_back(repo[field].get<std::string>());
  if (w.push.repo_urls.empty())
    return fail(std::move(w), 400, "the " + w.provider + " push payload's \"" + repo_field +
                                       "\" names no URL (html_url, clone_url, ssh_url, web_url...)");
  w.push.revision = short_revision(ref.get<std::string>());
  const KJson& branch = repo.contains("default_branch") ? repo["default_branch"] : KJson();
  w.push.touched_head = branch.is_string() && branch.get<std::string>() == w.push.revision &&
                        ref.get<std::string>().rfind("refs/tags/", 0) != 0;
  return w;
}

}  // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), md, &n);
  return hex_encode(md, n);
}

Webhook parse_webhook(const std::function<std::string(const std::string&)>& header, std::string_view body,
                      const WebhookSecrets& secrets, size_t max_body) {
  Webhook w;
  std::string event;
  if (!(event = header("X-Gitea-Event")).empty()) w.provider = "gitea";
  else if (!(event = header("X-Gogs-Event")).empty()) w.provider = "gogs";
  else if (!(event = header("X-GitHub-Event")).empty()) w.provider = "github";
  else if (!(event = header("X-Gitlab-Event")).empty()) w.provider = "gitlab";
  else
    return fail(std::move(w), 400, "unknown webhook event: expected a push from GitHub (X-GitHub-Event), GitLab "
                                   "(X-Gitlab-Event), Gitea (X-Gitea-Event) or Gogs (X-Gogs-Event)");
  if (w.provider == "github" && event == "ping") {
    w.ping = true;
  } else {
    bool push = w.provider == "gitlab" ? event == "Push Hook" || event == "Tag Push Hook" : event == "push";
    if (!push)
      return fail(std::move(w), 400, "the " + w.provider + " event \"" + event +
                                         "\" is not handled: only pushes refresh applications");
  }
  if (body.size() > max_body)
    return fail(std::move(w), 413, "the webhook payload is larger than " + std::to_string(max_body) + " bytes");

  // The signature, when the provider's secret is set.
  if (w.provider == "github" && !secrets.github.empty()) {
    std::string given = header("X-Hub-Signature-256");
    if (given.empty())
      return fail(std::move(w), 400, "missing X-Hub-Signature-256: argocd-secret sets webhook.github.secret, so "
                                     "the GitHub webhook must be given that secret");
    if (!same_secret(lower(given), "sha256=" + hmac_sha256_hex(secrets.github, body)))
      return fail(std::move(w), 401, "the X-Hub-Signature-256 of the payload does not match webhook.github.secret");
  } else if (w.provider == "gitlab" && !secrets.gitlab.empty()) {
    std::string given = header("X-Gitlab-Token");
    if (given.empty())
      return fail(std::move(w), 400, "missing X-Gitlab-Token: argocd-secret sets webhook.gitlab.secret, so the "
                                     "GitLab webhook must be given that secret token");
    if (!same_secret(given, secrets.gitlab))
      return fail(std::move(w), 401, "the X-Gitlab-Token does not match webhook.gitlab.secret");
  } else if ((w.provider == "gitea" || w.provider == "gogs") && !secrets.gogs.empty()) {
    std::string given = header(w.provider == "gitea" ? "X-Gitea-Signature" : "X-Gogs-Signature");
    if (given.empty()) given = header("X-Gogs-Signature");
    if (given.empty())
      return fail(std::move(w), 400, "missing X-" + std::string(w.provider == "gitea" ? "Gitea" : "Gogs") +
                                         "-Signature: argocd-secret sets webhook.gogs.secret, so the webhook must "
                                         "be given that secret");
    if (!same_secret(lower(given), hmac_sha256_hex(secrets.gogs, body)))
      return fail(std::move(w), 401, "the payload's signature does not match webhook.gogs.secret");
  }
  if (w.ping) return w;
  return read_push(std::move(w), body);
}

bool push_refreshes(const PushEvent& push, const std::string& repo_url, const std::string& target_revision) {
  std::string wanted = cd::normalize_repo_url(repo_url);
  bool same = false;
  for (const auto& url : push.repo_urls) same |= cd::normalize_repo_url(url) == wanted;
  if (!same) return false;
  std::string target = short_revision(target_revision);
  if (target.empty() || target == "HEAD") return push.touched_head;
  return target == push.revision;
}

}  // namespace skiff::server
