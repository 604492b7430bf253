#include <gtest/gtest.h>

#include "common/bytes.h"
#include "wire/info.h"

namespace absvc::wire {
namespace {

TEST(InfoRequest, FramesCommandsWithNewlines) {
  std::string req = BuildInfoRequest({"node", "partition-generation"});
  EXPECT_EQ(HexEncode(req.substr(0, 8)), "020100000000001a");
  EXPECT_EQ(req.substr(8), "node\npartition-generation\n");
}

TEST(InfoResponse, SplitsNamesAndValuesOnTabs) {
  auto pairs = ParseInfoResponse("node\tBB9\nbuild\t8.1.0.0\nempty\t\nnotab\n");
  ASSERT_EQ(pairs.size(), 4u);
  EXPECT_EQ(pairs[0].name, "node");
  EXPECT_EQ(pairs[0].value, "BB9");
  EXPECT_EQ(pairs[2].value, "");
  EXPECT_EQ(pairs[3].name, "notab");
}

TEST(InfoCommand, ParsesNameArgsAndParams) {
  auto c = ParseInfoCommand("truncate:namespace=test;set=demo;lut=123");
  EXPECT_EQ(c.name, "truncate");
  EXPECT_EQ(c.Param("set").value_or(""), "demo");
  EXPECT_EQ(c.Param("lut").value_or(""), "123");
  EXPECT_FALSE(c.Param("nope").has_value());
  auto s = ParseInfoCommand("sets/test/demo");
  EXPECT_EQ(s.name, "sets");
  ASSERT_EQ(s.args.size(), 2u);
  EXPECT_EQ(s.args[1], "demo");
}

TEST(InfoError, ParsesCodesAndMessages) {
  auto e = ParseInfoError("ERROR:4:unrecognized command");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, 4);
  EXPECT_EQ(e->message, "unrecognized command");
  auto unknown = ParseInfoError("ERROR::msg");
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(unknown->code, 1);
  EXPECT_EQ(unknown->message, "msg");
  EXPECT_FALSE(ParseInfoError("ok").has_value());
  EXPECT_EQ(FormatInfoError(80, "not authenticated"), "ERROR:80:not authenticated");
  EXPECT_EQ(FormatInfoError(1, "x"), "ERROR::x");
}

TEST(InfoLists, SplitsListsAndParsesRackIds) {
  auto items = SplitList("a;b;;c;", ';');
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[2], "c");
  auto racks = ParseRackIds("test:1;bar:20;bad;worse:x");
  EXPECT_EQ(racks.size(), 2u);
  EXPECT_EQ(racks["test"], 1u);
  EXPECT_EQ(racks["bar"], 20u);
}

TEST(Replicas, FormatsAndParsesBitmaps) {
  NamespaceReplicas ns;
  ns.ns = "test";
  ns.columns.resize(2);
  ns.columns[0].Set(0);
  ns.columns[0].Set(4095);
  ns.columns[1].Set(9);
  std::string text = FormatReplicas({ns, ns});
  auto parsed = ParseReplicas(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), 2u);
  const auto& p = (*parsed)[0];
  EXPECT_EQ(p.ns, "test");
  ASSERT_EQ(p.columns.size(), 2u);
  EXPECT_TRUE(p.columns[0].Test(0));
  EXPECT_TRUE(p.columns[0].Test(4095));
  EXPECT_FALSE(p.columns[0].Test(1));
  EXPECT_TRUE(p.columns[1].Test(9));
  EXPECT_EQ(p.columns[0].Count(), 2u);
  // Partition 0 is the most significant bit of byte 0.
  EXPECT_EQ(ns.columns[0].ToBase64().substr(0, 2), "gA");
  EXPECT_EQ(ns.columns[0].ToBase64().size(), 684u);
}

TEST(Replicas, RejectsBadCountsAndBitmaps) {
  EXPECT_FALSE(ParseReplicas("test:0,2,AAAA").ok());
  EXPECT_FALSE(ParseReplicas("test:0,0").ok());
  EXPECT_FALSE(ParseReplicas("test0,1,AAAA").ok());
  EXPECT_FALSE(ParseReplicas("test:0,1,AAAA").ok());
}

TEST(Peers, FormatsTheServersExample) {
  PeersAnswer a;
  a.generation = 7;
  a.default_port = 3000;
  a.peers.push_back({"BB9030011AC4202", "", {{"172.17.0.3", 3000}}});
  a.peers.push_back({"BB9040011AC4202", "", {{"172.17.0.4", 3100}}});
  EXPECT_EQ(FormatPeers(a),
            "7,3000,[[BB9030011AC4202,,[172.17.0.3]],[BB9040011AC4202,,[172.17.0.4:3100]]]");
  PeersAnswer none;
  none.generation = 3;
  EXPECT_EQ(FormatPeers(none), "3,3000,[]");
}

TEST(Peers, ParsesTlsNamesIpv6AndDefaults) {
  auto a = ParsePeers("9,3000,[[A1,node2.example.com,[10.0.0.2:4333,[::1]:3001,[::2]]],[B2,,[h]]]");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->generation, 9u);
  ASSERT_EQ(a->peers.size(), 2u);
  EXPECT_EQ(a->peers[0].tls_name, "node2.example.com");
  ASSERT_EQ(a->peers[0].endpoints.size(), 3u);
  EXPECT_EQ(a->peers[0].endpoints[0].second, 4333);
  EXPECT_EQ(a->peers[0].endpoints[1].first, "::1");
  EXPECT_EQ(a->peers[0].endpoints[1].second, 3001);
  EXPECT_EQ(a->peers[0].endpoints[2].second, 3000);
  EXPECT_EQ(a->peers[1].endpoints[0].first, "h");
}

TEST(Peers, RejectsMalformedAnswers) {
  for (const char* bad : {"", "x,3000,[]", "1,3000", "1,3000,[", "1,3000,[[A,,[h:0]]]",
                          "1,3000,[[A,,[h]]", "1,3000,[]x", "1,3000,[[,,[h]]]"}) {
    EXPECT_FALSE(ParsePeers(bad).ok()) << bad;
  }
}

TEST(InfoText, UserListsKeepEmptyItemsAndTrimSpaces) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(SplitUserList("a, b ,,c", ','), (V{"a", "b", "", "c"}));
  EXPECT_EQ(SplitUserList("", ','), (V{""}));
  EXPECT_EQ(SplitUserList("x,", ','), (V{"x", ""}));
  EXPECT_EQ(SplitList("a,,b", ','), (V{"a", "b"}));
}

}  // namespace
}  // namespace absvc::wire
