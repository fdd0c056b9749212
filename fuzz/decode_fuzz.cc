// libFuzzer target: the YAML/JSON decoder and the validator on arbitrary input must
// return diagnostics, never crash, hang or exhaust memory.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "spec/decode.h"
#include "spec/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  skiff::spec::Decoded d = skiff::spec::decode_documents(text, "fuzz.yaml");
  skiff::spec::Library lib;
  for (const auto& o : d.objects)
    if (o.kind == skiff::spec::Kind::kWorkflowTemplate) lib.workflow_templates.push_back(&o);
  for (const auto& o : d.objects) skiff::spec::validate(o, lib, d.diagnostics);
  return 0;
}
