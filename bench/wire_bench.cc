// Wire-level costs on the hot paths: decoding a scan's record messages, building them,
// and digesting keys. Run by `make bench`.
#include <benchmark/benchmark.h>

#include "common/base64.h"
#include "wire/digest.h"
#include "wire/message.h"
#include "wire/particle.h"

namespace {

using namespace absvc::wire;

std::string RecordMessages(int count, size_t value_size) {
  std::string out;
  std::string value(value_size, 'v');
  for (int i = 0; i < count; ++i) {
    MsgHeader h;
    h.generation = 1;
    MessageBuilder b(out, h);
    b.Field(FieldType::kNamespace, "test");
    b.Field(FieldType::kDigest, std::string(20, static_cast<char>(i)));
    b.Field(FieldType::kSet, "demo");
    b.Op(OpType::kRead, ToByte(ParticleType::kBlob), "payload", value);
    b.Op(OpType::kRead, ToByte(ParticleType::kInteger), "n", EncodeInteger(i));
    b.Finish();
  }
  return out;
}

void BM_DecodeScanRecords(benchmark::State& state) {
  const int kRecords = 1000;
  std::string buf = RecordMessages(kRecords, 1024);
  MessageView v;
  for (auto _ : state) {
    size_t pos = 0;
    while (pos < buf.size()) {
      size_t used = 0;
      if (!DecodeMessage(std::string_view(buf).substr(pos), &v, &used).ok()) break;
      benchmark::DoNotOptimize(v.ops.data());
      pos += used;
    }
  }
  state.SetItemsProcessed(state.iterations() * kRecords);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buf.size()));
}
BENCHMARK(BM_DecodeScanRecords);

void BM_BuildScanRecords(benchmark::State& state) {
  std::string out;
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(out = RecordMessages(1000, 1024));
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_BuildScanRecords);

void BM_ComputeDigest(benchmark::State& state) {
  int64_t k = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ComputeDigest("demo", 1, EncodeInteger(k++)));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ComputeDigest);

void BM_Base64Encode1KiB(benchmark::State& state) {
  std::string in(1024, '\x5a'), out;
  for (size_t i = 0; i < in.size(); ++i)
    in[i] = static_cast<char>(i * 131);
  for (auto _ : state) {
    out.clear();
    absvc::Base64EncodeAppend(in, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.size()));
}
BENCHMARK(BM_Base64Encode1KiB);

}  // namespace

BENCHMARK_MAIN();
