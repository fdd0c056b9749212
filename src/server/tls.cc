#include "server/tls.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>

#include "runtime/fd.h"

namespace skiff::server {
namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

bool still_valid(const std::string& cert_path) {
  std::unique_ptr<FILE, FileCloser> f(std::fopen(cert_path.c_str(), "r"));
  if (!f) return false;
  X509* cert = PEM_read_X509(f.get(), nullptr, nullptr, nullptr);
  if (!cert) return false;
  bool ok = X509_cmp_time(X509_get0_notAfter(cert), nullptr) > 0;
  X509_free(cert);
  return ok;
}

}  // namespace

Status ensure_self_signed(const std::string& dir, std::string* cert_path, std::string* key_path) {
  *cert_path = dir + "/server.crt";
  *key_path = dir + "/server.key";
  struct stat st;
  if (::stat(key_path->c_str(), &st) == 0 && still_valid(*cert_path)) return Status::ok();
  if (Status s = runtime::make_dirs(dir); !s) return s;
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  auto cleanup = [&] {
    X509_free(cert);
    EVP_PKEY_free(key);
  };
  if (!key || !cert) {
    cleanup();
    return internal_error("cannot make a TLS key");
  }
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), static_cast<long>(::time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 365L * 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("skiff server"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
  if (san) {
    X509_add_ext(cert, san, -1);
    X509_EXTENSION_free(san);
  }
  if (X509_sign(cert, key, EVP_sha256()) == 0) {
    cleanup();
    return internal_error("cannot sign the TLS certificate");
  }
  std::unique_ptr<FILE, FileCloser> kf(std::fopen(key_path->c_str(), "w"));
  ::chmod(key_path->c_str(), 0600);
  std::unique_ptr<FILE, FileCloser> cf(std::fopen(cert_path->c_str(), "w"));
  bool ok = kf && cf && PEM_write_PrivateKey(kf.get(), key, nullptr, nullptr, 0, nullptr, nullptr) &&
            PEM_write_X509(cf.get(), cert);
  cleanup();
  if (!ok) return internal_error("cannot write the TLS certificate to " + dir);
  return Status::ok();
}

}  // namespace skiff::server
