#include <gtest/gtest.h>

#include "client/host.h"

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
