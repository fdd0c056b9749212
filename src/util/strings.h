// Small string helpers shared by every module.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace skiff {

std::vector<std::string> split(std::string_view s, char sep);
std::string_view trim(std::string_view s);
bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);
std::string join(const std::vector<std::string>& parts, std::string_view sep);

// Edit distance, for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);
// The candidate nearest to `word`, or "" when none is close enough to be a useful hint.
std::string nearest(std::string_view word, const std::vector<std::string>& candidates);

// Parses a Go-style duration ("90s", "1m30s", "2h", "500ms") or a bare number of seconds.
// Returns milliseconds, or -1 when the text is not a duration.
long long parse_duration_ms(std::string_view s);

// Go's strconv.ParseInt(s, 10, 64) (and Atoi): an optional '+' or '-', then decimal digits
// only, within int64. False for anything else ("", "-", "+-1", "1.0", " 1").
bool parse_go_int64(std::string_view s, int64_t* out);

// Kubernetes' names: a lowercase RFC 1123 label (Namespaces, Services: [a-z0-9-], at most
// 63, alphanumeric at both ends) and subdomain (Pods, ConfigMaps and most other objects:
// such parts joined by '.', at most 253 in all).
bool dns1123_label(std::string_view s);
bool dns1123_subdomain(std::string_view s);

}  // namespace skiff
