// POST /api/webhook: Argo CD's git webhook (argo-cd util/webhook). A push from GitHub,
// GitLab, Gitea or Gogs (webhook.h checks it against argocd-secret's webhook.*.secret, kept
// as the Secret argocd-secret of namespace argocd) refreshes every Application, in any
// namespace, with a source of that repository at the pushed branch or tag: the repository's
// cached resolution is dropped (the next reconcile fetches), the app gets the refresh
// annotation and the controllers are poked. No token: the signature is the route's auth.
// The body is bounded by the server's request limit (--max-body) and kMaxWebhookBody.
#pragma once

#include "server/api_context.h"
#include "server/http_util.h"

namespace skiff::server {

inline constexpr size_t kMaxWebhookBody = 8 << 20;  // GitHub caps payloads at 25 MB; pushes are KBs

void add_webhook_routes(httplib::Server& server, ApiContext& ctx);

}  // namespace skiff::server
