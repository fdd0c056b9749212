#include "cd/git_fetch.h"

#include <git2.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "cd/git_stream.h"

namespace skiff::cd {
namespace {

using Clock = std::chrono::steady_clock;

// What the callbacks saw, to say what went wrong in our words rather than libgit2's.
struct FetchState {
  const RepoCredentials& creds;
  const GitLimits& limits;
  Clock::time_point deadline;
  int credential_calls = 0;
  bool no_credentials = false;
  bool credentials_refused = false;
  bool timed_out = false;
  bool too_large = false;
  std::string certificate_problem;
};

int check_deadline(FetchState& st) {
  if (Clock::now() < st.deadline) return 0;
  st.timed_out = true;
  return -1;
}

int on_credentials(git_credential** out, const char* /*url*/, const char* user_from_url, unsigned int allowed,
                   void* payload) {
  auto& st = *static_cast<FetchState*>(payload);
  const RepoCredentials& c = st.creds;
  if (check_deadline(st) != 0) return -1;
  if (++st.credential_calls > 1) {
    st.credentials_refused = true;  // libgit2 asks again only when the server said no
    return -1;
  }
  std::string user = !c.username.empty() ? c.username : user_from_url ? user_from_url : "git";
  if ((allowed & GIT_CREDENTIAL_SSH_MEMORY) && !c.ssh_private_key.empty())
    return git_credential_ssh_key_memory_new(out, user.c_str(), nullptr, c.ssh_private_key.c_str(), nullptr);
  if ((allowed & GIT_CREDENTIAL_USERNAME) && !c.ssh_private_key.empty()) {
    --st.credential_calls;  // ssh asks for the user name first, then for the key
    return git_credential_username_new(out, user.c_str());
  }
  if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && (!c.username.empty() || !c.password.empty()))
    return git_credential_userpass_plaintext_new(out, user.c_str(), c.password.c_str());
  st.no_credentials = true;
  return -1;
}

// libgit2 found the certificate untrusted by the system's CAs; it may still be signed by
// the repository's own CA (creds.ca_pem) for this host.
std::string verify_with_ca(const git_cert_x509& cert, const std::string& ca_pem, const char* host) {
  const auto* p = static_cast<const unsigned char*>(cert.data);
  std::unique_ptr<X509, void (*)(X509*)> leaf(d2i_X509(nullptr, &p, static_cast<long>(cert.len)), X509_free);
  if (!leaf) return "the server's certificate could not be read";
  std::unique_ptr<X509_STORE, void (*)(X509_STORE*)> store(X509_STORE_new(), X509_STORE_free);
  std::unique_ptr<BIO, int (*)(BIO*)> bio(BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size())), BIO_free);
  int added = 0;
  while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    added += X509_STORE_add_cert(store.get(), ca);
    X509_free(ca);
  }
  if (added == 0) return "the repository's ca_pem holds no PEM certificate";
  std::unique_ptr<X509_STORE_CTX, void (*)(X509_STORE_CTX*)> ctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), nullptr) != 1 || X509_verify_cert(ctx.get()) != 1)
    return fmt::format("the server's certificate is not signed by the given CA ({})",
                       X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
  if (X509_check_ip_asc(leaf.get(), host, 0) != 1 &&
      X509_check_host(leaf.get(), host, std::strlen(host), 0, nullptr) != 1)
    return fmt::format("the server's certificate is not for \"{}\"", host);
  return "";
}

int on_certificate(git_cert* cert, int valid, const char* host, void* payload) {
  auto& st = *static_cast<FetchState*>(payload);
  if (check_deadline(st) != 0) return -1;
  if (valid || st.creds.insecure) return 0;
  if (cert->cert_type != GIT_CERT_X509) return GIT_PASSTHROUGH;  // ssh host keys: libgit2's known_hosts
  if (st.creds.ca_pem.empty()) {
    st.certificate_problem = "the server's certificate is not signed by a trusted CA";
    return -1;
  }
  st.certificate_problem = verify_with_ca(*reinterpret_cast<git_cert_x509*>(cert), st.creds.ca_pem, host);
  return st.certificate_problem.empty() ? 0 : -1;
}

int on_progress(const git_indexer_progress* stats, void* payload) {
  auto& st = *static_cast<FetchState*>(payload);
  if (stats->received_bytes > st.limits.max_fetch_bytes) {
    st.too_large = true;
    return -1;
  }
  return check_deadline(st);
}
int on_sideband(const char*, int, void* payload) { return check_deadline(*static_cast<FetchState*>(payload)); }
int on_tip(const char*, const git_oid*, const git_oid*, void* payload) {
  return check_deadline(*static_cast<FetchState*>(payload));
}

Status fetch_error(const FetchState& st, const std::string& url, const GitLimits& limits) {
  std::string where = "fetching " + redact_url(url);
  if (st.timed_out || Clock::now() >= st.deadline)
    return {Code::kDeadline, fmt::format("{}: timed out after {} s: the server is slow or the repository too large",
                                         where, limits.fetch_timeout.count())};
  if (st.too_large)
    return invalid(fmt::format("{}: the repository is larger than {} MiB (the limit of one fetch)", where,
                               limits.max_fetch_bytes >> 20));
  if (st.no_credentials)
    return invalid(where + ": authentication required: give the repository's credentials (username and password or "
                           "token, or an ssh private key)");
  if (st.credentials_refused)
    return invalid(where + ": authentication failed: the server refused the credentials; check the username and "
                           "password (or token)");
  if (!st.certificate_problem.empty())
    return invalid(fmt::format("{}: {}: give the repository's CA certificate (ca_pem)", where, st.certificate_problem));
  std::string message = libgit2_message();
  if (message.find("ssh hostkey") != std::string::npos)  // libgit2 checked ~/.ssh/known_hosts
    return invalid(where + ": the server's ssh host key is unknown or has changed: add it to ~/.ssh/known_hosts of "
                           "the user skiff runs as (ssh-keyscan)");
  return {Code::kUnavailable, where + ": " + message};
}

}  // namespace

std::string libgit2_message() {
  const git_error* e = git_error_last();
  return e && e->message ? e->message : "unknown error";
}

std::string redact_url(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  size_t host = scheme + 3;
  size_t at = url.find('@', host), slash = url.find('/', host);
  if (at == std::string::npos || (slash != std::string::npos && at > slash)) return url;
  return url.substr(0, host) + url.substr(at + 1);
}

bool is_ssh_url(const std::string& url) {
  if (url.rfind("ssh://", 0) == 0 || url.rfind("git+ssh://", 0) == 0 || url.rfind("ssh+git://", 0) == 0) return true;
  if (url.find("://") != std::string::npos || url.empty() || url[0] == '/' || url[0] == '.') return false;
  size_t colon = url.find(':'), slash = url.find('/');
  return colon != std::string::npos && (slash == std::string::npos || colon < slash);
}

Status fetch_remote(git_repository* repo, const std::string& url, const RepoCredentials& creds,
                    const GitLimits& limits) {
  if (is_ssh_url(url) && !(git_libgit2_features() & GIT_FEATURE_SSH))
    return invalid(fmt::format("fetching {}: ssh URLs are not supported (libgit2 was built without ssh): use the "
                               "repository's https URL", redact_url(url)));
  FetchState st{creds, limits, Clock::now() + limits.fetch_timeout, 0, false, false, false, false, {}};
  DeadlineScope scope(st.deadline);  // bounds the sockets (git_stream.h)
  git_remote* raw = nullptr;
  if (git_remote_create_anonymous(&raw, repo, url.c_str()) != 0)
    return invalid(fmt::format("repository URL \"{}\": {}", redact_url(url), libgit2_message()));
  std::unique_ptr<git_remote, void (*)(git_remote*)> remote(raw, git_remote_free);

  git_remote_callbacks cb;
  git_remote_init_callbacks(&cb, GIT_REMOTE_CALLBACKS_VERSION);
  cb.credentials = on_credentials;
  cb.certificate_check = on_certificate;
  cb.transfer_progress = on_progress;
  cb.sideband_progress = on_sideband;
  cb.update_tips = on_tip;
  cb.payload = &st;
  git_proxy_options proxy;
  git_proxy_options_init(&proxy, GIT_PROXY_OPTIONS_VERSION);
  if (git_remote_connect(remote.get(), GIT_DIRECTION_FETCH, &cb, &proxy, nullptr) != 0)
    return fetch_error(st, url, limits);

  git_fetch_options opts;
  git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
  opts.callbacks = cb;
  opts.prune = GIT_FETCH_PRUNE;
  opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;  // the refspec below brings them all
  char heads[] = "+refs/heads/*:refs/heads/*", tags[] = "+refs/tags/*:refs/tags/*";
  char* specs[] = {heads, tags};
  git_strarray refspecs{specs, 2};
  if (git_remote_download(remote.get(), &refspecs, &opts) != 0 ||
      git_remote_update_tips(remote.get(), &cb, 0, GIT_REMOTE_DOWNLOAD_TAGS_NONE, "skiff fetch") != 0 ||
      git_remote_prune(remote.get(), &cb) != 0)
    return fetch_error(st, url, limits);

  git_buf head = GIT_BUF_INIT;
  if (git_remote_default_branch(&head, remote.get()) == 0) {
    git_reference* ref = nullptr;
    int rc = git_reference_symbolic_create(&ref, repo, "HEAD", head.ptr, 1, "skiff fetch: remote HEAD");
    git_reference_free(ref);
    git_buf_dispose(&head);
    if (rc != 0)
      return internal_error(fmt::format("fetching {}: setting HEAD: {}", redact_url(url), libgit2_message()));
  }
  git_remote_disconnect(remote.get());
  return Status::ok();
}

}  // namespace skiff::cd
