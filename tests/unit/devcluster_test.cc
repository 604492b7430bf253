// The devcluster answered over real loopback sockets, byte by byte, without our client:
// what a node says must be what a real server says.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <random>
#include <set>

#include "common/bytes.h"
#include "devcluster/cluster.h"
#include "wire/admin.h"
#include "wire/batch.h"
#include "wire/info.h"
#include "wire/message.h"
#include "wire/particle.h"
#include "wire/proto.h"

namespace absvc::devcluster {
namespace {

using wire::FieldType;

uint16_t PickBasePort() {
  // Ports the kernel hands out are free now; take a block above one of them.
  std::mt19937 rng(static_cast<unsigned>(::getpid()) * 7919u +
                   static_cast<unsigned>(time(nullptr)));
  return static_cast<uint16_t>(20000 + (rng() % 20000));
}

class RawConnection {
 public:
  explicit RawConnection(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawConnection() { ::close(fd_); }
  bool connected() const { return connected_; }

  void Send(const std::string& bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // Reads one proto; returns its type and body.
  std::pair<int, std::string> Receive() {
    char h[8];
    if (!ReadExact(h, 8)) return {-1, ""};
    auto header = wire::DecodeProtoHeader(std::string_view(h, 8));
    if (!header.ok()) return {-1, ""};
    std::string body(header->body_size, '\0');
    if (!ReadExact(body.data(), body.size())) return {-1, ""};
    return {static_cast<int>(header->type), body};
  }
  std::map<std::string, std::string> Info(const std::vector<std::string>& commands) {
    Send(wire::BuildInfoRequest(commands));
    auto [type, body] = Receive();
    std::map<std::string, std::string> out;
    for (auto& p : wire::ParseInfoResponse(body))
      out[p.name] = p.value;
    return out;
  }
  std::string Info1(const std::string& command) { return Info({command})[command]; }

  // Sends one AS_MSG and collects every message of the answer until LAST (or the first
  // message for single-record commands).
  std::vector<std::pair<wire::MsgHeader, std::string>> Command(const std::string& msg, bool multi) {
    std::string proto;
    size_t off = wire::BeginProto(proto);
    proto += msg;
    wire::EndProto(proto, off, wire::ProtoType::kMessage);
    Send(proto);
    std::vector<std::pair<wire::MsgHeader, std::string>> out;
    while (true) {
      auto [type, body] = Receive();
      if (type != 3) {
        ADD_FAILURE() << "bad proto type " << type;
        return out;
      }
      EXPECT_GE(body.size(), 22u) << "empty or partial proto";
      size_t pos = 0;
      while (pos < body.size()) {
        wire::MessageView v;
        size_t consumed = 0;
        Status st = wire::DecodeMessage(std::string_view(body).substr(pos), &v, &consumed);
        if (!st.ok()) {
          ADD_FAILURE() << st.ToString();
          return out;
        }
        out.emplace_back(v.header, body.substr(pos, consumed));
        pos += consumed;
        if (!multi || (v.header.info3 & wire::info3::kLast)) return out;
      }
    }
  }

 private:
  bool ReadExact(char* p, size_t n) {
    while (n > 0) {
      ssize_t r = ::recv(fd_, p, n, 0);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }
  int fd_;
  bool connected_ = false;
};

std::string PutMessage(const std::string& set, int64_t key, int64_t value, uint8_t info2_extra = 0,
                       uint8_t info3 = 0, uint32_t generation = 0, uint32_t ttl = 0) {
  std::string out;
  wire::MsgHeader h;
  h.info2 = wire::info2::kWrite | info2_extra;
  h.info3 = info3;
  h.generation = generation;
  h.record_ttl = ttl;
  wire::MessageBuilder b(out, h);
  auto d = wire::ComputeDigest(set, 1, wire::EncodeInteger(key));
  b.Field(FieldType::kNamespace, "test").Field(FieldType::kSet, set);
  b.Field(FieldType::kDigest, wire::DigestBytes(d));
  b.Field(FieldType::kKey, std::string(1, '\1') + wire::EncodeInteger(key));
  b.Op(wire::OpType::kWrite, 1, "v", wire::EncodeInteger(value));
  b.Finish();
  return out;
}

std::string GetMessage(const std::string& set, int64_t key) {
  std::string out;
  wire::MsgHeader h;
  h.info1 = wire::info1::kRead | wire::info1::kGetAll;
  wire::MessageBuilder b(out, h);
  auto d = wire::ComputeDigest(set, 1, wire::EncodeInteger(key));
  b.Field(FieldType::kNamespace, "test").Field(FieldType::kSet, set);
  b.Field(FieldType::kDigest, wire::DigestBytes(d));
  b.Finish();
  return out;
}

std::string ScanMessage(const std::vector<uint16_t>& pids,
                        const std::vector<wire::Digest>& resume = {}) {
  std::string out;
  wire::MsgHeader h;
  h.info1 = wire::info1::kRead;
  h.info3 = wire::info3::kPartitionDone;
  h.record_ttl = 0xFFFFFFFF;
  wire::MessageBuilder b(out, h);
  b.Field(FieldType::kNamespace, "test");
  b.FieldU32(FieldType::kSocketTimeout, 10000);
  b.FieldU64(FieldType::kTaskId, 42);
  if (!pids.empty()) {
    std::string arr;
    for (uint16_t p : pids)
      AppendU16LE(arr, p);
    b.Field(FieldType::kPidArray, arr);
  }
  if (!resume.empty()) {
    std::string arr;
    for (const auto& d : resume)
      arr += wire::DigestBytes(d);
    b.Field(FieldType::kDigestArray, arr);
  }
  b.Finish();
  return out;
}

class DevClusterTest : public ::testing::Test {
 protected:
  void StartCluster(ClusterOptions o) {
    for (int attempt = 0; attempt < 20; ++attempt) {
      o.base_port = PickBasePort();
      auto c = DevCluster::Create(o);
      ASSERT_TRUE(c.ok()) << c.status().ToString();
      cluster_ = std::move(c).value();
      if (cluster_->Start().ok()) return;
      cluster_->Stop();
    }
    FAIL() << "no free ports";
  }
  void SetUp() override {
    ClusterOptions o;
    o.nodes = 3;
    o.racks = {1, 2, 3};
    StartCluster(o);
  }
  void TearDown() override {
    if (cluster_) cluster_->Stop();
  }
  uint16_t port(int i) const { return cluster_->port(i); }
  // Master node of each partition, read through each node's `replicas` answer.
  std::vector<int> Masters() {
    std::vector<int> master(4096, -1);
    for (int n = 0; n < cluster_->node_count(); ++n) {
      if (!cluster_->view()->alive[static_cast<size_t>(n)]) continue;
      RawConnection c(port(n));
      auto parsed = wire::ParseReplicas(c.Info1("replicas"));
      EXPECT_TRUE(parsed.ok());
      for (uint32_t p = 0; p < 4096; ++p) {
        if ((*parsed)[0].columns[0].Test(p)) {
          EXPECT_EQ(master[p], -1) << "partition " << p << " has two masters";
          master[p] = n;
        }
      }
    }
    return master;
  }
  std::unique_ptr<DevCluster> cluster_;
};

TEST_F(DevClusterTest, AnswersTheClientsConnectSequence) {
  RawConnection c(port(0));
  ASSERT_TRUE(c.connected());
  auto a = c.Info({"node", "partition-generation", "build"});
  EXPECT_EQ(a["node"], cluster_->node_id(0));
  EXPECT_LE(a["node"].size(), 19u);
  EXPECT_NE(a["partition-generation"], "-1");
  EXPECT_EQ(a["build"], "8.1.0.0");
  auto peers = wire::ParsePeers(c.Info1("peers-clear-std"));
  ASSERT_TRUE(peers.ok()) << peers.status().ToString();
  ASSERT_EQ(peers->peers.size(), 2u);
  std::set<std::string> ids;
  for (const auto& p : peers->peers) {
    ids.insert(p.node_id);
    EXPECT_NE(p.node_id, cluster_->node_id(0)) << "a node must never list itself";
  }
  EXPECT_EQ(ids, (std::set<std::string>{cluster_->node_id(1), cluster_->node_id(2)}));
  EXPECT_EQ(c.Info1("no-such-command"), "ERROR:4:unrecognized command");
  EXPECT_EQ(c.Info1("user-agent-set:value=MSxjLTcuMQ=="), "ok");
  EXPECT_EQ(c.Info1("user-agent-set:value=MSxjLTcuMQ=="), "ERROR:4:already set");
  EXPECT_EQ(c.Info1("namespace/nope"), "type=unknown");
  EXPECT_EQ(c.Info1("rack-ids"), "test:1");
}

TEST_F(DevClusterTest, EveryPartitionHasOneMasterAndMastersAreEven) {
  auto masters = Masters();
  std::map<int, int> per_node;
  for (int m : masters) {
    ASSERT_GE(m, 0);
    per_node[m]++;
  }
  ASSERT_EQ(per_node.size(), 3u);
  for (auto [node, count] : per_node)
    EXPECT_NEAR(count, 4096 / 3, 2) << node;
  // Replicas live on another rack than their master.
  RawConnection c(port(0));
  auto parsed = wire::ParseReplicas(c.Info1("replicas"));
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ((*parsed)[0].columns.size(), 2u);
  for (uint32_t p = 0; p < 4096; ++p) {
    EXPECT_FALSE((*parsed)[0].columns[0].Test(p) && (*parsed)[0].columns[1].Test(p));
  }
}

TEST_F(DevClusterTest, PutGetGenerationAndExistsPolicies) {
  RawConnection c(port(1));
  auto r = c.Command(PutMessage("demo", 1, 10), false);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].first.result_code, 0);
  EXPECT_EQ(r[0].first.generation, 1u);
  r = c.Command(PutMessage("demo", 1, 11), false);
  EXPECT_EQ(r[0].first.generation, 2u);
  // CREATE_ONLY on an existing record: 5.
  r = c.Command(PutMessage("demo", 1, 12, wire::info2::kCreateOnly), false);
  EXPECT_EQ(r[0].first.result_code, 5);
  // GENERATION_GT with expected 2 == current 2: 3 (strictly greater needed).
  r = c.Command(PutMessage("demo", 1, 12, wire::info2::kGenerationGt, 0, 2), false);
  EXPECT_EQ(r[0].first.result_code, 3);
  r = c.Command(PutMessage("demo", 1, 12, wire::info2::kGenerationGt, 0, 5), false);
  EXPECT_EQ(r[0].first.result_code, 0);
  // UPDATE_ONLY on a missing record: 2.
  r = c.Command(PutMessage("demo", 99, 1, 0, wire::info3::kUpdateOnly), false);
  EXPECT_EQ(r[0].first.result_code, 2);
  r = c.Command(GetMessage("demo", 1), false);
  ASSERT_EQ(r[0].first.result_code, 0);
  wire::MessageView v;
  size_t n;
  ASSERT_TRUE(wire::DecodeMessage(r[0].second, &v, &n).ok());
  ASSERT_EQ(v.ops.size(), 1u);
  EXPECT_EQ(v.ops[0].name, "v");
  EXPECT_EQ(wire::DecodeInteger(v.ops[0].value), 12);
  EXPECT_EQ(v.header.generation, 3u);
  EXPECT_EQ(v.header.record_ttl, 0u);  // never expires
  // TTL 100 s: void time = now + 100.
  r = c.Command(PutMessage("demo", 2, 1, 0, 0, 0, 100), false);
  EXPECT_GT(r[0].first.record_ttl, 0u);
  EXPECT_EQ(c.Command(GetMessage("demo", 404), false)[0].first.result_code, 2);
}

TEST_F(DevClusterTest, ScansWalkDescendingDigestsResumeStrictlyAfterAndMarkForeignPartitions) {
  RawConnection writer(port(0));
  for (int k = 0; k < 3000; ++k) {
    ASSERT_EQ(writer.Command(PutMessage("s", k, k), false)[0].first.result_code, 0);
  }
  auto masters = Masters();
  std::set<std::string> seen;
  std::map<uint32_t, int> per_partition;
  for (int n = 0; n < 3; ++n) {
    std::vector<uint16_t> pids;
    for (uint16_t p = 0; p < 4096; ++p) {
      if (masters[p] == n) pids.push_back(p);
    }
    RawConnection c(port(n));
    auto msgs = c.Command(ScanMessage(pids), true);
    ASSERT_FALSE(msgs.empty());
    EXPECT_TRUE(msgs.back().first.info3 & wire::info3::kLast);
    std::map<uint32_t, std::string> last_digest;
    for (size_t i = 0; i + 1 < msgs.size(); ++i) {
      wire::MessageView v;
      size_t used;
      ASSERT_TRUE(wire::DecodeMessage(msgs[i].second, &v, &used).ok());
      ASSERT_FALSE(v.header.info3 & wire::info3::kPartitionDone) << "own partitions need no marker";
      std::string d(v.FieldData(FieldType::kDigest));
      ASSERT_EQ(d.size(), 20u);
      uint32_t pid = wire::PartitionIdOf(reinterpret_cast<const uint8_t*>(d.data()));
      EXPECT_EQ(masters[pid], n);
      if (last_digest.count(pid)) {
        EXPECT_LT(d, last_digest[pid]) << "descending order";
      }
      last_digest[pid] = d;
      EXPECT_TRUE(seen.insert(d).second) << "record read twice";
      per_partition[pid]++;
      EXPECT_EQ(v.FieldData(FieldType::kNamespace), "test");
      EXPECT_EQ(v.FieldData(FieldType::kSet), "s");
      EXPECT_EQ(v.FieldData(FieldType::kKey).size(), 9u);
    }
  }
  EXPECT_EQ(seen.size(), 3000u);

  // Resume: the records strictly after a digest, no more, no less.
  uint16_t pid = 0;
  while (masters[pid] != 0 || per_partition[pid] < 2)
    ++pid;
  RawConnection c0(port(0));
  auto full = c0.Command(ScanMessage({pid}), true);
  ASSERT_GE(full.size(), 3u);
  wire::MessageView first;
  size_t used;
  ASSERT_TRUE(wire::DecodeMessage(full[0].second, &first, &used).ok());
  auto resumed = c0.Command(
      ScanMessage({}, {wire::DigestFromBytes(first.FieldData(FieldType::kDigest))}), true);
  EXPECT_EQ(resumed.size(), full.size() - 1);

  // A partition this node does not hold: one UNAVAILABLE marker with the pid.
  uint16_t foreign = 0;
  auto owners_of = [&](uint16_t p) {
    RawConnection c(port(0));
    return wire::ParseReplicas(c.Info1("replicas")).value()[0];
  };
  auto mine = owners_of(0);
  while (mine.columns[0].Test(foreign) || mine.columns[1].Test(foreign))
    ++foreign;
  auto marker = c0.Command(ScanMessage({foreign}), true);
  ASSERT_EQ(marker.size(), 2u);
  EXPECT_TRUE(marker[0].first.info3 & wire::info3::kPartitionDone);
  EXPECT_EQ(marker[0].first.result_code, 11);
  EXPECT_EQ(marker[0].first.generation, foreign);
}

TEST_F(DevClusterTest, StoppedNodeMovesItsPartitionsAndChangesGenerations) {
  RawConnection c(port(0));
  auto before = c.Info({"partition-generation", "peers-generation"});
  ASSERT_EQ(c.Info1("dev-fault:cmd=stop;node=" + cluster_->node_id(2)), "ok");
  auto after = c.Info({"partition-generation", "peers-generation"});
  EXPECT_NE(before["partition-generation"], after["partition-generation"]);
  EXPECT_NE(before["peers-generation"], after["peers-generation"]);
  auto peers = wire::ParsePeers(c.Info1("peers-clear-std"));
  ASSERT_TRUE(peers.ok());
  EXPECT_EQ(peers->peers.size(), 1u);
  RawConnection dead(port(2));
  EXPECT_FALSE(dead.connected());
  auto masters = Masters();
  for (int m : masters)
    EXPECT_TRUE(m == 0 || m == 1);
  ASSERT_EQ(c.Info1("dev-fault:cmd=start;node=2"), "ok");
  RawConnection back(port(2));
  EXPECT_TRUE(back.connected());
  EXPECT_EQ(back.Info1("node"), cluster_->node_id(2));
}

TEST_F(DevClusterTest, PerNodeMasterAndReplicaCountsAddUpToTheRecords) {
  RawConnection w(port(0));
  for (int k = 0; k < 600; ++k)
    w.Command(PutMessage("cnt", k, k), false);
  uint64_t masters = 0, proles = 0;
  for (int n = 0; n < 3; ++n) {
    RawConnection c(port(n));
    for (auto& [key, value] : wire::ParseKeyValues(c.Info1("namespace/test"))) {
      if (key == "master_objects") masters += std::stoull(value);
      if (key == "prole_objects") proles += std::stoull(value);
    }
  }
  EXPECT_EQ(masters, 600u);
  EXPECT_EQ(proles, 600u) << "rf 2: one replica per record";
  RawConnection c(port(0));
  EXPECT_NE(c.Info1("sets/test/cnt").find("objects=600:"), std::string::npos);
}

TEST_F(DevClusterTest, TruncateRemovesRecordsOfTheSetOnly) {
  RawConnection c(port(0));
  for (int k = 0; k < 50; ++k) {
    c.Command(PutMessage("a", k, k), false);
    c.Command(PutMessage("b", k, k), false);
  }
  EXPECT_EQ(c.Info1("truncate:namespace=test;set=a"), "ok");
  EXPECT_EQ(c.Command(GetMessage("a", 3), false)[0].first.result_code, 2);
  EXPECT_EQ(c.Command(GetMessage("b", 3), false)[0].first.result_code, 0);
  EXPECT_EQ(c.Info1("truncate-namespace:namespace=test;set=b"), "ERROR:4:unexpected set name");
  EXPECT_EQ(c.Info1("truncate-namespace:namespace=test"), "ok");
  EXPECT_EQ(c.Command(GetMessage("b", 3), false)[0].first.result_code, 2);
}

TEST_F(DevClusterTest, BatchWritesAndReadsAnswerEveryRowByIndex) {
  std::string ops;
  wire::AppendOp(ops, wire::OpType::kWrite, 1, "x", wire::EncodeInteger(5));
  std::vector<wire::BatchRowSpec> rows(10);
  for (uint32_t i = 0; i < 10; ++i) {
    rows[i].index = i;
    rows[i].digest = wire::ComputeDigest("bt", 1, wire::EncodeInteger(i));
    rows[i].header.info2 = wire::info2::kWrite | wire::info2::kRespondAllOps;
    rows[i].ns = "test";
    rows[i].set = "bt";
    rows[i].encoded_ops = ops;
    rows[i].n_ops = 1;
  }
  std::string field;
  wire::EncodeBatchIndex(0x0D, rows, field);
  std::string msg;
  wire::MsgHeader h;
  h.info1 = wire::info1::kBatch;
  wire::MessageBuilder b(msg, h);
  b.Field(FieldType::kBatchIndex, field);
  b.Finish();
  RawConnection c(port(1));
  auto answers = c.Command(msg, true);
  ASSERT_EQ(answers.size(), 11u);
  std::set<uint32_t> indexes;
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(answers[i].first.result_code, 0);
    indexes.insert(answers[i].first.transaction_ttl);
  }
  EXPECT_EQ(indexes.size(), 10u);
  EXPECT_EQ(c.Command(GetMessage("bt", 7), false)[0].first.result_code, 0);
}

TEST_F(DevClusterTest, MalformedRequestsGetAnErrorNotACrash) {
  RawConnection c(port(0));
  std::string garbage("\x02\x03\x00\x00\x00\x00\x00\x05hello", 13);
  c.Send(garbage);
  auto [type, body] = c.Receive();
  EXPECT_EQ(type, 3);
  ASSERT_GE(body.size(), 22u);
  EXPECT_EQ(static_cast<uint8_t>(body[5]), 4);
  // A bad proto header closes the connection; the node keeps serving others.
  RawConnection c2(port(0));
  c2.Send(std::string("\x07\x09\x00\x00\x00\x00\x00\x00", 8));
  EXPECT_EQ(c2.Receive().first, -1);
  RawConnection c3(port(0));
  EXPECT_EQ(c3.Info1("node"), cluster_->node_id(0));
}

TEST_F(DevClusterTest, ScanHonoursMaxRecordsRecordsPerSecondAndBinSelection) {
  RawConnection w(port(0));
  for (int k = 0; k < 400; ++k)
    w.Command(PutMessage("m", k, k), false);
  auto masters = Masters();
  std::vector<uint16_t> pids;
  for (uint16_t p = 0; p < 4096; ++p) {
    if (masters[p] == 0) pids.push_back(p);
  }
  auto scan = [&](uint64_t max_records, uint32_t rps, bool select_missing_bin) {
    std::string msg;
    wire::MsgHeader h;
    h.info1 = wire::info1::kRead;
    h.info3 = wire::info3::kPartitionDone;
    wire::MessageBuilder b(msg, h);
    b.Field(FieldType::kNamespace, "test");
    if (rps) b.FieldU32(FieldType::kRecordsPerSecond, rps);
    std::string arr;
    for (uint16_t p : pids)
      AppendU16LE(arr, p);
    b.Field(FieldType::kPidArray, arr);
    if (max_records) b.FieldU64(FieldType::kMaxRecords, max_records);
    if (select_missing_bin) b.Op(wire::OpType::kRead, 0, "nope", "");
    b.Finish();
    RawConnection c(port(0));
    return c.Command(msg, true).size() - 1;  // minus LAST
  };
  size_t all = scan(0, 0, false);
  EXPECT_GT(all, 50u);
  EXPECT_EQ(scan(17, 0, false), 17u);
  EXPECT_EQ(scan(0, 0, true), 0u) << "records without the selected bins are skipped";
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(scan(0, 200, false), all);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(secs, (static_cast<double>(all) - 1) / 200 * 0.9) << "records-per-second throttles";
}

TEST_F(DevClusterTest, FaultsAddLatencyAndDropScans) {
  RawConnection admin(port(0));
  ASSERT_EQ(admin.Info1("dev-fault:cmd=latency;node=1;ms=150"), "ok");
  RawConnection slow(port(1));
  auto t0 = std::chrono::steady_clock::now();
  slow.Info1("node");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(150));
  ASSERT_EQ(admin.Info1("dev-fault:cmd=clear;node=1"), "ok");
  for (int k = 0; k < 300; ++k)
    admin.Command(PutMessage("d", k, k), false);
  ASSERT_EQ(admin.Info1("dev-fault:cmd=drop-scan;node=0;after=10"), "ok");
  std::vector<uint16_t> all;
  for (uint16_t p = 0; p < 4096; ++p)
    all.push_back(p);
  RawConnection c(port(0));
  c.Send([&] {
    std::string proto;
    size_t off = wire::BeginProto(proto);
    proto += ScanMessage(all);
    wire::EndProto(proto, off, wire::ProtoType::kMessage);
    return proto;
  }());
  size_t records = 0;
  bool saw_last = false;
  while (true) {
    auto [type, body] = c.Receive();
    if (type < 0) break;
    size_t pos = 0;
    while (pos < body.size()) {
      wire::MessageView v;
      size_t used;
      ASSERT_TRUE(wire::DecodeMessage(std::string_view(body).substr(pos), &v, &used).ok());
      pos += used;
      if (v.header.info3 & wire::info3::kLast) saw_last = true;
      if (!(v.header.info3 & (wire::info3::kLast | wire::info3::kPartitionDone))) ++records;
    }
  }
  EXPECT_EQ(records, 10u);
  EXPECT_FALSE(saw_last) << "a dropped scan never sends LAST";
  EXPECT_EQ(admin.Info1("dev-fault:cmd=bogus;node=0"), "ERROR:4:unknown dev-fault cmd 'bogus'");
  EXPECT_EQ(admin.Info1("dev-fault:cmd=stop;node=99"), "ERROR:4:unknown node '99'");
}

class SecureDevClusterTest : public DevClusterTest {
 protected:
  void SetUp() override {
    ClusterOptions o;
    o.nodes = 2;
    o.user = "admin";
    o.password = "secret";
    StartCluster(o);
  }
};

TEST_F(SecureDevClusterTest, NothingWorksBeforeLogin) {
  RawConnection c(port(0));
  EXPECT_EQ(c.Info1("node"), "ERROR:80:not authenticated");
  EXPECT_EQ(c.Command(GetMessage("s", 1), false)[0].first.result_code, 80);
  auto cred = wire::HashPasswordCredential("wrong");
  c.Send(wire::EncodeAdminMessage(
      wire::AdminCommand::kLogin, 0,
      {{wire::AdminField::kUser, "admin"}, {wire::AdminField::kCredential, *cred}}));
  auto [t1, bad] = c.Receive();
  EXPECT_EQ(t1, 2);
  EXPECT_EQ(static_cast<uint8_t>(bad[1]), wire::admin_result::kInvalidCredential);
  cred = wire::HashPasswordCredential("secret");
  c.Send(wire::EncodeAdminMessage(
      wire::AdminCommand::kLogin, 0,
      {{wire::AdminField::kUser, "admin"}, {wire::AdminField::kCredential, *cred}}));
  auto [t2, good] = c.Receive();
  ASSERT_EQ(t2, 2);
  wire::AdminMessage m;
  ASSERT_TRUE(wire::DecodeAdminMessage(good, &m).ok());
  EXPECT_EQ(m.result, 0);
  std::string token(m.Field(wire::AdminField::kSessionToken));
  EXPECT_FALSE(token.empty());
  EXPECT_EQ(c.Info1("node"), cluster_->node_id(0));
  // A second connection authenticates with the session token.
  RawConnection c2(port(1));
  c2.Send(wire::EncodeAdminMessage(
      wire::AdminCommand::kAuthenticate, 0,
      {{wire::AdminField::kUser, "admin"}, {wire::AdminField::kSessionToken, token}}));
  auto [t3, auth] = c2.Receive();
  EXPECT_EQ(static_cast<uint8_t>(auth[1]), 0);
  EXPECT_EQ(c2.Info1("node"), cluster_->node_id(1));
}

TEST(NamespaceSpec, ParsesOptionsAndRejectsNonsense) {
  auto ns = ParseNamespaceSpec("test:rf=2");
  ASSERT_TRUE(ns.ok());
  EXPECT_EQ(ns->replication_factor, 2u);
  auto ns2 = ParseNamespaceSpec("bar:rf=1,default-ttl=60:nsup-period=0");
  ASSERT_TRUE(ns2.ok());
  EXPECT_EQ(ns2->default_ttl, 60u);
  EXPECT_EQ(ns2->nsup_period, 0u);
  EXPECT_FALSE(ParseNamespaceSpec("").ok());
  EXPECT_FALSE(ParseNamespaceSpec("x:rf=0").ok());
  EXPECT_FALSE(ParseNamespaceSpec("x:rf=abc").ok());
  EXPECT_FALSE(ParseNamespaceSpec("x:color=red").ok());
  EXPECT_FALSE(ParseNamespaceSpec("a.b").ok());
}

}  // namespace
}  // namespace absvc::devcluster
