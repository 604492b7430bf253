// The backup checkpoint: what it writes reads back the same, and what is damaged, from
// another version or inconsistent is refused with a reason (the backup then starts over).
#include <gtest/gtest.h>

#include "backup/backup_job.h"
#include "backupset/checkpoint.h"
#include "common/base64.h"
#include "wire/digest.h"

namespace absvc::backupset {
namespace {

// A digest that falls in partition `pid`.
wire::Digest DigestIn(uint32_t pid) {
  for (int i = 0;; ++i) {
    wire::Digest d = wire::ComputeDigest("s", 1, std::to_string(i));
    if (wire::PartitionIdOf(d) == pid) return d;
  }
}

Checkpoint Sample() {
  Checkpoint c;
  c.ns = "test";
  c.created_unix_ms = 1764547200123;
  c.fingerprint = "0123456789abcdef0123456789abcdef";
  c.partitions = *PartitionSet::ParseList("0-8,100");
  c.next_file_id = 7;
  c.first_file = "0_test_2.asb";
  c.definitions_done = true;
  c.sindex_count = 2;
  c.udf_count = 1;
  c.nodes_at_start = {{"A1", 5}, {"B2", 9}};
  c.files = {{"metadata_test_1.asb", 120, std::string(64, 'a'), 0},
             {"0_test_2.asb", 4096, std::string(64, 'b'), 33}};
  c.progress = {{1, true, DigestIn(1), 20}, {2, false, DigestIn(2), 13}, {100, true, {}, 0}};
  return c;
}

TEST(Checkpoint, ReadsBackWhatItWrites) {
  Checkpoint c = Sample();
  auto back = ParseCheckpoint(FormatCheckpoint(c));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ns, c.ns);
  EXPECT_EQ(back->created_unix_ms, c.created_unix_ms);
  EXPECT_EQ(back->fingerprint, c.fingerprint);
  EXPECT_TRUE(back->partitions == c.partitions);
  EXPECT_EQ(back->next_file_id, 7u);
  EXPECT_EQ(back->first_file, c.first_file);
  EXPECT_TRUE(back->definitions_done);
  EXPECT_EQ(back->nodes_at_start, c.nodes_at_start);
  ASSERT_EQ(back->files.size(), 2u);
  EXPECT_EQ(back->files[1].records, 33u);
  ASSERT_EQ(back->progress.size(), 3u);
  EXPECT_EQ(*back->progress[1].last_digest, DigestIn(2));
  EXPECT_FALSE(back->progress[1].done);
  EXPECT_FALSE(back->progress[2].last_digest.has_value());
  EXPECT_EQ(FormatCheckpoint(*back), FormatCheckpoint(c));
}

TEST(Checkpoint, RefusesWhatIsDamagedOrInconsistentNamingIt) {
  const std::string good = FormatCheckpoint(Sample());
  auto refused = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
    auto r = ParseCheckpoint(text);
    return r.ok() ? std::string("accepted") : r.status().message();
  };
  EXPECT_NE(refused("abs-checkpoint/1", "abs-checkpoint/2").find("another version of abs"),
            std::string::npos);
  EXPECT_NE(refused("\"next-file-id\": 7", "\"next-file-id\": -7").find("next-file-id"),
            std::string::npos);
  EXPECT_NE(refused("0_test_2.asb\",\n   \"size\"", "../x.asb\",\n   \"size\"")
                .find("is not a backup file name"),
            std::string::npos);
  EXPECT_NE(refused("\"pid\": 100", "\"pid\": 200").find("not in the backup's partitions"),
            std::string::npos);
  EXPECT_NE(refused("\"pid\": 100", "\"pid\": 1").find("listed twice"), std::string::npos);
  // A digest of partition 2 recorded for partition 1.
  std::string d1 = Base64Encode(wire::DigestBytes(DigestIn(1)));
  std::string d2 = Base64Encode(wire::DigestBytes(DigestIn(2)));
  EXPECT_NE(refused(d1, d2).find("belongs to partition 2"), std::string::npos);
  EXPECT_NE(refused(d1, "AAAA").find("not 20 bytes"), std::string::npos);
  EXPECT_NE(refused(std::string(64, 'b'), "nothex").find("no SHA-256"), std::string::npos);
  EXPECT_NE(refused("\"first-file\": \"0_test_2.asb\"", "\"first-file\": \"9_test_9.asb\"")
                .find("not one of its files"),
            std::string::npos);
  EXPECT_NE(refused("\"done\": true", "\"done\": 1").find("not true or false"), std::string::npos);
  EXPECT_FALSE(ParseCheckpoint("").ok());
  EXPECT_FALSE(ParseCheckpoint("[]").ok());
  EXPECT_FALSE(ParseCheckpoint(good.substr(0, good.size() / 2)).ok());
}

TEST(Checkpoint, TheFingerprintFollowsWhatShapesTheRecords) {
  backup::BackupOptions a;
  a.ns = "test";
  const std::string base = backup::OptionsFingerprint(a);
  backup::BackupOptions b = a;
  b.parallel = 32;
  b.file_limit_bytes = 1 << 20;
  b.records_per_second = 10;
  EXPECT_EQ(backup::OptionsFingerprint(b), base) << "how it runs is not what it writes";
  for (auto change : std::vector<std::function<void(backup::BackupOptions&)>>{
           [](backup::BackupOptions& o) { o.sets = {"s"}; },
           [](backup::BackupOptions& o) { o.bins = {"b"}; },
           [](backup::BackupOptions& o) { o.filter = "x"; },
           [](backup::BackupOptions& o) { o.modified_after_unix_ns = 1; },
           [](backup::BackupOptions& o) { o.modified_before_unix_ns = 1; },
           [](backup::BackupOptions& o) { o.compact = true; },
           [](backup::BackupOptions& o) { o.codec.compression = storage::Compression::kZstd; },
           [](backup::BackupOptions& o) { o.codec.key = "k"; }}) {
    backup::BackupOptions c = a;
    change(c);
    EXPECT_NE(backup::OptionsFingerprint(c), base);
  }
}

}  // namespace
}  // namespace absvc::backupset
