// src/client against a 3-node abs-devcluster process (or ABS_TEST_HOSTS): discovery,
// commands, batches, and scans that survive node loss without losing or repeating records.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "client/client.h"
#include "common/bytes.h"
#include "common/cltime.h"
#include "test_certs.h"
#include "test_cluster.h"
#include "wire/expression.h"

namespace absvc::client {
namespace {

using testing::DevClusterArgs;
using testing::TestCluster;

std::string UniqueSet(const std::string& base) {
  return base + std::to_string(::getpid() % 100000) + "_" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 100000);
}

class ClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    DevClusterArgs args;
    args.nodes = 3;
    args.extra = {"--racks", "1,2,3", "--namespace", "test:rf=2"};
    auto c = TestCluster::Start(args);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    cluster_ = std::move(c).value().release();
    auto client = Client::Connect(cluster_->Options());
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(client).value().release();
  }
  static void TearDownTestSuite() {
    delete client_;
    delete cluster_;
  }
  static Client& client() { return *client_; }
  static TestCluster& cluster() { return *cluster_; }

  static void Load(const std::string& set, int n, size_t payload = 64) {
    std::vector<BatchWriteRecord> batch;
    for (int i = 0; i < n; ++i) {
      BatchWriteRecord r;
      r.key = Key::FromUserKey("test", set, Value::Int(i));
      r.send_key = true;
      r.AddBin({"i", Value::Int(i)});
      r.AddBin({"p", Value::Blob(std::string(payload, static_cast<char>('a' + i % 26)))});
      batch.push_back(std::move(r));
      if (batch.size() == 500 || i + 1 == n) {
        ASSERT_TRUE(client().BatchWrite(batch).ok());
        for (const auto& b : batch)
          ASSERT_EQ(b.result, 0);
        batch.clear();
      }
    }
  }

  static inline TestCluster* cluster_ = nullptr;
  static inline Client* client_ = nullptr;
};

TEST_F(ClientTest, DiscoversEveryNodeAndEveryPartitionHasAMaster) {
  auto nodes = client().Nodes();
  if (cluster().is_devcluster()) {
    EXPECT_EQ(nodes.size(), 3u);
  }
  auto table = client().cluster().partitions();
  ASSERT_TRUE(table->namespaces.count("test"));
  for (uint32_t p = 0; p < 4096; ++p)
    ASSERT_NE(table->Master("test", p), nullptr) << p;
  auto stats = client().InfoAll("statistics");
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->size(), nodes.size());
}

TEST_F(ClientTest, PutGetOperateDeleteWithWritePolicies) {
  std::string set = UniqueSet("kv");
  Key key = Key::FromUserKey("test", set, Value::Str("k1"));
  WritePolicy create;
  create.exists = RecordExistsAction::kCreateOnly;
  create.send_key = true;
  ASSERT_TRUE(client().Put(key, {{"a", Value::Int(1)}, {"s", Value::Str("x")}}, create).ok());
  Status again = client().Put(key, {{"a", Value::Int(2)}}, create);
  EXPECT_EQ(again.server_code(), 5) << again.ToString();
  auto rec = client().Get(key);
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  EXPECT_EQ(rec->generation, 1);
  ASSERT_EQ(rec->bins.size(), 2u);
  auto sel = client().Get(key, {"s"});
  ASSERT_TRUE(sel.ok());
  ASSERT_EQ(sel->bins.size(), 1u);
  EXPECT_EQ(sel->bins[0].value, Value::Str("x"));
  WritePolicy gt;
  gt.generation_policy = GenerationPolicy::kExpectGreater;
  gt.generation = 1;
  EXPECT_EQ(client().Put(key, {{"a", Value::Int(3)}}, gt).server_code(), 3);
  gt.generation = 9;
  EXPECT_TRUE(client().Put(key, {{"a", Value::Int(3)}}, gt).ok());
  auto op = client().Operate(
      key, {{wire::OpType::kIncr, "a", Value::Int(4)}, {wire::OpType::kRead, "a", Value::Nil()}});
  ASSERT_TRUE(op.ok()) << op.status().ToString();
  ASSERT_FALSE(op->bins.empty());
  EXPECT_EQ(op->bins.back().value, Value::Int(7));
  WritePolicy ttl;
  ttl.ttl = 1000;
  ASSERT_TRUE(client().Touch(key, ttl).ok());
  auto header = client().GetHeader(key);
  ASSERT_TRUE(header.ok());
  EXPECT_NEAR(static_cast<double>(header->void_time), CitrusleafNowSeconds() + 1000.0, 5);
  auto deleted = client().Delete(key);
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(*deleted);
  EXPECT_FALSE(*client().Delete(key));
  EXPECT_EQ(client().Get(key).status().code(), StatusCode::kNotFound);
  Key other_ns = Key::FromUserKey("no-such-ns", set, Value::Int(1));
  EXPECT_EQ(client().Put(other_ns, {{"a", Value::Int(1)}}).server_code(), 20);
}

TEST_F(ClientTest, BatchWriteAndReadEveryRow) {
  std::string set = UniqueSet("batch");
  Load(set, 1200);
  std::vector<BatchReadRecord> reads;
  for (int i = 0; i < 1210; ++i) {
    BatchReadRecord r;
    r.key = Key::FromUserKey("test", set, Value::Int(i));
    reads.push_back(std::move(r));
  }
  ASSERT_TRUE(client().BatchRead(reads).ok());
  for (int i = 0; i < 1200; ++i) {
    ASSERT_EQ(reads[static_cast<size_t>(i)].result, 0);
    EXPECT_EQ(reads[static_cast<size_t>(i)].record.bins[0].value, Value::Int(i));
  }
  for (int i = 1200; i < 1210; ++i)
    EXPECT_EQ(reads[static_cast<size_t>(i)].result, 2);
  // Generation-greater-than rows report 3 without failing the batch.
  std::vector<BatchWriteRecord> rows(3);
  for (int i = 0; i < 3; ++i) {
    rows[static_cast<size_t>(i)].key = Key::FromUserKey("test", set, Value::Int(i));
    rows[static_cast<size_t>(i)].generation_policy = GenerationPolicy::kExpectGreater;
    rows[static_cast<size_t>(i)].generation = i == 0 ? 5 : 1;
    rows[static_cast<size_t>(i)].AddBin({"i", Value::Int(100)});
  }
  ASSERT_TRUE(client().BatchWrite(rows).ok());
  EXPECT_EQ(rows[0].result, 0);
  EXPECT_EQ(rows[1].result, 3);
  EXPECT_EQ(rows[2].result, 3);
}

struct Seen {
  std::mutex mu;
  std::set<std::string> digests;
  uint64_t duplicates = 0;
  uint64_t total = 0;
  ScanCallback Callback(std::function<void(uint64_t)> each = nullptr) {
    return [this, each](const ScanRecordView& r) {
      uint64_t n;
      {
        std::lock_guard lock(mu);
        if (!digests.insert(std::string(reinterpret_cast<const char*>(r.digest), 20)).second) {
          ++duplicates;
        }
        n = ++total;
      }
      if (each) each(n);
      return Status::Ok();
    };
  }
};

// use-scan-compression: answers asked compressed come compressed (the devcluster answers
// as an Enterprise server; Community servers never compress) and read the same.
TEST_F(ClientTest, ScansAskedToCompressReadCompressedAnswers) {
  std::string set = UniqueSet("zscan");
  Load(set, 3000);
  for (bool compress : {true, false}) {
    ScanRequest req;
    req.ns = "test";
    req.sets = {set};
    req.compress = compress;
    auto cursors = CursorsForRange(0, 4096);
    std::mutex mu;
    std::set<int64_t> keys;
    ScanStats stats;
    Status st = client().ScanPartitions(
        req, cursors,
        [&](const ScanRecordView& r) {
          std::lock_guard lock(mu);
          if (r.bins->size() == 2 && r.user_key.size() == 9)
            keys.insert(static_cast<int64_t>(LoadU64BE(r.user_key.data() + 1)));
          return Status::Ok();
        },
        &stats);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(keys.size(), 3000u) << "compress " << compress;
    const char* hosts = std::getenv("ABS_TEST_HOSTS");
    if (!compress) {
      EXPECT_EQ(stats.compressed_protos.load(), 0u);
    } else if (!hosts || !*hosts) {
      EXPECT_GT(stats.compressed_protos.load(), 0u);
    }
  }
}

TEST_F(ClientTest, ScanReadsEveryRecordOnceWithItsMetadata) {
  std::string set = UniqueSet("scan");
  Load(set, 5000);
  ScanRequest req;
  req.ns = "test";
  req.sets = {set};
  auto cursors = CursorsForRange(0, 4096);
  std::mutex mu;
  std::set<int64_t> keys;
  bool metadata_ok = true;
  ScanStats stats;
  Status st = client().ScanPartitions(
      req, cursors,
      [&](const ScanRecordView& r) {
        std::lock_guard lock(mu);
        metadata_ok = metadata_ok && r.ns == "test" && r.set == set && r.generation == 1 &&
                      r.void_time == 0 && r.bins->size() == 2 && r.user_key.size() == 9;
        keys.insert(static_cast<int64_t>(LoadU64BE(r.user_key.data() + 1)));
        return Status::Ok();
      },
      &stats);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(keys.size(), 5000u);
  EXPECT_EQ(stats.records.load(), 5000u);
  EXPECT_TRUE(metadata_ok);
  for (const auto& c : cursors)
    EXPECT_TRUE(c.done);
  // Bin selection and no-bin scans.
  req.bins = {"i"};
  auto c2 = CursorsForRange(0, 4096);
  uint64_t with_one_bin = 0;
  ASSERT_TRUE(client()
                  .ScanPartitions(req, c2,
                                  [&](const ScanRecordView& r) {
                                    std::lock_guard lock(mu);
                                    if (r.bins->size() == 1 && (*r.bins)[0].name == "i")
                                      ++with_one_bin;
                                    return Status::Ok();
                                  })
                  .ok());
  EXPECT_EQ(with_one_bin, 5000u);
}

TEST_F(ClientTest, AnInterruptedScanResumesFromItsCursors) {
  std::string set = UniqueSet("resume");
  Load(set, 4000);
  ScanRequest req;
  req.ns = "test";
  req.sets = {set};
  req.max_concurrent_nodes = 1;
  auto cursors = CursorsForRange(0, 4096);
  Seen seen;
  std::atomic<int> calls{0};
  Status st = client().ScanPartitions(req, cursors, [&](const ScanRecordView& r) {
    if (++calls > 1500) return Status::Cancelled("stop here");
    return seen.Callback()(r);
  });
  EXPECT_EQ(st.code(), StatusCode::kCancelled);
  EXPECT_EQ(seen.total, 1500u);
  ASSERT_TRUE(client().ScanPartitions(req, cursors, seen.Callback()).ok());
  EXPECT_EQ(seen.duplicates, 0u);
  EXPECT_EQ(seen.digests.size(), 4000u);
}

TEST_F(ClientTest, ModifiedAfterFilterAndSetLists) {
  std::string a = UniqueSet("fa"), b = UniqueSet("fb");
  Load(a, 300);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  int64_t t = UnixNowNanos();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Load(b, 200);
  auto count = [&](ScanRequest req) {
    auto cursors = CursorsForRange(0, 4096);
    Seen seen;
    EXPECT_TRUE(client().ScanPartitions(req, cursors, seen.Callback()).ok());
    return seen.digests.size();
  };
  ScanRequest both;
  both.ns = "test";
  both.sets = {a, b};
  EXPECT_EQ(count(both), 500u);
  ScanRequest after = both;
  after.filter = wire::exp::Ge(wire::exp::LastUpdate(), wire::exp::Int(t));
  EXPECT_EQ(count(after), 200u);
  ScanRequest before = both;
  before.filter = wire::exp::Lt(wire::exp::LastUpdate(), wire::exp::Int(t));
  EXPECT_EQ(count(before), 300u);
}

TEST_F(ClientTest, TruncateASet) {
  std::string set = UniqueSet("trunc");
  Load(set, 100);
  ASSERT_TRUE(client().Truncate("test", set).ok());
  ScanRequest req;
  req.ns = "test";
  req.sets = {set};
  auto cursors = CursorsForRange(0, 4096);
  Seen seen;
  ASSERT_TRUE(client().ScanPartitions(req, cursors, seen.Callback()).ok());
  EXPECT_EQ(seen.total, 0u);
}

// --- fault tests: devcluster only, each on its own cluster ---

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* h = std::getenv("ABS_TEST_HOSTS"); h && *h) {
      GTEST_SKIP() << "fault injection needs abs-devcluster";
    }
  }
};

TEST_F(FaultTest, ANodeStoppedMidScanLosesAndRepeatsNothing) {
  DevClusterArgs args;
  args.extra = {"--namespace", "test:rf=2"};
  auto tc = TestCluster::StartDevCluster(args);
  ASSERT_TRUE(tc.ok()) << tc.status().ToString();
  auto opts = (*tc)->Options();
  auto client = Client::Connect(opts);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  std::vector<BatchWriteRecord> batch;
  for (int i = 0; i < 20000; ++i) {
    BatchWriteRecord r;
    r.key = Key::FromUserKey("test", "loss", Value::Int(i));
    r.AddBin({"p", Value::Blob(std::string(200, 'x'))});
    batch.push_back(std::move(r));
    if (batch.size() == 1000) {
      ASSERT_TRUE((*client)->BatchWrite(batch).ok());
      batch.clear();
    }
  }
  ScanRequest req;
  req.ns = "test";
  req.records_per_second = 40000;  // slow enough that the stop lands mid-scan
  auto cursors = CursorsForRange(0, 4096);
  Seen seen;
  std::thread stopper;
  std::string victim = (*tc)->nodes()[2].id;
  ScanStats stats;
  Status st = (*client)->ScanPartitions(req, cursors, seen.Callback([&](uint64_t n) {
    if (n == 3000) {
      stopper = std::thread([&] { (void)(*tc)->RawInfo(0, "dev-fault:cmd=stop;node=" + victim); });
    }
  }),
                                        &stats);
  if (stopper.joinable()) stopper.join();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(seen.duplicates, 0u);
  EXPECT_EQ(seen.digests.size(), 20000u);
  EXPECT_GT(stats.rounds.load(), 1u) << "the stop must have forced a retry round";
  auto nodes = (*client)->Nodes();
  EXPECT_EQ(nodes.size(), 2u);
}

TEST_F(FaultTest, ADroppedScanConnectionResumesByCursor) {
  auto tc = TestCluster::StartDevCluster({});
  ASSERT_TRUE(tc.ok());
  auto client = Client::Connect((*tc)->Options());
  ASSERT_TRUE(client.ok());
  std::vector<BatchWriteRecord> batch;
  for (int i = 0; i < 3000; ++i) {
    BatchWriteRecord r;
    r.key = Key::FromUserKey("test", "drop", Value::Int(i));
    r.AddBin({"i", Value::Int(i)});
    batch.push_back(std::move(r));
  }
  ASSERT_TRUE((*client)->BatchWrite(batch).ok());
  for (int n = 0; n < 3; ++n) {
    ASSERT_EQ(
        *(*tc)->RawInfo(0, "dev-fault:cmd=drop-scan;node=" + std::to_string(n) + ";after=200"),
        "ok");
  }
  ScanRequest req;
  req.ns = "test";
  auto cursors = CursorsForRange(0, 4096);
  Seen seen;
  ScanStats stats;
  ASSERT_TRUE((*client)->ScanPartitions(req, cursors, seen.Callback(), &stats).ok());
  EXPECT_EQ(seen.duplicates, 0u);
  EXPECT_EQ(seen.digests.size(), 3000u);
  EXPECT_GE(stats.rounds.load(), 2u);
}

TEST_F(FaultTest, LoginRequiredAndWrongPasswordAndCredentialsWithoutSecurity) {
  DevClusterArgs args;
  args.nodes = 2;
  args.extra = {"--user", "admin", "--password", "secret"};
  auto tc = TestCluster::StartDevCluster(args);
  ASSERT_TRUE(tc.ok());
  auto opts = (*tc)->Options();
  opts.user = "admin";
  opts.password = "wrong";
  auto bad = Client::Connect(opts);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("invalid user or password"), std::string::npos)
      << bad.status().ToString();
  opts.user.clear();
  opts.password.clear();
  auto anonymous = Client::Connect(opts);
  ASSERT_FALSE(anonymous.ok());
  EXPECT_NE(anonymous.status().message().find("login"), std::string::npos)
      << anonymous.status().ToString();
  opts.user = "admin";
  opts.password = "secret";
  auto good = Client::Connect(opts);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ((*good)->Nodes().size(), 2u);
  Key key = Key::FromUserKey("test", "sec", Value::Int(1));
  ASSERT_TRUE((*good)->Put(key, {{"a", Value::Int(1)}}).ok());

  auto plain = TestCluster::StartDevCluster({});
  ASSERT_TRUE(plain.ok());
  auto popts = (*plain)->Options();
  popts.user = "admin";
  popts.password = "secret";
  auto mismatch = Client::Connect(popts);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.status().message().find("no security enabled"), std::string::npos)
      << mismatch.status().ToString();
}

// EXTERNAL and PKI logins as a server with such users expects them: the devcluster's
// --auth-mode external checks the clear-text password (an LDAP user has no credential on
// the server), --auth-mode pki a verified client certificate whose CN is the user.
TEST_F(FaultTest, ExternalAndPkiLoginsAsTheServerExpectsThem) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("abs-auth-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  testing::TestCa ca(dir.string(), "abs-ca");
  auto node = ca.Issue("node", "abs-node");
  auto operator_cert = ca.Issue("operator", "operator");
  auto someone = ca.Issue("someone", "someone-else");
  testing::TestCa other(dir.string(), "other-ca");
  auto forged = other.Issue("forged", "operator");
  auto start = [&](const std::string& mode) {
    DevClusterArgs args;
    args.nodes = 2;
    args.extra = {"--tls-cert", node.cert,  "--tls-key",  node.key,  "--tls-ca",    ca.cert_file(),
                  "--user",     "operator", "--password", "ldap-pw", "--auth-mode", mode};
    auto tc = TestCluster::StartDevCluster(args);
    EXPECT_TRUE(tc.ok()) << tc.status().ToString();
    return tc.ok() ? std::move(tc).value() : nullptr;
  };
  auto tls_options = [&](TestCluster& tc) {
    auto o = tc.Options();
    o.tls.enabled = true;
    o.tls.ca_file = ca.cert_file();
    for (auto& seed : o.seeds)
      seed.tls_name = "abs-node";
    return o;
  };

  auto external = start("external");
  ASSERT_TRUE(external);
  auto opts = tls_options(*external);
  opts.user = "operator";
  opts.password = "ldap-pw";
  opts.auth_mode = AuthMode::kExternal;
  auto client = Client::Connect(opts);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_EQ((*client)->Nodes().size(), 2u);
  ASSERT_TRUE(
      (*client)->Put(Key::FromUserKey("test", "ext", Value::Int(1)), {{"a", Value::Int(1)}}).ok());
  // The same user logging in as an internal one has no credential on the server.
  opts.auth_mode = AuthMode::kInternal;
  auto internal = Client::Connect(opts);
  ASSERT_FALSE(internal.ok());
  EXPECT_NE(internal.status().message().find("refused: invalid user or password"),
            std::string::npos)
      << internal.status().ToString();
  opts.auth_mode = AuthMode::kExternal;
  opts.password = "wrong";
  EXPECT_FALSE(Client::Connect(opts).ok());
  // Never the clear-text password over a plain connection, unless the operator said so.
  auto plain = external->Options();
  plain.user = "operator";
  plain.password = "ldap-pw";
  plain.auth_mode = AuthMode::kExternal;
  auto refused = Client::Connect(plain);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("it needs TLS"), std::string::npos)
      << refused.status().ToString();

  auto pki = start("pki");
  ASSERT_TRUE(pki);
  auto popts = tls_options(*pki);
  popts.auth_mode = AuthMode::kPki;
  popts.tls.cert_file = operator_cert.cert;
  popts.tls.key_file = operator_cert.key;
  client = Client::Connect(popts);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  ASSERT_TRUE(
      (*client)->Put(Key::FromUserKey("test", "pki", Value::Int(1)), {{"a", Value::Int(1)}}).ok());
  // A certificate naming another user is refused by the login; one from another CA by
  // the handshake; none at all is refused before anything is sent.
  popts.tls.cert_file = someone.cert;
  popts.tls.key_file = someone.key;
  auto stranger = Client::Connect(popts);
  ASSERT_FALSE(stranger.ok());
  EXPECT_NE(stranger.status().message().find("with its client certificate (PKI) refused"),
            std::string::npos)
      << stranger.status().ToString();
  popts.tls.cert_file = forged.cert;
  popts.tls.key_file = forged.key;
  popts.connect_timeout = std::chrono::milliseconds(2000);
  EXPECT_FALSE(Client::Connect(popts).ok());
  popts.tls.cert_file.clear();
  popts.tls.key_file.clear();
  auto none = Client::Connect(popts);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("PKI logs in with the TLS client certificate"),
            std::string::npos)
      << none.status().ToString();
  fs::remove_all(dir);
}

TEST_F(FaultTest, TlsVerifiesTheTlsNameAndNeverFallsBackToPlainText) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("abs-tls-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string d = dir.string();
  std::string script =
      "cd " + d +
      " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem "
      "-days 2 -subj /CN=abs-ca 2>/dev/null && openssl req -newkey rsa:2048 -nodes -keyout "
      "node.key "
      "-out node.csr -subj /CN=abs-node 2>/dev/null && printf 'subjectAltName=DNS:abs-node\\n' > "
      "ext "
      "&& openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out node.pem "
      "-days 2 -extfile ext 2>/dev/null";
  ASSERT_EQ(std::system(script.c_str()), 0);
  DevClusterArgs args;
  args.extra = {"--tls-cert", d + "/node.pem", "--tls-key", d + "/node.key"};
  auto tc = TestCluster::StartDevCluster(args);
  ASSERT_TRUE(tc.ok()) << tc.status().ToString();
  auto opts = (*tc)->Options();
  opts.seeds.resize(1);
  opts.tls.enabled = true;
  opts.tls.ca_file = d + "/ca.pem";
  auto client = Client::Connect(opts);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_EQ((*client)->Nodes().size(), 3u);
  Key key = Key::FromUserKey("test", "tls", Value::Int(1));
  ASSERT_TRUE((*client)->Put(key, {{"a", Value::Str("s")}}).ok());
  ScanRequest req;
  req.ns = "test";
  auto cursors = CursorsForRange(0, 4096);
  Seen seen;
  ASSERT_TRUE((*client)->ScanPartitions(req, cursors, seen.Callback()).ok());
  EXPECT_EQ(seen.total, 1u);

  auto wrong = opts;
  wrong.seeds[0].tls_name = "someone-else";
  auto bad = Client::Connect(wrong);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("TLS"), std::string::npos) << bad.status().ToString();
  auto plain = opts;
  plain.tls.enabled = false;
  plain.connect_timeout = std::chrono::milliseconds(1000);
  plain.socket_timeout = std::chrono::milliseconds(1000);
  EXPECT_FALSE(Client::Connect(plain).ok());
  fs::remove_all(dir);
}

TEST_F(FaultTest, NodeLossAndArrivalAreSeenWithinOneTend) {
  auto tc = TestCluster::StartDevCluster({});
  ASSERT_TRUE(tc.ok());
  auto opts = (*tc)->Options();
  opts.tend_interval = std::chrono::hours(1);  // only the explicit tends below run
  auto client = Client::Connect(opts);
  ASSERT_TRUE(client.ok());
  ASSERT_EQ((*client)->Nodes().size(), 3u);
  const std::string victim = (*tc)->nodes()[1].id;
  ASSERT_EQ(*(*tc)->RawInfo(0, "dev-fault:cmd=stop;node=" + victim), "ok");
  ASSERT_TRUE((*client)->cluster().TendNow().ok());
  EXPECT_EQ((*client)->Nodes().size(), 2u);
  EXPECT_EQ((*client)->cluster().FindNode(victim), nullptr);
  auto table = (*client)->cluster().partitions();
  for (uint32_t p = 0; p < 4096; ++p) {
    auto m = table->Master("test", p);
    ASSERT_NE(m, nullptr);
    ASSERT_NE(m->name(), victim);
  }
  ASSERT_EQ(*(*tc)->RawInfo(0, "dev-fault:cmd=start;node=" + victim), "ok");
  ASSERT_TRUE((*client)->cluster().TendNow().ok());
  EXPECT_EQ((*client)->Nodes().size(), 3u);
  EXPECT_NE((*client)->cluster().FindNode(victim), nullptr);
}

TEST_F(FaultTest, PreferRacksReadsFromTheRackReplicaAndStillReadsEverything) {
  DevClusterArgs args;
  args.extra = {"--racks", "1,2,3", "--namespace", "test:rf=3"};
  auto tc = TestCluster::StartDevCluster(args);
  ASSERT_TRUE(tc.ok());
  auto opts = (*tc)->Options();
  opts.prefer_racks = {2};
  auto client = Client::Connect(opts);
  ASSERT_TRUE(client.ok());
  auto table = (*client)->cluster().partitions();
  const std::string rack2 = (*tc)->nodes()[1].id;
  for (uint32_t p = 0; p < 4096; ++p) {
    // With rf=3 on three racks every node holds every partition.
    ASSERT_EQ(table->ReadNode("test", p, opts.prefer_racks)->name(), rack2) << p;
  }
  std::vector<BatchWriteRecord> batch;
  for (int i = 0; i < 2000; ++i) {
    BatchWriteRecord r;
    r.key = Key::FromUserKey("test", "racks", Value::Int(i));
    r.AddBin({"i", Value::Int(i)});
    batch.push_back(std::move(r));
  }
  BatchPolicy small;
  small.batch_size = 64;
  small.max_outstanding = 4;
  ASSERT_TRUE((*client)->BatchWrite(batch, small).ok());
  for (const auto& r : batch)
    ASSERT_EQ(r.result, 0);
  ScanRequest req;
  req.ns = "test";
  auto cursors = CursorsForRange(0, 4096);
  Seen seen;
  ASSERT_TRUE((*client)->ScanPartitions(req, cursors, seen.Callback()).ok());
  EXPECT_EQ(seen.digests.size(), 2000u);
  EXPECT_EQ(seen.duplicates, 0u);
}

TEST_F(FaultTest, PoolsCapConnectionsAndReapIdleOnes) {
  auto tc = TestCluster::StartDevCluster({});
  ASSERT_TRUE(tc.ok());
  auto opts = (*tc)->Options();
  opts.max_connections_per_node = 2;
  opts.acquire_timeout = std::chrono::milliseconds(200);
  opts.idle_timeout = std::chrono::milliseconds(100);
  opts.tend_interval = std::chrono::hours(1);
  auto client = Client::Connect(opts);
  ASSERT_TRUE(client.ok());
  auto node = (*client)->Nodes()[0];
  {
    auto a = node->Acquire();
    auto b = node->Acquire();
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(node->open_connections(), 2u);
    auto c = node->Acquire();
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), StatusCode::kUnavailable) << c.status().ToString();
    a->Keep();
    b->Keep();
  }
  EXPECT_EQ(node->open_connections(), 2u) << "kept connections return to the pool";
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  ASSERT_TRUE((*client)->cluster().TendNow().ok());
  EXPECT_EQ(node->open_connections(), 1u) << "idle connections are closed; the tend opened one";
}

// A "server" that answers every request with garbage: clear errors, no hang, no crash.
TEST(GarbageServer, ConnectFailsWithAnErrorNamingTheNode) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len);
  ::listen(listener, 8);
  uint16_t port = ntohs(a.sin_port);
  std::atomic<bool> stop{false};
  std::thread server([&] {
    int round = 0;
    while (!stop) {
      int fd = ::accept(listener, nullptr, nullptr);
      if (fd < 0) return;
      char buf[512];
      ::recv(fd, buf, sizeof buf, 0);
      // Alternate: a bogus proto header, then a valid header promising more than is sent.
      std::string reply = round++ % 2 == 0
                              ? std::string("\x09\x09garbage!", 10)
                              : std::string("\x02\x01\x00\x00\x00\x00\x10\x00node", 12);
      ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
      ::close(fd);
    }
  });
  ClientOptions o;
  o.seeds = {{"127.0.0.1", port, ""}};
  o.connect_timeout = std::chrono::milliseconds(1000);
  for (int i = 0; i < 2; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto c = Client::Connect(o);
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.status().message().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
        << c.status().ToString();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  }
  stop = true;
  ::shutdown(listener, SHUT_RDWR);
  ::close(listener);
  server.join();
}

}  // namespace
}  // namespace absvc::client
