// How Go programs (kubectl, the API server) write JSON values as text, for output that must
// read exactly as theirs: kubectl's JSONPath prints scalars with fmt.Print and objects and
// arrays with encoding/json. Numbers follow Kubernetes' decoding: an integer that fits in
// int64 is an integer, any other number a float64. Stateless; any thread.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace skiff::kube {

// fmt.Print of a float64 (%v): the shortest digits that read back, in exponent form when
// the decimal exponent is below -4 or at least 6: "1.5", "123456.5", "1e+06", "1e-05", "-0".
std::string go_print_float(double value);

// fmt.Print of a JSON scalar: strings raw, integers in decimal, floats as above, true/false,
// null as "null". Objects and arrays as go_json.
std::string go_print(const nlohmann::json& value);

// encoding/json.Marshal: compact, object keys sorted, '<', '>', '&', U+2028 and U+2029
// escaped as \u003c and so on, floats as Go writes them ("1e+21", "1e-7", "0.5").
std::string go_json(const nlohmann::json& value);

}  // namespace skiff::kube
