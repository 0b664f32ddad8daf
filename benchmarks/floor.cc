// The benchmark's floor: what any tool must at least do to rewrite a model
// with protobuf — read the file, parse it, serialize it, write it. A cut is
// measured against this in the same run (scripts/benchmark.py).
//
//   mmdeploy-partition-floor IN.onnx OUT.onnx
#include <onnx/onnx_pb.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: mmdeploy-partition-floor IN.onnx OUT.onnx\n";
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  onnx::ModelProto model;
  if (!in.good() && !in.eof()) return 3;
  if (!model.ParseFromString(bytes)) {
    std::cerr << "cannot parse " << argv[1] << "\n";
    return 3;
  }
  std::string out_bytes;
  if (!model.SerializeToString(&out_bytes)) return 6;
  std::ofstream out(argv[2], std::ios::binary | std::ios::trunc);
  out.write(out_bytes.data(), static_cast<std::streamsize>(out_bytes.size()));
  return out.good() ? 0 : 6;
}
