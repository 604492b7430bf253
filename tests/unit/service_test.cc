// Unit tests of src/service: Quartz cron, the ABS configuration schema and its strict
// validation, secrets redaction, restore request parsing, the backup catalog, retention
// and the job history.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <sys/stat.h>

#include "backupset/catalog.h"
#include "backupset/metadata.h"
#include "common/base64.h"
#include "common/semaphore.h"
#include "config/config.h"
#include "config/cron.h"
#include "config/edits.h"
#include "jobs/job_store.h"
#include "scoped_env.h"
#include "service/clusters.h"
#include "service/schedule.h"
#include "storage/local/local_storage.h"
#include "storage/storage.h"

namespace absvc::service {
namespace {

namespace fs = std::filesystem;

int64_t Utc(int y, int mo, int d, int h, int mi, int s) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm));
}

int64_t NextOf(const std::string& expr, int64_t after) {
  auto s = CronSchedule::Parse(expr);
  EXPECT_TRUE(s.ok()) << expr << ": " << s.status().ToString();
  if (!s.ok()) return -1;
  return s->Next(after).value_or(-1);
}

TEST(Cron, FieldsStepsRangesAndNames) {
  int64_t t = Utc(2026, 11, 25, 10, 30, 15);
  EXPECT_EQ(NextOf("0 0 * * * ?", t), Utc(2026, 11, 25, 11, 0, 0));
  EXPECT_EQ(NextOf("*/15 * * * * ?", t), Utc(2026, 11, 25, 10, 30, 30));
  EXPECT_EQ(NextOf("0 */20 * * * *", t), Utc(2026, 11, 25, 10, 40, 0));
  EXPECT_EQ(NextOf("0 0 2 * * ?", t), Utc(2026, 11, 26, 2, 0, 0));
  EXPECT_EQ(NextOf("0 0 12 ? * MON-FRI", Utc(2026, 11, 27, 13, 0, 0)),  // a Friday
            Utc(2026, 11, 30, 12, 0, 0));                               // the Monday after
  EXPECT_EQ(NextOf("0 0 0 1 JAN ?", t), Utc(2027, 1, 1, 0, 0, 0));
  EXPECT_EQ(NextOf("0 15 10 ? * 1,7", t), Utc(2026, 11, 28, 10, 15, 0));  // Sat
  EXPECT_EQ(NextOf("0 0 0 1 1 ? 2030", t), Utc(2030, 1, 1, 0, 0, 0));
  EXPECT_EQ(NextOf("0 0 0 1 1 ? 2020", t), -1);  // only in the past
  // Strictly after: a fire time equal to `after` is not returned again.
  EXPECT_EQ(NextOf("0 0 11 * * ?", Utc(2026, 11, 25, 11, 0, 0)), Utc(2026, 11, 26, 11, 0, 0));
}

int64_t NextIn(const std::string& zone_name, const std::string& expr, int64_t after) {
  auto zone = ScheduleZone(zone_name);
  EXPECT_TRUE(zone.ok()) << zone.status().ToString();
  auto s = CronSchedule::Parse(expr);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (!zone.ok() || !s.ok()) return -1;
  return s->Next(after, *zone).value_or(-1);
}

// Europe/Berlin: clocks go 02:00 CET -> 03:00 CEST on 2026-03-29 (01:00 UTC) and
// 03:00 CEST -> 02:00 CET on 2026-10-25 (01:00 UTC).
TEST(Cron, IanaZonesAcrossDaylightSavingChanges) {
  const std::string berlin = "Europe/Berlin";
  // Winter and summer: the same wall-clock time, an hour apart in UTC.
  EXPECT_EQ(NextIn(berlin, "0 0 9 * * ?", Utc(2026, 1, 10, 0, 0, 0)), Utc(2026, 1, 10, 8, 0, 0));
  EXPECT_EQ(NextIn(berlin, "0 0 9 * * ?", Utc(2026, 7, 10, 0, 0, 0)), Utc(2026, 7, 10, 7, 0, 0));
  // Spring forward: 02:30 does not exist on the 29th; it fires shifted by the jump, at
  // 03:30 CEST, and the day after at 02:30 CEST again.
  EXPECT_EQ(NextIn(berlin, "0 30 2 * * ?", Utc(2026, 3, 28, 12, 0, 0)), Utc(2026, 3, 29, 1, 30, 0));
  EXPECT_EQ(NextIn(berlin, "0 30 2 * * ?", Utc(2026, 3, 29, 1, 30, 0)), Utc(2026, 3, 30, 0, 30, 0));
  // Every 15 minutes through the jump: 01:45 CET, then 03:00 CEST (the gap's first),
  // then on; never twice the same instant, never backwards.
  const std::string quarter = "0 */15 * * * ?";
  int64_t t = Utc(2026, 3, 29, 0, 40, 0);
  std::vector<int64_t> fires;
  for (int i = 0; i < 4; ++i)
    fires.push_back(t = NextIn(berlin, quarter, t));
  EXPECT_EQ(fires, (std::vector<int64_t>{Utc(2026, 3, 29, 0, 45, 0), Utc(2026, 3, 29, 1, 0, 0),
                                         Utc(2026, 3, 29, 1, 15, 0), Utc(2026, 3, 29, 1, 30, 0)}));
  // Fall back: 02:30 happens twice on the 25th and fires on the first (CEST) only.
  EXPECT_EQ(NextIn(berlin, "0 30 2 * * ?", Utc(2026, 10, 24, 12, 0, 0)),
            Utc(2026, 10, 25, 0, 30, 0));
  EXPECT_EQ(NextIn(berlin, "0 30 2 * * ?", Utc(2026, 10, 25, 0, 30, 0)),
            Utc(2026, 10, 26, 1, 30, 0));
  // Every 15 minutes through it: 02:45 CEST, then 03:00 CET; the repeated hour's second
  // pass does not fire again.
  EXPECT_EQ(NextIn(berlin, quarter, Utc(2026, 10, 25, 0, 45, 0)), Utc(2026, 10, 25, 2, 0, 0));
  // Another hemisphere and rule: New York springs forward on 2026-03-08 at 07:00 UTC.
  EXPECT_EQ(NextIn("America/New_York", "0 30 2 * * ?", Utc(2026, 3, 7, 12, 0, 0)),
            Utc(2026, 3, 8, 7, 30, 0));
  EXPECT_EQ(NextIn("UTC", "0 30 2 * * ?", Utc(2026, 3, 28, 12, 0, 0)), Utc(2026, 3, 29, 2, 30, 0));
  EXPECT_TRUE(ScheduleZone("Local").ok()) << "the machine's zone, or UTC without one";
  auto unknown = ScheduleZone("Mars/Olympus_Mons");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown time zone 'Mars/Olympus_Mons'"),
            std::string::npos);
}

TEST(Cron, LastDayNthWeekdayAndMacros) {
  EXPECT_EQ(NextOf("0 0 0 L * ?", Utc(2028, 2, 10, 0, 0, 0)), Utc(2028, 2, 29, 0, 0, 0));
  EXPECT_EQ(NextOf("0 0 0 L * ?", Utc(2027, 2, 10, 0, 0, 0)), Utc(2027, 2, 28, 0, 0, 0));
  // The last Friday (6) of November 2026 is the 27th; the first Monday (2) of December is the 7th.
  EXPECT_EQ(NextOf("0 0 0 ? * 6L", Utc(2026, 11, 1, 0, 0, 0)), Utc(2026, 11, 27, 0, 0, 0));
  EXPECT_EQ(NextOf("0 0 0 ? * 2#1", Utc(2026, 11, 25, 0, 0, 0)), Utc(2026, 12, 7, 0, 0, 0));
  int64_t t = Utc(2026, 11, 25, 10, 30, 15);
  EXPECT_EQ(NextOf("@hourly", t), Utc(2026, 11, 25, 11, 0, 0));
  EXPECT_EQ(NextOf("@daily", t), Utc(2026, 11, 26, 0, 0, 0));
  EXPECT_EQ(NextOf("@weekly", t), Utc(2026, 11, 29, 0, 0, 0));  // Sunday
  EXPECT_EQ(NextOf("@monthly", t), Utc(2026, 12, 1, 0, 0, 0));
  EXPECT_EQ(NextOf("@yearly", t), Utc(2027, 1, 1, 0, 0, 0));
}

TEST(Cron, ErrorsNameTheField) {
  auto err = [](const std::string& e) {
    auto s = CronSchedule::Parse(e);
    EXPECT_FALSE(s.ok()) << e;
    return s.ok() ? std::string() : s.status().message();
  };
  EXPECT_NE(err("0 0 * * *").find("6 or 7 fields"), std::string::npos);
  EXPECT_NE(err("61 0 * * * ?").find("seconds"), std::string::npos);
  EXPECT_NE(err("0 0 25 * * ?").find("hours"), std::string::npos);
  EXPECT_NE(err("0 0 0 32 * ?").find("day-of-month"), std::string::npos);
  EXPECT_NE(err("0 0 0 ? FOO *").find("month"), std::string::npos);
  EXPECT_NE(err("0 0 0 ? * 8").find("day-of-week"), std::string::npos);
  EXPECT_NE(err("0 0 0 1 * MON").find("both"), std::string::npos);
  EXPECT_NE(err("0 5-1 * * * ?").find("ends before"), std::string::npos);
  EXPECT_NE(err("@sometimes").find("macro"), std::string::npos);
  EXPECT_NE(err("0 0 0 ? * 2#6").find("n#k"), std::string::npos);
  EXPECT_NE(err("0 */0 * * * ?").find("step"), std::string::npos);
  EXPECT_NE(err("0 1,,2 * * * ?").find("empty list entry"), std::string::npos);
  EXPECT_NE(err("0 , * * * ?").find("empty list entry"), std::string::npos);
}

const char* kGoodYaml = R"(
service:
  http:
    port: 8081
    context-path: /abs
  logger:
    level: debug
aerospike-clusters:
  c1:
    seed-nodes:
      - host-name: 127.0.0.1
        port: 3000
    credentials:
      user: admin
      password: s3cret
    max-parallel-scans: 4
storage:
  local1:
    local-storage:
      path: /tmp/abs-backups
  s3:
    s3-storage:
      bucket: b
      s3-region: eu-west-1
      secret-access-key: hush
backup-policies:
  p1:
    parallel: 4
    compression:
      mode: ZSTD
      level: 3
    retention:
      full: 3
      incremental: 2
routines:
)";

Json MinimalDoc() {
  return Json::parse(R"({
    "aerospike-clusters": {"c1": {"seed-nodes": [{"host-name": "127.0.0.1", "port": 3000}]}},
    "storage": {"local1": {"local-storage": {"path": "/tmp/x"}}},
    "backup-routines": {"r1": {"interval-cron": "@daily", "source-cluster": "c1",
                               "storage": "local1", "namespaces": ["test"]}}
  })");
}

std::string ParseError(const Json& doc) {
  auto cfg = ParseConfig(doc);
  EXPECT_FALSE(cfg.ok());
  return cfg.ok() ? std::string() : cfg.status().message();
}

TEST(Config, ReadsAbsYaml) {
  std::string yaml = std::string(kGoodYaml);
  yaml.replace(yaml.find("routines:"), 9, R"(backup-routines:
  daily:
    interval-cron: "0 0 1 * * ?"
    incr-interval-cron: "0 */30 * * * ?"
    source-cluster: c1
    storage: local1
    backup-policy: p1
    namespaces: [test, bar]
    set-list: [s1]
    node-list: ["127.0.0.1:3000"]
)");
  auto doc = YamlToJson(yaml);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  auto cfg = ParseConfig(*doc);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->service.http.port, 8081);
  EXPECT_EQ(cfg->service.http.context_path, "/abs");
  EXPECT_EQ(cfg->service.logger.level, "DEBUG");
  EXPECT_EQ(cfg->clusters.at("c1").password, "s3cret");
  EXPECT_EQ(cfg->clusters.at("c1").max_parallel_scans, 4);
  EXPECT_EQ(cfg->storage.at("s3").kind, StorageKind::kS3);
  const auto& p = cfg->policies.at("p1");
  EXPECT_EQ(p.parallel, 4);
  EXPECT_EQ(p.compression, "ZSTD");
  EXPECT_EQ(p.compression_level, 3);
  EXPECT_EQ(p.retention_full, 3);
  const auto& r = cfg->routines.at("daily");
  EXPECT_EQ(r.namespaces, (std::vector<std::string>{"test", "bar"}));
  EXPECT_EQ(r.node_list, (std::vector<std::string>{"127.0.0.1:3000"}));
  EXPECT_TRUE(r.incr_interval_cron.has_value());
  EXPECT_EQ(&cfg->PolicyOf(r), &p);
}

TEST(Config, StrictValidationNamesEveryField) {
  Json d = MinimalDoc();
  d["backup-routines"]["r1"]["colour"] = "blue";
  EXPECT_NE(ParseError(d).find("backup-routines.r1.colour: unknown field"), std::string::npos);

  d = MinimalDoc();
  d["backup-routines"]["r1"]["source-cluster"] = "nope";
  EXPECT_NE(ParseError(d).find("backup-routines.r1.source-cluster: no cluster named 'nope'"),
            std::string::npos);

  d = MinimalDoc();
  d["backup-routines"]["r1"]["node-list"] = {"127.0.0.1:3000"};
  d["backup-routines"]["r1"]["rack-list"] = {1};
  EXPECT_NE(ParseError(d).find("mutually exclusive"), std::string::npos);

  d = MinimalDoc();
  d["backup-routines"]["r1"]["interval-cron"] = "every day";
  EXPECT_NE(ParseError(d).find("backup-routines.r1.interval-cron:"), std::string::npos);

  d = MinimalDoc();
  d["aerospike-clusters"]["c1"]["seed-nodes"][0]["port"] = 70000;
  EXPECT_NE(ParseError(d).find("aerospike-clusters.c1.seed-nodes[0].port: must be 1..65535"),
            std::string::npos);

  d = MinimalDoc();
  d["backup-policies"]["p"] = {{"parallel", "eight"}};
  EXPECT_NE(ParseError(d).find("backup-policies.p.parallel: must be an integer, got a string"),
            std::string::npos);

  d = MinimalDoc();
  d["backup-routines"]["r1"]["partition-list"] = "0,4095-2";
  EXPECT_NE(ParseError(d).find("backup-routines.r1.partition-list"), std::string::npos);

  d = MinimalDoc();
  d["storage"]["local1"]["s3-storage"] = {{"bucket", "b"}, {"s3-region", "r"}};
  EXPECT_NE(ParseError(d).find("exactly one of"), std::string::npos);

  d = MinimalDoc();
  d["aerospike-clusters"]["c1"]["prefer-racks"] = {1};
  d["backup-routines"]["r1"]["rack-list"] = {2};
  EXPECT_NE(ParseError(d).find("prefer-racks"), std::string::npos);

  d = MinimalDoc();
  d["backup-policies"]["p"] = {{"encryption", {{"mode", "AES256"}}}};
  EXPECT_NE(ParseError(d).find("backup-policies.p.encryption: needs exactly one of key-file"),
            std::string::npos);

  d = MinimalDoc();
  d["backup-policies"]["p"] = {{"compression", {{"level", 3}}}};
  EXPECT_NE(ParseError(d).find("backup-policies.p.compression.mode: is required"),
            std::string::npos);

  d = MinimalDoc();
  d["backup-routines"]["r1"]["interval-cron"] = "0 0 0 1 1 ? 2020";
  EXPECT_NE(ParseError(d).find("never fires again"), std::string::npos);

  d = MinimalDoc();
  d["service"] = {{"http", {{"rate", {{"white-list", {"10.0.0.0/x"}}}}}}};
  EXPECT_NE(ParseError(d).find("service.http.rate.white-list"), std::string::npos);
  d["service"] = {{"http", {{"rate", {{"white-list", {"fd00::/129"}}}}}}};
  EXPECT_NE(ParseError(d).find("'fd00::/129' is neither an IP address nor a CIDR"),
            std::string::npos);
  d["service"] = {{"http", {{"rate", {{"white-list", {"fd00::/8", "10.0.0.0/8", "::1"}}}}}}};
  EXPECT_TRUE(ParseConfig(d).ok());

  d = MinimalDoc();
  d["backup-routines"]["a/b"] = d["backup-routines"]["r1"];
  EXPECT_NE(ParseError(d).find("single path segment"), std::string::npos);

  d = MinimalDoc();
  d["aerospike-clusters"]["c1"]["credentials"] = {{"user", "u"}, {"password", "secrets:res:key"}};
  EXPECT_NE(ParseError(d).find("Secret Agent"), std::string::npos);

  // Several problems are all reported.
  d = MinimalDoc();
  d["service"] = {{"http", {{"port", 0}}}, {"colour", 1}};
  d["backup-routines"]["r1"]["storage"] = "gone";
  std::string e = ParseError(d);
  EXPECT_NE(e.find("3 problems"), std::string::npos) << e;
}

TEST(Config, PasswordPathAndYamlScalars) {
  fs::path dir = fs::temp_directory_path() / ("abs-config-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "pw") << "from-file\n";
  Json d = MinimalDoc();
  d["aerospike-clusters"]["c1"]["credentials"] = {{"user", "u"},
                                                  {"password-path", (dir / "pw").string()}};
  auto cfg = ParseConfig(d);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->clusters.at("c1").password, "from-file");
  d["aerospike-clusters"]["c1"]["credentials"]["password-path"] = (dir / "missing").string();
  EXPECT_NE(ParseError(d).find("password-path: cannot read"), std::string::npos);

  // Secret fields may say where the secret is; the document keeps the reference.
  Json s = MinimalDoc();
  s["storage"]["s3"] = {{"s3-storage",
                         {{"bucket", "b"},
                          {"s3-region", "eu-west-1"},
                          {"access-key-id", "file:" + (dir / "pw").string()},
                          {"secret-access-key", "env:ABS_TEST_NO_SUCH_VARIABLE"}}}};
  EXPECT_NE(ParseError(s).find("storage.s3.s3-storage.secret-access-key: environment variable "
                               "ABS_TEST_NO_SUCH_VARIABLE is not set"),
            std::string::npos)
      << ParseError(s);
  s["storage"]["s3"]["s3-storage"]["secret-access-key"] = "b64:" + Base64Encode("hush");
  auto with_refs = ParseConfig(s);
  ASSERT_TRUE(with_refs.ok()) << with_refs.status().ToString();
  EXPECT_EQ(with_refs->storage.at("s3").s3_access_key_id, "from-file");
  EXPECT_EQ(with_refs->storage.at("s3").s3_secret_access_key, "hush");
  EXPECT_EQ(with_refs->document["storage"]["s3"]["s3-storage"]["access-key-id"],
            "file:" + (dir / "pw").string());
  fs::remove_all(dir);

  // Quoted scalars stay strings; plain ones follow the YAML core schema.
  auto j = YamlToJson("a: \"8080\"\nb: 8080\nc: true\nd: ~\ne: 1.5\nf: text\ng: '007'\n");
  ASSERT_TRUE(j.ok());
  EXPECT_TRUE((*j)["a"].is_string());
  EXPECT_TRUE((*j)["b"].is_number_integer());
  EXPECT_TRUE((*j)["c"].is_boolean());
  EXPECT_TRUE((*j)["d"].is_null());
  EXPECT_TRUE((*j)["e"].is_number_float());
  EXPECT_EQ((*j)["g"], "007");
  // Digits grouped with '_', as ABS's samples write part sizes; anything else with '_' is
  // text.
  auto grouped = YamlToJson("a: 50_000_000\nb: -1_000\nc: _1\nd: 1_\ne: '5_0'\nf: 1__0\n");
  ASSERT_TRUE(grouped.ok());
  EXPECT_EQ((*grouped)["a"], 50000000);
  EXPECT_EQ((*grouped)["b"], -1000);
  EXPECT_EQ((*grouped)["c"], "_1");
  EXPECT_EQ((*grouped)["d"], "1_");
  EXPECT_EQ((*grouped)["e"], "5_0");
  EXPECT_EQ((*grouped)["f"], 10);
  // And they survive a round trip through the writer.
  auto back = YamlToJson(JsonToYaml(*j));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *j);

  auto bad = YamlToJson("a: [1, 2\nb: 3\n", "x.yml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("x.yml line"), std::string::npos);
  auto dup = YamlToJson("a: 1\na: 2\n");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("duplicate key 'a'"), std::string::npos);
}

// Loading is bounded: aliases cannot build a cycle or a bomb, and only regular files of
// a sane size are read, with the operating system's reason in every error.
TEST(Config, LoadingIsBoundedAndSaysWhy) {
  auto rec = YamlToJson("a: &a {b: *a}\n", "rec.yml");
  ASSERT_FALSE(rec.ok());
  EXPECT_NE(rec.status().message().find("recursive alias"), std::string::npos)
      << rec.status().ToString();
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'j'; ++c) {
    std::string prev(1, static_cast<char>(c - 1));
    bomb += std::string(1, c) + ": &" + std::string(1, c) + " [";
    for (int i = 0; i < 10; ++i)
      bomb += (i ? ", *" : "*") + prev;
    bomb += "]\n";
  }
  auto b = YamlToJson(bomb, "bomb.yml");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("too many values"), std::string::npos);
  // Honest aliases still work.
  auto anchors = YamlToJson("p: &p {parallel: 2}\nq: *p\n");
  ASSERT_TRUE(anchors.ok()) << anchors.status().ToString();
  EXPECT_EQ((*anchors)["q"]["parallel"], 2);
  std::string deep;
  for (int i = 0; i < 100; ++i)
    deep += std::string(static_cast<size_t>(i) * 2, ' ') + "k:\n";
  EXPECT_NE(YamlToJson(deep).status().message().find("deeper than"), std::string::npos);

  fs::path dir = fs::temp_directory_path() / ("abs-config-load-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto error_of = [](const fs::path& p) { return LoadConfigFile(p.string()).status().message(); };
  EXPECT_NE(error_of(dir).find("it is a directory"), std::string::npos) << error_of(dir);
  EXPECT_NE(error_of(dir / "missing.yml").find("No such file or directory"), std::string::npos);
  ASSERT_EQ(::mkfifo((dir / "fifo.yml").c_str(), 0600), 0);
  EXPECT_NE(error_of(dir / "fifo.yml").find("FIFO"), std::string::npos) << "and it did not wait";
  EXPECT_NE(error_of("/dev/zero").find("a device"), std::string::npos);
  fs::create_symlink(dir / "l1", dir / "l2");
  fs::create_symlink(dir / "l2", dir / "l1");
  EXPECT_NE(error_of(dir / "l1").find("symbolic links"), std::string::npos) << error_of(dir / "l1");
  {
    std::ofstream big(dir / "big.yml");
    big << "# " << std::string(kMaxConfigFileBytes, 'x') << "\n";
  }
  EXPECT_NE(error_of(dir / "big.yml").find("at most"), std::string::npos);
  std::ofstream(dir / "rec.yml") << "a: &a {b: *a}\n";
  EXPECT_NE(error_of(dir / "rec.yml").find("recursive alias"), std::string::npos);
  // The password file is read the same way: a FIFO is refused, not waited on.
  Json d = MinimalDoc();
  d["aerospike-clusters"]["c1"]["credentials"] = {{"user", "u"},
                                                  {"password-path", (dir / "fifo.yml").string()}};
  EXPECT_NE(ParseError(d).find("FIFO"), std::string::npos) << ParseError(d);
  fs::remove_all(dir);
}

// Errors quote a short prefix of a huge value, never all of it.
TEST(Config, ErrorsQuoteShortPrefixes) {
  Json d = MinimalDoc();
  d["backup-routines"]["r1"]["interval-cron"] = std::string(60000, '7');
  d["service"] = {{"logger", {{"level", std::string(60000, 'Q')}}}};
  std::string error = ParseError(d);
  EXPECT_LT(error.size(), 4096u) << error.substr(0, 300);
  EXPECT_NE(error.find("bytes)"), std::string::npos) << error.substr(0, 300);
  auto request = ParseRestoreRequest(Json{{"backup-data-path", std::string(10000, 'p')},
                                          {"source-name", "s"},
                                          {"destination-name", "c"}},
                                     false);
  ASSERT_FALSE(request.ok());
  EXPECT_LT(request.status().message().size(), 4096u);
  EXPECT_NE(request.status().message().find("at most 4096"), std::string::npos);
  // Any string setting is bounded, and a long list is checked for repeats in linear time.
  d = MinimalDoc();
  d["storage"]["local1"]["local-storage"]["path"] = std::string(100000, 'p');
  EXPECT_NE(ParseError(d).find("at most 65536"), std::string::npos);
  d = MinimalDoc();
  Json many = Json::array();
  for (int i = 0; i < 200000; ++i)
    many.push_back("ns" + std::to_string(i));
  many.push_back("ns7");
  d["backup-routines"]["r1"]["namespaces"] = many;
  EXPECT_NE(ParseError(d).find("lists 'ns7' twice"), std::string::npos);
}

TEST(Config, SecretsAreRedactedAndKeptOnPut) {
  Json d = MinimalDoc();
  d["aerospike-clusters"]["c1"]["credentials"] = {{"user", "u"}, {"password", "pw1"}};
  Json red = RedactSecrets(d);
  EXPECT_EQ(red["aerospike-clusters"]["c1"]["credentials"]["password"], kRedacted);
  EXPECT_EQ(red["aerospike-clusters"]["c1"]["credentials"]["user"], "u");
  EXPECT_EQ(red.dump().find("pw1"), std::string::npos);
  Json back = KeepStoredSecrets(red, d);
  EXPECT_EQ(back, d);
  red["aerospike-clusters"]["c1"]["credentials"]["password"] = "pw2";
  EXPECT_EQ(KeepStoredSecrets(red, d)["aerospike-clusters"]["c1"]["credentials"]["password"],
            "pw2");
}

TEST(ConfigEdits, EntriesAreEditedOnTheDocumentWithoutAService) {
  Json d = MinimalDoc();
  d["aerospike-clusters"]["c1"]["credentials"] = {{"user", "u"}, {"password", "pw1"}};
  EXPECT_FALSE(IsConfigSection("aerospike-clusters"));  // API names, not document keys
  EXPECT_EQ(ConfigSection(d, "clusters", true)["c1"]["credentials"]["password"], kRedacted);
  EXPECT_EQ(ConfigSection(d, "clusters", false)["c1"]["credentials"]["password"], "pw1");
  EXPECT_EQ(ConfigEntry(d, "storage", "nope", true).status().code(), StatusCode::kNotFound);

  // A replaced entry sent back redacted keeps its stored password.
  Json c1 = *ConfigEntry(d, "clusters", "c1", true);
  c1["max-parallel-scans"] = 7;
  ASSERT_TRUE(ReplaceConfigEntry(d, "clusters", "c1", c1).ok());
  EXPECT_EQ(d["aerospike-clusters"]["c1"]["credentials"]["password"], "pw1");
  EXPECT_EQ(d["aerospike-clusters"]["c1"]["max-parallel-scans"], 7);

  EXPECT_EQ(CreateConfigEntry(d, "clusters", "c1", c1).code(), StatusCode::kConflict);
  EXPECT_EQ(ReplaceConfigEntry(d, "clusters", "c9", c1).code(), StatusCode::kNotFound);
  EXPECT_EQ(CreateConfigEntry(d, "clusters", "a/b", c1).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(CreateConfigEntry(d, "clusters", "c2", c1).ok());

  // An entry a routine refers to is not deleted; the error names the routine.
  Status used = DeleteConfigEntry(d, "clusters", "c1");
  EXPECT_EQ(used.code(), StatusCode::kConflict);
  EXPECT_NE(used.message().find("routine 'r1'"), std::string::npos) << used.message();
  EXPECT_TRUE(DeleteConfigEntry(d, "clusters", "c2").ok());
  EXPECT_FALSE(d["aerospike-clusters"].contains("c2"));

  ASSERT_TRUE(SetRoutineDisabled(d, "r1", true).ok());
  EXPECT_EQ(d["backup-routines"]["r1"]["disabled"], true);
  EXPECT_EQ(SetRoutineDisabled(d, "r9", true).code(), StatusCode::kNotFound);
}

TEST(Config, RestoreRequests) {
  auto r = ParseRestoreRequest(Json::parse(R"({"backup-data-path": "r/backup/1/data/test",
      "source-name": "local1", "destination-name": "c1",
      "policy": {"parallel": 4, "batch-size": 64, "namespace": {"source": "a", "destination": "b"}}})"),
                               false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->policy.parallel, 4);
  EXPECT_EQ(r->policy.batch_size, 64);
  EXPECT_EQ(r->policy.namespace_destination, "b");

  auto t = ParseRestoreRequest(
      Json::parse(R"({"routine": "r1", "time": "1795574895148", "destination-name": "c1"})"), true);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->time_ms, 1795574895148);

  auto bad = ParseRestoreRequest(Json::parse(R"({"routine": "r1", "time": 12})"), true);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("time: must be epoch milliseconds"), std::string::npos);
  bad = ParseRestoreRequest(Json::parse(R"({"backup-data-path": "x", "source-name": "s",
      "destination-name": "c", "policy": {"unique": true, "replace": true, "parallel": "4"}})"),
                            false);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("policy.unique"), std::string::npos);
  EXPECT_NE(bad.status().message().find("policy.parallel: must be an integer"), std::string::npos);
  // Integral floats beyond int64 (CI's fuzzer found 12e27) and unsigned values beyond
  // INT64_MAX are range errors, not undefined conversions.
  for (const char* huge : {"12e27", "-1e19", "18446744073709551615", "1e300"}) {
    bad =
        ParseRestoreRequest(Json::parse(std::string(R"({"backup-data-path": "x", "source-name": "s",
            "destination-name": "c", "policy": {"batch-size": )") +
                                        huge + "}}"),
                            false);
    ASSERT_FALSE(bad.ok()) << huge;
    EXPECT_NE(bad.status().message().find("policy.batch-size: must be "), std::string::npos)
        << bad.status().message();
  }
  auto integral_float = ParseRestoreRequest(
      Json::parse(R"({"backup-data-path": "x", "source-name": "s", "destination-name": "c",
                      "policy": {"batch-size": 1e3}})"),
      false);
  ASSERT_TRUE(integral_float.ok()) << integral_float.status().ToString();
  EXPECT_EQ(integral_float->policy.batch_size, 1000);
  bad = ParseRestoreRequest(Json::parse(R"([1, 2])"), false);
  EXPECT_FALSE(bad.ok());
  bad = ParseRestoreRequest(Json::parse(R"({"backup-data-path": "x"})"), false);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("source: is required"), std::string::npos);
}

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("abs-catalog-" + std::to_string(getpid()));
    fs::remove_all(root_);
    auto s = storage::OpenLocalStorage(root_.string());
    ASSERT_TRUE(s.ok());
    storage_ = std::move(s).value();
  }
  void TearDown() override { fs::remove_all(root_); }

  void AddBackup(const std::string& routine, bool incremental, int64_t ts, const std::string& ns,
                 bool finished = true, const std::string& slice = "") {
    std::string run = routine + (incremental ? "/incremental/" : "/backup/") + std::to_string(ts);
    std::string dir = run + "/data/" + ns;
    if (!slice.empty()) {
      ASSERT_TRUE(storage_->PutAtomic(run + "/abs-run.json", Json({{"slice", slice}}).dump()).ok());
    }
    ASSERT_TRUE(storage_->PutAtomic(dir + "/1_" + ns + "_1.asb", "Version 3.1\n").ok());
    if (!finished) return;
    backupset::BackupResult r;
    r.ns = ns;
    r.created_unix_ms = ts;
    r.finished_unix_ms = ts + 2000;
    r.record_count = 10;
    ASSERT_TRUE(storage_->PutAtomic(dir + "/metadata.yaml", backupset::FormatMetadataYaml(r)).ok());
  }

  fs::path root_;
  std::unique_ptr<storage::Storage> storage_;
};

TEST_F(CatalogTest, ListsFinishedBackupsOnly) {
  AddBackup("r", false, 1700000000000, "test");
  AddBackup("r", false, 1700000000000, "bar");
  AddBackup("r", false, 1700000100000, "test", /*finished=*/false);
  AddBackup("r", true, 1700000050000, "test");
  auto fulls = backupset::ListBackups(*storage_, "r", false);
  ASSERT_TRUE(fulls.ok());
  ASSERT_EQ(fulls->size(), 2u);
  EXPECT_EQ((*fulls)[0].key, "r/backup/1700000000000/data/bar");
  EXPECT_EQ((*fulls)[0].created_ms, 1700000000000);
  EXPECT_EQ((*fulls)[0].finished_ms, 1700000002000);
  Json j = (*fulls)[1].ToJson("local1");
  EXPECT_EQ(j["namespace"], "test");
  EXPECT_EQ(j["record-count"], 10);
  EXPECT_EQ(j["storage"], "local1");
  EXPECT_EQ(j["duration"], 2);
  auto incrs = backupset::ListBackups(*storage_, "r", true);
  ASSERT_TRUE(incrs.ok());
  EXPECT_EQ(incrs->size(), 1u);
  EXPECT_TRUE(backupset::ListBackups(*storage_, "other", false)->empty());
}

TEST_F(CatalogTest, RetentionKeepsNewestFullsAndTheirIncrementals) {
  for (int i = 0; i < 5; ++i) {
    AddBackup("r", false, 1700000000000 + i * 1000000, "test");
    AddBackup("r", true, 1700000000000 + i * 1000000 + 500000, "test");
  }
  ASSERT_TRUE(backupset::ApplyRetention(*storage_, "r", 3, 1).ok());
  auto fulls = backupset::ListBackups(*storage_, "r", false);
  ASSERT_EQ(fulls->size(), 3u);
  EXPECT_EQ(fulls->front().timestamp_ms, 1700002000000);
  auto incrs = backupset::ListBackups(*storage_, "r", true);
  ASSERT_EQ(incrs->size(), 1u);  // only the one after the newest full
  EXPECT_EQ(incrs->front().timestamp_ms, 1700004500000);
}

// retention {incremental: 0} without full (ABS 2.x's RemoveIncremental): every full stays,
// and a full removes the incrementals before it; those after the newest full stay.
TEST_F(CatalogTest, RetentionWithoutFullKeepsEveryFullAndDropsOlderIncrementals) {
  for (int i = 0; i < 3; ++i) {
    AddBackup("r", false, 1700000000000 + i * 1000000, "test");
    AddBackup("r", true, 1700000000000 + i * 1000000 + 500000, "test");
  }
  ASSERT_TRUE(backupset::ApplyRetention(*storage_, "r", 0, 0).ok());
  EXPECT_EQ(backupset::ListBackups(*storage_, "r", false)->size(), 3u);
  auto incrs = backupset::ListBackups(*storage_, "r", true);
  ASSERT_EQ(incrs->size(), 1u);
  EXPECT_EQ(incrs->front().timestamp_ms, 1700002500000);
  // Neither bound: nothing is removed.
  AddBackup("r", true, 1700000000001, "test");
  ASSERT_TRUE(backupset::ApplyRetention(*storage_, "r", 0, -1).ok());
  EXPECT_EQ(backupset::ListBackups(*storage_, "r", true)->size(), 2u);
}

TEST_F(CatalogTest, RetentionOfOneSliceLeavesOtherInstancesAlone) {
  for (int i = 0; i < 3; ++i) {
    AddBackup("r", false, 1700000000000 + i * 1000, "test", true, "node-list:a");
    AddBackup("r", false, 1700000000001 + i * 1000, "test", true, "node-list:b");
  }
  ASSERT_TRUE(backupset::ApplyRetention(*storage_, "r", 1, 1, "node-list:a").ok());
  auto fulls = backupset::ListBackups(*storage_, "r", false);
  ASSERT_TRUE(fulls.ok());
  size_t a = 0, b = 0;
  for (const auto& e : *fulls) {
    a += e.slice == "node-list:a";
    b += e.slice == "node-list:b";
  }
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, 3u);
  EXPECT_EQ(backupset::SliceKey("", {}, {}), "");
  EXPECT_EQ(backupset::SliceKey("", {}, {1, 2}), "rack-list:1,2");
  EXPECT_EQ(backupset::SliceKey("0-100", {"a"}, {1}), "partition-list:0-100") << "the first given";
}

TEST(Config, JsonFilesAreSavedAsJson) {
  fs::path path = fs::temp_directory_path() / ("abs-config-" + std::to_string(getpid()) + ".json");
  ASSERT_TRUE(SaveConfigFile(path.string(), MinimalDoc()).ok());
  auto cfg = LoadConfigFile(path.string());
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->document, MinimalDoc());
  fs::remove(path);
}

TEST(Catalog, TimeParsing) {
  EXPECT_EQ(backupset::ParseRfc3339Millis("2026-11-25T02:48:15.148Z"), 1795574895148);
  EXPECT_EQ(backupset::ParseRfc3339Millis("2026-11-25T03:48:15.148+01:00"), 1795574895148);
  EXPECT_EQ(backupset::ParseRfc3339Millis("2026-11-25T02:48:15Z"), 1795574895000);
  EXPECT_EQ(backupset::ParseRfc3339Millis("yesterday"), -1);
  EXPECT_EQ(backupset::RunTimestamp("1795574895148"), 1795574895148);
  EXPECT_EQ(backupset::RunTimestamp("1795574895148_2026-11-25T02-48-15"), 1795574895148);
  EXPECT_EQ(backupset::RunTimestamp("179557489514"), -1);
  EXPECT_EQ(backupset::RunTimestamp("17955748951489"), -1);
}

TEST(JobStoreTest, PersistsAcrossReopen) {
  fs::path dir = fs::temp_directory_path() / ("abs-jobs-" + std::to_string(getpid()));
  fs::remove_all(dir);
  {
    auto store = jobs::JobStore::Open(dir.string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    jobs::JobRecord j;
    j.id = 42;
    j.kind = jobs::JobKind::kBackup;
    j.routine = "r";
    j.type = jobs::JobType::kFull;
    j.status = jobs::JobStatus::kRunning;
    j.started_ms = 1000;
    j.detail["directories"] = {"r/backup/1/data/test"};
    ASSERT_TRUE((*store)->Insert(j).ok());
    EXPECT_FALSE((*store)->Insert(j).ok());  // ids are unique
    jobs::JobRecord k;
    k.id = 7;
    k.kind = jobs::JobKind::kRestore;
    k.status = jobs::JobStatus::kSuccess;
    k.started_ms = 2000;
    ASSERT_TRUE((*store)->Insert(k).ok());
  }
  auto store = jobs::JobStore::Open(dir.string());
  ASSERT_TRUE(store.ok());
  auto running = (*store)->Running();
  ASSERT_TRUE(running.ok());
  ASSERT_EQ(running->size(), 1u);
  EXPECT_EQ((*running)[0].detail["directories"][0], "r/backup/1/data/test");
  jobs::JobRecord j = (*running)[0];
  j.status = jobs::JobStatus::kFailure;
  j.finished_ms = 3000;
  ASSERT_TRUE((*store)->Update(j).ok());
  EXPECT_TRUE((*store)->Running()->empty());
  auto got = (*store)->Get(42);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->status, jobs::JobStatus::kFailure);
  EXPECT_EQ((*store)->List(jobs::JobKind::kRestore)->size(), 1u);
  EXPECT_EQ((*store)->List(jobs::JobKind::kRestore, 2500)->size(), 0u);
  EXPECT_FALSE((*store)->Get(99)->has_value());
  for (auto s : {jobs::JobStatus::kRunning, jobs::JobStatus::kSuccess, jobs::JobStatus::kFailure,
                 jobs::JobStatus::kCanceled, jobs::JobStatus::kSkip}) {
    EXPECT_EQ(jobs::ParseJobStatus(jobs::Name(s)), s);
  }
  EXPECT_FALSE(jobs::ParseJobStatus("done").has_value());
  fs::remove_all(dir);
}

TEST(SemaphoreTest, LimitsAndCancels) {
  Semaphore s(2);
  EXPECT_TRUE(s.Acquire());
  EXPECT_TRUE(s.Acquire());
  EXPECT_EQ(s.in_use(), 2);
  std::atomic<bool> cancel{false};
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    cancel = true;
  });
  EXPECT_FALSE(s.Acquire(&cancel));  // full, then cancelled
  t.join();
  s.Release();
  EXPECT_TRUE(s.Acquire());
  Semaphore unlimited(0);
  for (int i = 0; i < 100; ++i)
    EXPECT_TRUE(unlimited.Acquire());
}

}  // namespace
}  // namespace absvc::service

namespace absvc::service {
namespace {

// 2026-01-01T00:00:00Z: a Thursday, midnight UTC.
constexpr int64_t kNewYearMs = 1767225600000;

Config ScheduleConfig(const std::string& full_cron, const std::string& incr_cron) {
  Json d = MinimalDoc();
  d["backup-routines"]["r1"]["interval-cron"] = full_cron;
  if (!incr_cron.empty()) d["backup-routines"]["r1"]["incr-interval-cron"] = incr_cron;
  auto cfg = ParseConfig(d);
  EXPECT_TRUE(cfg.ok()) << cfg.status().ToString();
  return *cfg;
}

TEST(BackupSchedule, BackupsFallDueAtTheirCronTimesAndMoveOn) {
  Config cfg = ScheduleConfig("0 0 1 * * ?", "0 */30 * * * ?");  // 01:00 daily; half-hourly
  BackupSchedule s;
  s.Update(cfg, kNewYearMs);
  EXPECT_EQ(s.NextFullMs("r1"), kNewYearMs + 3600 * 1000);
  EXPECT_EQ(s.NextIncrementalMs("r1"), kNewYearMs + 1800 * 1000);
  EXPECT_EQ(s.NextWakeMs(kNewYearMs, 3600 * 1000), kNewYearMs + 1800 * 1000);
  EXPECT_EQ(s.NextWakeMs(kNewYearMs), kNewYearMs + 60000) << "a minute at most by default";
  EXPECT_TRUE(s.TakeDue(cfg, kNewYearMs + 1000).empty());
  auto due = s.TakeDue(cfg, kNewYearMs + 1800 * 1000);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_TRUE(due[0].incremental);
  EXPECT_EQ(s.NextIncrementalMs("r1"), kNewYearMs + 3600 * 1000);
  due = s.TakeDue(cfg, kNewYearMs + 3600 * 1000);
  ASSERT_EQ(due.size(), 2u) << "the full and the incremental of 01:00";
  EXPECT_FALSE(due[0].incremental);
  EXPECT_EQ(s.NextFullMs("r1"), kNewYearMs + 25 * 3600 * 1000);
  // A wake-up never waits past the bound, even when nothing is due for a day.
  EXPECT_EQ(s.NextWakeMs(kNewYearMs + 3600 * 1000, 60000), kNewYearMs + 3600 * 1000 + 60000);
}

TEST(BackupSchedule, AnUnchangedScheduleKeepsItsTimesAndAChangedOneIsRecomputed) {
  Config cfg = ScheduleConfig("0 0 1 * * ?", "");
  BackupSchedule s;
  s.Update(cfg, kNewYearMs);
  // An edit just before the fire time (another field) must not skip that backup.
  s.Update(cfg, kNewYearMs + 3600 * 1000 - 1);
  EXPECT_EQ(s.NextFullMs("r1"), kNewYearMs + 3600 * 1000);
  Config changed = ScheduleConfig("0 0 2 * * ?", "");
  s.Update(changed, kNewYearMs);
  EXPECT_EQ(s.NextFullMs("r1"), kNewYearMs + 2 * 3600 * 1000);
  Json d = MinimalDoc();
  d["backup-routines"]["r1"]["disabled"] = true;
  auto disabled = ParseConfig(d);
  ASSERT_TRUE(disabled.ok()) << disabled.status().ToString();
  s.Update(*disabled, kNewYearMs);
  EXPECT_EQ(s.NextFullMs("r1"), 0);
  EXPECT_TRUE(s.TakeDue(*disabled, kNewYearMs + 48 * 3600 * 1000).empty());
  // A routine removed from the configuration leaves the schedule.
  Json none = MinimalDoc();
  none["backup-routines"] = Json::object();
  auto empty = ParseConfig(none);
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  s.Update(*empty, kNewYearMs);
  EXPECT_EQ(s.NextFullMs("r1"), 0);
}

TEST(Config, ScheduleTimezoneTakesIanaNames) {
  // The configuration takes IANA names and names a wrong one with its field.
  Json d = MinimalDoc();
  d["backup-routines"]["r1"]["schedule-timezone"] = "Europe/Berlin";
  EXPECT_TRUE(ParseConfig(d).ok());
  d["backup-routines"]["r1"]["schedule-timezone"] = "Mars/Olympus_Mons";
  std::string error = ParseError(d);
  EXPECT_NE(error.find("schedule-timezone"), std::string::npos) << error;
  EXPECT_NE(error.find("unknown time zone"), std::string::npos) << error;
  d = MinimalDoc();
  d["service"] = {{"backup", {{"schedule-timezone", "America/New_York"}}}};
  EXPECT_TRUE(ParseConfig(d).ok());
}

TEST(Config, TheMemoryBudgetIsInMibWithinItsRange) {
  Json d = MinimalDoc();
  auto defaults = ParseConfig(d);
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->service.memory_budget_mib, 256);
  d["service"] = {{"memory-budget-mib", 64}};
  auto set = ParseConfig(d);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->service.memory_budget_mib, 64);
  d["service"] = {{"memory-budget-mib", 8}};
  std::string error = ParseError(d);
  EXPECT_NE(error.find("service.memory-budget-mib"), std::string::npos) << error;
}

TEST(Config, AutoSliceResolvesToAPartitionRangeFromTheFileOrTheEnvironment) {
  testing::ScopedEnv env;
  Json d = MinimalDoc();
  d["backup-routines"]["r1"]["auto-slice"] = {{"count", 4}, {"index", 1}};
  auto cfg = ParseConfig(d);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  const auto& r = cfg->routines.at("r1");
  EXPECT_EQ(r.partition_list, "1024-1024");
  ASSERT_TRUE(r.auto_slice);
  EXPECT_EQ(*r.auto_slice, std::make_pair(1u, 4u));
  // One file for every replica: the index from the environment.
  d["backup-routines"]["r1"]["auto-slice"] = {{"count", 3}, {"index-env", "ABS_TEST_SLICE"}};
  env.Set("ABS_TEST_SLICE", "2");
  cfg = ParseConfig(d);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->routines.at("r1").partition_list, "2730-1366");

  auto error = [&](const Json& slice) {
    Json doc = MinimalDoc();
    doc["backup-routines"]["r1"]["auto-slice"] = slice;
    return ParseError(doc);
  };
  EXPECT_NE(error({{"count", 4}, {"index", 4}})
                .find("auto-slice.index: is 4: slices of 4 are "
                      "numbered 0..3"),
            std::string::npos)
      << error({{"count", 4}, {"index", 4}});
  EXPECT_NE(error({{"count", 0}, {"index", 0}}).find("auto-slice.count"), std::string::npos);
  EXPECT_NE(error({{"count", 4097}, {"index", 0}}).find("auto-slice.count"), std::string::npos);
  EXPECT_NE(error({{"count", 4}}).find("needs exactly one of index and index-env"),
            std::string::npos);
  env.Set("ABS_TEST_SLICE", "abs-3");
  EXPECT_NE(error({{"count", 4}, {"index-env", "ABS_TEST_SLICE"}})
                .find("environment variable ABS_TEST_SLICE is 'abs-3', not a slice index"),
            std::string::npos);
  env.Unset("ABS_TEST_SLICE");
  EXPECT_NE(error({{"count", 4}, {"index-env", "ABS_TEST_SLICE"}})
                .find("environment variable ABS_TEST_SLICE is not set"),
            std::string::npos);
  Json doc = MinimalDoc();
  doc["backup-routines"]["r1"]["auto-slice"] = {{"count", 2}, {"index", 0}};
  doc["backup-routines"]["r1"]["node-list"] = {"BB9000"};
  EXPECT_NE(ParseError(doc).find("auto-slice, partition-list, node-list and rack-list are "
                                 "mutually exclusive"),
            std::string::npos)
      << ParseError(doc);
}

TEST(Config, AuthModesNeedWhatTheirLoginSends) {
  Json d = MinimalDoc();
  Json tls = {{"ca-file", "/ca.pem"}, {"name", "node"}};
  d["aerospike-clusters"]["c1"]["credentials"] = {
      {"user", "u"}, {"password", "p"}, {"auth-mode", "EXTERNAL"}};
  // ABS runs EXTERNAL without tls, sending the password in clear text: so does abs, with a
  // warning.
  auto cfg = ParseConfig(d);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  ASSERT_FALSE(cfg->warnings.empty());
  EXPECT_NE(cfg->warnings[0].find("credentials.auth-mode: EXTERNAL without tls sends the password"),
            std::string::npos)
      << cfg->warnings[0];
  EXPECT_TRUE(ClientOptionsFor(cfg->clusters.at("c1"))->allow_clear_password_without_tls);
  d["aerospike-clusters"]["c1"]["tls"] = tls;
  cfg = ParseConfig(d);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  auto options = ClientOptionsFor(cfg->clusters.at("c1"));
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->auth_mode, client::AuthMode::kExternal);
  EXPECT_FALSE(options->allow_clear_password_without_tls);
  // EXTERNAL_INSECURE (ABS v2) takes the risk knowingly.
  d["aerospike-clusters"]["c1"].erase("tls");
  d["aerospike-clusters"]["c1"]["credentials"]["auth-mode"] = "EXTERNAL_INSECURE";
  cfg = ParseConfig(d);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_TRUE(ClientOptionsFor(cfg->clusters.at("c1"))->allow_clear_password_without_tls);
  // PKI: no user or password, and a client certificate.
  d["aerospike-clusters"]["c1"]["credentials"] = {{"auth-mode", "PKI"}};
  d["aerospike-clusters"]["c1"]["tls"] = tls;
  EXPECT_NE(ParseError(d).find("PKI logs in with a client certificate"), std::string::npos);
  d["aerospike-clusters"]["c1"]["tls"]["cert-file"] = "/client.pem";
  d["aerospike-clusters"]["c1"]["tls"]["key-file"] = "/client-key.pem";
  cfg = ParseConfig(d);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(ClientOptionsFor(cfg->clusters.at("c1"))->auth_mode, client::AuthMode::kPki);
  d["aerospike-clusters"]["c1"]["credentials"] = {{"password", "p"}};
  EXPECT_NE(ParseError(d).find("credentials.user: is required"), std::string::npos);
  // Without a password no user is needed (ABS's rule).
  d["aerospike-clusters"]["c1"]["credentials"] = {{"auth-mode", "INTERNAL"}};
  EXPECT_TRUE(ParseConfig(d).ok());
}

TEST(Config, HttpsSectionIsValidatedAndNamesEachField) {
  Json d = MinimalDoc();
  d["service"] = {
      {"https",
       {{"port", 9443},
        {"cert-file", "/etc/abs/cert.pem"},
        {"key-file", "/etc/abs/key.pem"},
        {"client-auth", "require-and-verify"},
        {"client-ca-file", "/etc/abs/ca.pem"},
        {"min-version", "1.3"},
        {"cipher-suites", {"TLS_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}}}}};
  auto cfg = ParseConfig(d);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  ASSERT_TRUE(cfg->service.https.has_value());
  EXPECT_EQ(cfg->service.https->listener.port, 9443);
  EXPECT_EQ(cfg->service.https->client_auth, "require-and-verify");
  EXPECT_EQ(cfg->service.https->min_version, "1.3");
  // The listener the API follows stays http while http is on.
  EXPECT_EQ(&ApiListener(cfg->service), &cfg->service.http);

  auto error_for = [&](const Json& https, const Json& http = Json::object()) {
    Json doc = MinimalDoc();
    doc["service"] = {{"https", https}};
    if (!http.empty()) doc["service"]["http"] = http;
    return ParseError(doc);
  };
  Json base = {{"cert-file", "c.pem"}, {"key-file", "k.pem"}};
  Json j = base;
  j["client-auth"] = "require-and-verify";
  EXPECT_NE(error_for(j).find("service.https.client-ca-file: is required"), std::string::npos)
      << error_for(j);
  j = base;
  j["client-auth"] = "always";
  EXPECT_NE(error_for(j).find("service.https.client-auth"), std::string::npos);
  j = base;
  j["cipher-suites"] = {"TLS_MADE_UP_SUITE"};
  EXPECT_NE(error_for(j).find("'TLS_MADE_UP_SUITE' is not a cipher suite"), std::string::npos)
      << error_for(j);
  j = base;
  j["min-version"] = "1.1";
  EXPECT_NE(error_for(j).find("service.https.min-version"), std::string::npos);
  EXPECT_NE(error_for({{"cert-file", "c.pem"}}).find("service.https.key-file"), std::string::npos);
  j = base;
  j["context-path"] = "/other";
  EXPECT_NE(error_for(j, {{"context-path", "/abs"}}).find("must equal service.http.context-path"),
            std::string::npos);
  // Without its own context-path, https takes http's; with http off it serves alone.
  Json doc = MinimalDoc();
  doc["service"] = {{"http", {{"context-path", "/abs"}, {"disabled", true}}}, {"https", base}};
  cfg = ParseConfig(doc);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(ApiListener(cfg->service).context_path, "/abs");
  EXPECT_EQ(ApiListener(cfg->service).port, 8443);
  doc["service"].erase("https");
  EXPECT_NE(ParseError(doc).find("nothing would serve the API"), std::string::npos);
}

}  // namespace
}  // namespace absvc::service
