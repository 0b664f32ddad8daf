// libFuzzer harnesses of the partition pass's public entry points, one per
// build (MMDEPLOY_MARK_FUZZ_TARGET): "parse" (ParseModel + ListMarks +
// MarkedModel's validation and index), "extract" (a cut with two marker
// strings taken from the input), "strip" (StripMarks). Every error the pass
// reports is an exception and fine; a crash, a sanitizer report or a hang is
// a bug. Built and run by scripts/fuzz.sh.
#include <mmdeploy/partition/partition.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace {

namespace mp = mmdeploy::partition;

// Takes a length-prefixed string (one byte of length) off the front.
std::string Take(const uint8_t*& data, size_t& size) {
  if (size == 0) return {};
  const size_t length = data[0] < size - 1 ? data[0] : size - 1;
  std::string text(reinterpret_cast<const char*>(data + 1), length);
  data += 1 + length;
  size -= 1 + length;
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
#if MMDEPLOY_MARK_FUZZ_EXTRACT
    const std::string start = Take(data, size);
    const std::string end = Take(data, size);
#endif
    onnx::ModelProto model = mp::ParseModel(
        std::string(reinterpret_cast<const char*>(data), size));
#if MMDEPLOY_MARK_FUZZ_PARSE
    mp::ListMarks(model);
    mp::MarkedModel marked(std::move(model));
    for (const auto& mark : marked.marks()) (void)mark.name.size();
#elif MMDEPLOY_MARK_FUZZ_EXTRACT
    mp::MarkedModel marked(std::move(model));
    mp::PartitionSpec spec;
    spec.start = {start};
    spec.end = {end};
    spec.save_file = "fuzz.onnx";
    onnx::ModelProto part = marked.Extract(spec);
    (void)mp::SerializeModel(part).size();
#elif MMDEPLOY_MARK_FUZZ_STRIP
    onnx::ModelProto stripped = mp::StripMarks(model);
    (void)mp::SerializeModel(stripped).size();
#endif
  } catch (...) {
    // A reported error: what hostile input should get.
  }
  return 0;
}
