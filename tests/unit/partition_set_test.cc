#include <gtest/gtest.h>
#include <cstring>

#include "backup/slice.h"
#include "backupset/metadata.h"
#include "backupset/partition_set.h"

namespace absvc::backupset {
namespace {

TEST(PartitionSet, ParsesAbsPartitionLists) {
  auto s = PartitionSet::ParseList("0,100-50");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->Count(), 51u);
  EXPECT_TRUE(s->Contains(0));
  EXPECT_TRUE(s->Contains(149));
  EXPECT_FALSE(s->Contains(150));
  EXPECT_EQ(s->ToList(), "0,100-50");
  EXPECT_EQ(PartitionSet::ParseList("4095")->Count(), 1u);
  EXPECT_EQ(PartitionSet::ParseList("0-4096")->Count(), 4096u);
  EXPECT_EQ(PartitionSet::All().ToList(), "0-4096");
}

TEST(PartitionSet, RejectsBadListsWithTheEntry) {
  for (const char* bad : {"", "4096", "0-0", "4000-97", "x", "1-", "-1", "1,1", "0-10,5", "1.5"}) {
    auto s = PartitionSet::ParseList(bad);
    EXPECT_FALSE(s.ok()) << bad;
  }
  EXPECT_NE(PartitionSet::ParseList("10,4000-200").status().message().find("'4000-200'"),
            std::string::npos);
}

TEST(PartitionSet, SplitsEvenlyAndUnionsDetectGapsAndOverlaps) {
  auto parts = PartitionSet::All().Split(3);
  ASSERT_EQ(parts.size(), 3u);
  PartitionSet u;
  for (const auto& p : parts) {
    EXPECT_NEAR(static_cast<double>(p.Count()), 4096.0 / 3, 1);
    EXPECT_TRUE((u & p).empty());
    u = u | p;
  }
  EXPECT_EQ(u, PartitionSet::All());
  EXPECT_EQ(PartitionSet::ParseList("5-3")->Split(10).size(), 3u);
  EXPECT_EQ(PartitionSet::ParseList("0-10")->Complement().ToList(), "10-4086");
}

// auto-slice: for every n up to 64 (and the extremes), slices 0..n-1 cover each of the
// 4096 partitions exactly once, as contiguous runs whose sizes differ by at most one.
TEST(PartitionSet, AutoSlicesCoverEveryPartitionExactlyOnce) {
  std::vector<uint32_t> counts;
  for (uint32_t n = 1; n <= 64; ++n)
    counts.push_back(n);
  for (uint32_t n : {100u, 1000u, 4095u, 4096u})
    counts.push_back(n);
  for (uint32_t n : counts) {
    std::vector<int> covered(4096, 0);
    size_t smallest = 4096, largest = 0;
    for (uint32_t i = 0; i < n; ++i) {
      PartitionSet slice = PartitionSet::SliceOf(i, n);
      smallest = std::min(smallest, slice.Count());
      largest = std::max(largest, slice.Count());
      EXPECT_LE(slice.Ranges().size(), 1u) << i << " of " << n;
      for (uint32_t pid : slice.Ids())
        ++covered[pid];
      // The list form the slice is stored as parses back to the same set.
      auto again = PartitionSet::ParseList(slice.ToList());
      ASSERT_TRUE(again.ok()) << slice.ToList();
      EXPECT_EQ(again->Ids(), slice.Ids());
    }
    for (uint32_t pid = 0; pid < 4096; ++pid)
      ASSERT_EQ(covered[pid], 1) << "partition " << pid << " with " << n << " slices";
    EXPECT_LE(largest - smallest, 1u) << n;
  }
  EXPECT_TRUE(PartitionSet::SliceOf(3, 3).empty());
  EXPECT_TRUE(PartitionSet::SliceOf(0, 0).empty());
  EXPECT_TRUE(PartitionSet::SliceOf(0, 4097).empty());
}

TEST(Slice, KindsAreMutuallyExclusive) {
  backup::Slice s;
  s.partition_list = "0-10";
  s.nodes = {"a:3000"};
  EXPECT_FALSE(s.Validate().ok());
  backup::Slice dup;
  dup.racks = {1, 1};
  EXPECT_FALSE(dup.Validate().ok());
  backup::Slice ok;
  ok.nodes = {"BB9", "h:3001"};
  EXPECT_TRUE(ok.Validate().ok());
  EXPECT_EQ(ok.Describe(), "node-list BB9,h:3001");
}

TEST(Metadata, WritesAbsFieldsAndReadsThemBack) {
  BackupResult r;
  r.ns = "test";
  r.created_unix_ms = 1764000000123;
  r.finished_unix_ms = 1764000005456;
  r.record_count = 1000;
  r.byte_count = 123456;
  r.files = {{"0_test_1.asb", 123456, std::string(64, 'a'), 1000}};
  r.codec.compression = storage::Compression::kZstd;
  r.partitions = *PartitionSet::ParseList("0-100");
  std::string yaml = FormatMetadataYaml(r);
  EXPECT_EQ(yaml,
            "created: 2025-11-24T16:00:00.123Z\nfinished: 2025-11-24T16:00:05.456Z\n"
            "from: 0001-01-01T00:00:00Z\nnamespace: test\nrecord-count: 1000\n"
            "byte-count: 123456\nfile-count: 1\nsecondary-index-count: 0\nudf-count: 0\n"
            "compression: ZSTD\nencryption: NONE\n");
  auto m = ParseMetadataYaml(yaml);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->record_count, 1000u);
  EXPECT_EQ(m->compression, "ZSTD");
  auto manifest = ParseManifestJson(FormatManifestJson(r));
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  EXPECT_EQ(manifest->partitions, r.partitions);
  ASSERT_EQ(manifest->files.size(), 1u);
  EXPECT_EQ(manifest->files[0].sha256, std::string(64, 'a'));
  // Counts must be non-negative integers: a float or negative value is corruption, never
  // an unchecked conversion.
  std::string good = FormatManifestJson(r);
  for (const char* key : {"\"record-count\":", "\"size\":"}) {
    size_t at = good.find(key);
    ASSERT_NE(at, std::string::npos) << key;
    size_t value = at + std::strlen(key);
    while (good[value] == ' ')
      ++value;
    size_t end = good.find_first_not_of("0123456789", value);
    for (const char* bad : {"1e30", "-5", "2.5"}) {
      std::string damaged = good.substr(0, value) + bad + good.substr(end);
      auto parsed = ParseManifestJson(damaged);
      ASSERT_FALSE(parsed.ok()) << damaged;
      EXPECT_EQ(parsed.status().code(), StatusCode::kCorrupt);
      EXPECT_NE(parsed.status().message().find("not a non-negative integer"), std::string::npos)
          << parsed.status().message();
    }
  }
  EXPECT_FALSE(ParseManifestJson("{").ok());
  EXPECT_FALSE(ParseManifestJson("{\"format\":\"other\"}").ok());
  EXPECT_FALSE(ParseMetadataYaml("- a list").ok());
}

}  // namespace
}  // namespace absvc::backupset
