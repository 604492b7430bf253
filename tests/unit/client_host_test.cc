#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "client/host.h"
#include "client/node_gate.h"

namespace absvc::client {
namespace {

TEST(Hosts, ParsesEveryForm) {
  auto hosts = ParseHosts("a, b:3100, c:tls-c:4333, [::1]:3001, [fe80::1]");
  ASSERT_TRUE(hosts.ok()) << hosts.status().ToString();
  ASSERT_EQ(hosts->size(), 5u);
  EXPECT_EQ((*hosts)[0], (Host{"a", 3000, ""}));
  EXPECT_EQ((*hosts)[1], (Host{"b", 3100, ""}));
  EXPECT_EQ((*hosts)[2], (Host{"c", 4333, "tls-c"}));
  EXPECT_EQ((*hosts)[3], (Host{"::1", 3001, ""}));
  EXPECT_EQ((*hosts)[4], (Host{"fe80::1", 3000, ""}));
  EXPECT_EQ((*hosts)[2].ToString(), "c:tls-c:4333");
  EXPECT_EQ((*hosts)[3].ToString(), "[::1]:3001");
}

TEST(Hosts, RejectsBadPortsAndEmptyParts) {
  for (const char* bad : {"", "a:", "a:0", "a:70000", "a:x", ":3000", "[::1", "a::3000", "a,,b",
                          "[::1]x", "[[]", "a b:3000", "a:t ls:3000"}) {
    EXPECT_FALSE(ParseHosts(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace absvc::client

namespace absvc::client {
namespace {

// Workers of one job reach nodes in any order: never more than the limit of distinct
// nodes at once, while scans of a node already in share its place.
TEST(NodeGate, NoMoreDistinctNodesThanTheLimitAtOnce) {
  NodeGate gate(2);
  std::mutex mu;
  std::map<std::string, int> inside;
  size_t most = 0;
  std::vector<std::thread> workers;
  for (int w = 0; w < 8; ++w) {
    workers.emplace_back([&, w] {
      for (int i = 0; i < 200; ++i) {
        std::string node = "node" + std::to_string((w + i) % 4);
        gate.Enter(node);
        {
          std::lock_guard lock(mu);
          ++inside[node];
          most = std::max(most, inside.size());
        }
        std::this_thread::yield();
        {
          std::lock_guard lock(mu);
          if (--inside[node] == 0) inside.erase(node);
        }
        gate.Leave(node);
      }
    });
  }
  for (auto& t : workers)
    t.join();
  EXPECT_LE(most, 2u);
  EXPECT_LE(gate.peak(), 2u);
  EXPECT_GE(gate.peak(), 1u);
  // A scan of a node already in goes in at once, even at the limit.
  gate.Enter("a");
  gate.Enter("b");
  std::atomic<bool> entered{false};
  std::thread same([&] {
    gate.Enter("a");
    entered = true;
    gate.Leave("a");
  });
  same.join();
  EXPECT_TRUE(entered.load());
  // A third node waits until one leaves.
  std::atomic<bool> third{false};
  std::thread other([&] {
    gate.Enter("c");
    third = true;
    gate.Leave("c");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(third.load());
  gate.Leave("b");
  other.join();
  EXPECT_TRUE(third.load());
  gate.Leave("a");
}

}  // namespace
}  // namespace absvc::client
