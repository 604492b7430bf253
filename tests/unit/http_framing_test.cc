// RequestFramer: where requests end, fed whole or a byte at a time, and what it refuses;
// and the rate limit's white-list matching.
#include "http/http_framing.h"

#include <gtest/gtest.h>

#include <string>

#include "http/http_api.h"

namespace absvc::service {
namespace {

using State = RequestFramer::State;

RequestFramer::Limits Small() {
  return {256, 1024};
}

// Feeds `bytes` one byte at a time, as a slow client would send them.
RequestFramer FeedSlowly(const std::string& bytes, RequestFramer::Limits limits = Small()) {
  RequestFramer f(limits);
  for (size_t n = 1; n <= bytes.size() && f.state() == State::kNeedMore; ++n)
    f.Feed(std::string_view(bytes).substr(0, n));
  return f;
}

TEST(RequestFramer, FindsTheEndOfARequestWithoutABody) {
  const std::string get = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const auto& f : {FeedSlowly(get + "GET /next"), [&] {
                          RequestFramer whole(Small());
                          whole.Feed(get + "GET /next");
                          return whole;
                        }()}) {
    ASSERT_EQ(f.state(), State::kComplete);
    EXPECT_EQ(f.begin(), 0u);
    EXPECT_EQ(f.end(), get.size());  // the pipelined request after it is left alone
    EXPECT_FALSE(f.content_length());
  }
  RequestFramer partial(Small());
  EXPECT_EQ(partial.Feed(get.substr(0, get.size() - 1)), State::kNeedMore);
  EXPECT_FALSE(partial.head_complete());
}

TEST(RequestFramer, SkipsBlankLinesBeforeARequestAndAcceptsBareLineFeeds) {
  const std::string req = "\r\n\nPOST /x HTTP/1.1\nContent-Length: 3\n\nabcXYZ";
  auto f = FeedSlowly(req);
  ASSERT_EQ(f.state(), State::kComplete);
  EXPECT_EQ(f.begin(), 3u);
  EXPECT_EQ(req.substr(f.begin(), f.end() - f.begin()),
            "POST /x HTTP/1.1\nContent-Length: 3\n\nabc");
}

TEST(RequestFramer, WaitsForTheWholeBodyAndSeesExpectContinue) {
  const std::string head =
      "PUT /v1/config HTTP/1.1\r\ncontent-length: 5\r\nEXPECT: 100-Continue\r\n\r\n";
  RequestFramer f(Small());
  EXPECT_EQ(f.Feed(head + "ab"), State::kNeedMore);
  EXPECT_TRUE(f.head_complete());
  EXPECT_EQ(f.content_length(), 5u);
  EXPECT_TRUE(f.expects_continue());
  EXPECT_EQ(f.Feed(head + "abcde"), State::kComplete);
  EXPECT_EQ(f.end(), head.size() + 5);
  f.Reset();
  EXPECT_EQ(f.state(), State::kNeedMore);
  EXPECT_FALSE(f.head_complete());
}

TEST(RequestFramer, FramesChunkedBodiesWithExtensionsAndTrailers) {
  const std::string req =
      "POST /x HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"
      "4;name=value\r\nWiki\r\nA\r\n0123456789\r\n0\r\nChecksum: 1\r\n\r\n";
  auto f = FeedSlowly(req + "GET /next HTTP/1.1\r\n");
  ASSERT_EQ(f.state(), State::kComplete) << f.error();
  EXPECT_TRUE(f.chunked());
  EXPECT_EQ(f.end(), req.size());
}

struct BadCase {
  std::string request;
  int status;
  std::string reason;
};

TEST(RequestFramer, RefusesWhatItCannotFrameSafely) {
  const std::string post = "POST /x HTTP/1.1\r\n";
  for (const BadCase& c : std::vector<BadCase>{
           {post + "Content-Length: 1025\r\n\r\n", 413, "larger than 1024"},
           // A request line httplib would refuse with a bare 400 on an open connection.
           {"GARBAGE\r\n\r\n", 400, "malformed request line 'GARBAGE'"},
           {"GET /health\r\n\r\n", 400, "malformed request line"},
           {"GET  /health HTTP/1.1\r\n\r\n", 400, "malformed request line"},
           {"G(T /x HTTP/1.1\r\n\r\n", 400, "request method"},
           {"GET /a\x01b HTTP/1.1\r\n\r\n", 400, "request target"},
           {"GET / HTTP/9.9\r\n\r\n", 505, "'HTTP/9.9' is not supported"},
           {"GET / HTTQ/1.1\r\n\r\n", 400, "malformed HTTP version"},
           {post + "Content-Length: -1\r\n\r\n", 400, "not a number"},
           {post + "Content-Length: 1,1\r\n\r\n", 400, "not a number"},
           {post + "Content-Length: 99999999999999999999\r\n\r\n", 400, "not a number"},
           {post + "Content-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, "two different"},
           {post + "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "both"},
           {post + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501, "not supported"},
           {post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
            "two Transfer-Encoding"},
           {post + "Content-Length : 1\r\n\r\n", 400, "malformed header"},
           {post + "NoColon\r\n\r\n", 400, "malformed header"},
           {post + "X: 1\r\n folded\r\n\r\n", 400, "line folding"},
           {post + "X: " + std::string(300, 'a') + "\r\n\r\n", 431, "larger than 256"},
           {std::string(300, '\n'), 431, "larger than 256"},  // blank lines count too
           {post + "Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "not hexadecimal"},
           // Hexadecimal, only far too large: said so, not called "not hexadecimal".
           {post + "Transfer-Encoding: chunked\r\n\r\n7FFFFFFFFFFFFFFF\r\n", 413, "too large"},
           {post + "Transfer-Encoding: chunked\r\n\r\n0000000000000000401\r\n", 413,
            "larger than 1024"},
           {post + "Transfer-Encoding: chunked\r\n\r\n401\r\n", 413, "larger than 1024"},
           {post + "Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", 400, "does not end"},
           {post + "Transfer-Encoding: chunked\r\n\r\n" + std::string(2000, '1'), 400, "too long"},
           {post + "Transfer-Encoding: chunked\r\n\r\n0\r\nT: " + std::string(300, 'x'), 431,
            "trailers"},
       }) {
    for (const auto& f : {FeedSlowly(c.request), [&] {
                            RequestFramer whole(Small());
                            whole.Feed(c.request);
                            return whole;
                          }()}) {
      EXPECT_EQ(f.state(), State::kBad) << c.request.substr(0, 60);
      EXPECT_EQ(f.error_status(), c.status) << f.error();
      EXPECT_NE(f.error().find(c.reason), std::string::npos) << f.error();
      EXPECT_LT(f.error().size(), 200u);  // a long value is quoted short
    }
  }
}

}  // namespace
}  // namespace absvc::service

namespace absvc::service {
namespace {

// http.rate.white-list: addresses and networks of both families, as ABS reads them.
TEST(RateWhiteList, AddressesAndNetworksOfBothFamilies) {
  EXPECT_TRUE(AddressInCidr("10.1.2.3", "10.0.0.0/8"));
  EXPECT_FALSE(AddressInCidr("11.1.2.3", "10.0.0.0/8"));
  EXPECT_TRUE(AddressInCidr("10.1.2.3", "10.1.2.3"));
  EXPECT_TRUE(AddressInCidr("192.168.1.130", "192.168.1.128/25"));
  EXPECT_FALSE(AddressInCidr("192.168.1.127", "192.168.1.128/25"));
  EXPECT_TRUE(AddressInCidr("8.8.8.8", "0.0.0.0/0"));
  EXPECT_TRUE(AddressInCidr("fd00::1", "fd00::/8"));
  EXPECT_FALSE(AddressInCidr("fe80::1", "fd00::/8"));
  EXPECT_TRUE(AddressInCidr("2001:db8::7", "2001:db8::/33"));
  EXPECT_FALSE(AddressInCidr("2001:db8:8000::7", "2001:db8::/33"));
  EXPECT_TRUE(AddressInCidr("::1", "::1"));
  EXPECT_TRUE(AddressInCidr("::1", "::/0"));
  EXPECT_FALSE(AddressInCidr("127.0.0.1", "::/0")) << "another family never matches";
  EXPECT_FALSE(AddressInCidr("::1", "0.0.0.0/0"));
}

}  // namespace
}  // namespace absvc::service
