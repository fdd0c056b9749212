#include "runtime/s3_protocol.h"

#include <algorithm>
#include <cctype>

#include "net/http_client.h"
#include "util/strings.h"

namespace skiff::runtime::s3 {
namespace {

// S3's (SigV4's) escaping is RFC 3986's: everything but A-Z a-z 0-9 - _ . ~.
std::string percent_encode(std::string_view s) { return net::url_escape(std::string(s)); }

// Appends code point `cp` as UTF-8; false for one XML does not allow.
bool append_utf8(std::string* out, unsigned long cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return true;
}

std::string xml_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) {  // not an entity: keep the '&'
      out += '&';
      continue;
    }
    std::string_view name = s.substr(i + 1, semi - i - 1);
    bool known = true;
    if (name == "amp") {
      out += '&';
    } else if (name == "lt") {
      out += '<';
    } else if (name == "gt") {
      out += '>';
    } else if (name == "quot") {
      out += '"';
    } else if (name == "apos") {
      out += '\'';
    } else if (name.size() > 1 && name[0] == '#') {
      bool hex = name[1] == 'x' || name[1] == 'X';
      std::string digits(name.substr(hex ? 2 : 1));
      char* end = nullptr;
      unsigned long cp = digits.empty() ? 0 : std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
      known = !digits.empty() && end && *end == '\0' && append_utf8(&out, cp);
    } else {
      known = false;
    }
    if (!known) {
      out += '&';
      continue;
    }
    i = semi;
  }
  return out;
}

// Where the first element `tag` starts and its content's [begin, end); false if none.
struct Element {
  size_t start = 0, content = 0, content_end = 0, end = 0;
};
bool find_element(std::string_view xml, std::string_view tag, size_t from, Element* e) {
  std::string open = "<", close = "</";
  open.append(tag);
  close.append(tag).append(">");
  for (size_t at = xml.find(open, from); at != std::string_view::npos; at = xml.find(open, at + 1)) {
    size_t after = at + open.size();
    if (after >= xml.size()) return false;
    char c = xml[after];
    if (c != '>' && c != '/' && c != ' ' && c != '\t' && c != '\n' && c != '\r') continue;  // <KeyCount> for <Key>
    size_t gt = xml.find('>', after);
    if (gt == std::string_view::npos) return false;
    if (xml[gt - 1] == '/') {  // <tag/>
      *e = {at, gt + 1, gt + 1, gt + 1};
      return true;
    }
    size_t end = xml.find(close, gt + 1);
    if (end == std::string_view::npos) return false;
    *e = {at, gt + 1, end, end + close.size()};
    return true;
  }
  return false;
}

}  // namespace

std::string escape_key(std::string_view key) {
  std::string out;
  size_t start = 0;
  while (true) {
    size_t slash = key.find('/', start);
    out += percent_encode(key.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    out += '/';
    start = slash + 1;
  }
  return out;
}

std::string canonical_query(std::vector<std::pair<std::string, std::string>> params) {
  for (auto& [name, value] : params) {
    name = percent_encode(name);
    value = percent_encode(value);
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += name + "=" + value;
  }
  return out;
}

std::optional<std::string> xml_text(std::string_view xml, std::string_view tag) {
  Element e;
  if (!find_element(xml, tag, 0, &e)) return std::nullopt;
  return xml_unescape(xml.substr(e.content, e.content_end - e.content));
}

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::optional<ErrorDoc> parse_error(std::string_view xml) {
  Element e;
  if (!find_element(xml, "Error", 0, &e)) return std::nullopt;
  std::string_view body = xml.substr(e.content, e.content_end - e.content);
  std::optional<std::string> code = xml_text(body, "Code");
  if (!code) return std::nullopt;
  return ErrorDoc{*code, xml_text(body, "Message").value_or("")};
}

Result<ListPage> parse_list_page(std::string_view xml) {
  Element root;
  if (!find_element(xml, "ListBucketResult", 0, &root)) {
    return failed("the listing is not a ListBucketResult document: " + std::string(xml.substr(0, 200)));
  }
  std::string_view doc = xml.substr(root.content, root.content_end - root.content);
  ListPage page;
  Element c;
  size_t from = 0;
  while (find_element(doc, "Contents", from, &c)) {
    std::string_view entry = doc.substr(c.content, c.content_end - c.content);
    std::optional<std::string> key = xml_text(entry, "Key");
    std::optional<std::string> size = xml_text(entry, "Size");
    int64_t n = 0;
    if (!key || !size || !parse_go_int64(*size, &n) || n < 0) {
      return failed("a listing entry without a key or a size: " + std::string(entry.substr(0, 200)));
    }
    page.objects.push_back({*key, static_cast<uint64_t>(n)});
    from = c.end;
  }
  // Element names cannot occur inside text (a key's '<' is &lt;), so searching the whole
  // document finds the result's own fields.
  page.truncated = xml_text(doc, "IsTruncated").value_or("") == "true";
  if (page.truncated) {
    page.next_token = xml_text(doc, "NextContinuationToken").value_or("");
    if (page.next_token.empty()) return failed("a truncated listing without a NextContinuationToken");
  }
  return page;
}

std::string complete_multipart_body(const std::vector<std::string>& etags) {
  std::string out = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags.size(); ++i) {
    out += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + xml_escape(etags[i]) +
           "</ETag></Part>";
  }
  return out + "</CompleteMultipartUpload>";
}

}  // namespace skiff::runtime::s3
