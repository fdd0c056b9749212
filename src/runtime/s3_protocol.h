// S3's wire format, as far as skiff's S3 repository (artifact_s3.cc) speaks it: object
// paths and query strings in the form SigV4 signs them, and the few XML documents S3
// answers with (errors, ListObjectsV2 pages, a multipart upload's id). Pure functions on
// strings: no I/O, any thread.
//
// SigV4 signs the request's path and query as they are canonicalised: every byte but
// A-Z a-z 0-9 - _ . ~ percent-encoded (S3 keeps '/' in paths), query parameters sorted by
// name, each written name=value (an empty value still has its '='). Sending them already in
// that form makes what libcurl signs (it signs the URL's path and query as given in older
// versions, and re-canonicalises idempotently in newer ones) what the server computes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/artifact_repo.h"
#include "util/status.h"

namespace skiff::runtime::s3 {

// "dir/a b.txt" -> "dir/a%20b.txt": each '/'-separated part percent-encoded, '/' kept.
std::string escape_key(std::string_view key);

// "list-type=2&prefix=a%2Fb": sorted by name, names and values percent-encoded.
std::string canonical_query(std::vector<std::pair<std::string, std::string>> params);

// The text of the first <tag>...</tag> in `xml`, entities decoded (&amp; &lt; &gt; &quot;
// &apos; &#N; &#xN;); nullopt when there is none. <tag/> is an empty text.
std::optional<std::string> xml_text(std::string_view xml, std::string_view tag);

// "a<b" -> "a&lt;b".
std::string xml_escape(std::string_view text);

// An S3 <Error> document's Code and Message; nullopt when `xml` is not one.
struct ErrorDoc {
  std::string code;
  std::string message;
};
std::optional<ErrorDoc> parse_error(std::string_view xml);

// One ListObjectsV2 page.
struct ListPage {
  std::vector<ObjectInfo> objects;
  bool truncated = false;
  std::string next_token;  // NextContinuationToken, when truncated
};
// kFailed when the document is not a ListBucketResult or an entry has no Key or a bad Size.
Result<ListPage> parse_list_page(std::string_view xml);

// The body of CompleteMultipartUpload for parts 1..n with these ETags (as the server sent them).
std::string complete_multipart_body(const std::vector<std::string>& etags);

}  // namespace skiff::runtime::s3
