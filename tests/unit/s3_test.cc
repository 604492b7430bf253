// S3 pieces that need no server: the XML answers (and hostile ones), the shared-file
// parser, and the credential chain's order for the sources that are files and variables.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "scoped_env.h"
#include "storage/cloud/xml.h"
#include "storage/s3/credentials.h"
#include "storage/s3/s3_xml.h"

namespace absvc::storage::s3 {
namespace {

namespace fs = std::filesystem;

TEST(S3Xml, ReadsAListingPageAndRefusesBrokenOnes) {
  auto page = ParseListObjectsV2(
      R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>
<Contents><Key>run/a &amp; b.asb</Key><Size>12</Size><ETag>"x"</ETag></Contents>
<Contents><Key>run/c.asb</Key><Size>0</Size></Contents>
<IsTruncated>true</IsTruncated><NextContinuationToken>tok</NextContinuationToken>
</ListBucketResult>)",
      "listing");
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "run/a & b.asb");
  EXPECT_EQ(page->objects[0].size, 12u);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_token, "tok");

  for (const char* bad :
       {"", "<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>", "<Other/>",
        "<ListBucketResult><Contents>", "not xml at all"}) {
    auto r = ParseListObjectsV2(bad, "listing of s3://b/run");
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kCorrupt) << bad;
    EXPECT_NE(r.status().message().find("listing of s3://b/run"), std::string::npos);
  }
}

TEST(S3Xml, EntityExpansionAndDeepNestingAreRefused) {
  auto laughs = cloud::ParseXml(
      R"(<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><l>&b;</l>)",
      "answer");
  EXPECT_FALSE(laughs.ok());
  EXPECT_NE(laughs.status().message().find("entities"), std::string::npos)
      << laughs.status().ToString();
  std::string deep;
  for (int i = 0; i < 40; ++i)
    deep += "<a>";
  auto nested = cloud::ParseXml(deep, "answer");
  EXPECT_FALSE(nested.ok());
  EXPECT_NE(nested.status().message().find("deeper than 32"), std::string::npos);
}

TEST(S3Xml, ErrorsAndOtherAnswers) {
  auto e = ParseS3Error("<Error><Code>SlowDown</Code><Message>Reduce your rate</Message></Error>");
  EXPECT_EQ(e.code, "SlowDown");
  EXPECT_EQ(e.message, "Reduce your rate");
  EXPECT_TRUE(ParseS3Error("<html>bad gateway</html>").code.empty());
  EXPECT_EQ(*ParseUploadId("<R><UploadId>u-1</UploadId></R>", "x"), "u-1");
  EXPECT_FALSE(ParseUploadId("<R/>", "x").ok());
  auto failed = ParseDeleteErrors(
      "<DeleteResult><Error><Key>k1</Key><Code>AccessDenied</Code></Error></DeleteResult>", "x");
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(*failed, std::vector<std::string>{"k1 (AccessDenied)"});
}

TEST(S3Credentials, SharedFilesParse) {
  auto ini = ParseIni(
      "# comment\n[default]\naws_access_key_id = AK\n; x\n[profile p]\n"
      "region = eu-west-1\ns3 =\n  max_concurrent_requests = 4\n",
      "config");
  ASSERT_TRUE(ini.ok()) << ini.status().ToString();
  EXPECT_EQ((*ini)["default"]["aws_access_key_id"], "AK");
  EXPECT_EQ((*ini)["profile p"]["region"], "eu-west-1");
  EXPECT_FALSE(ParseIni("key = before any section\n", "credentials").ok());
  EXPECT_FALSE(ParseIni("[unclosed\n", "credentials").ok());
  EXPECT_EQ(ParseIsoTime("2015-08-30T12:36:00Z"), 1440938160);
  EXPECT_EQ(ParseIsoTime("yesterday"), -1);
}

using testing::ScopedEnv;

TEST(S3Credentials, TheChainTakesTheBlockThenTheProfileThenTheEnvironment) {
  auto dir = fs::temp_directory_path() / ("abs-aws-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "credentials") << "[default]\naws_access_key_id = DEFAULTKEY\n"
                                        "aws_secret_access_key = defaultsecret\n"
                                        "[named]\naws_access_key_id = NAMEDKEY\n"
                                        "aws_secret_access_key = namedsecret\n"
                                        "aws_session_token = namedtoken\n";
  std::ofstream(dir / "config") << "[profile named]\nregion = ap-south-1\n";
  ScopedEnv env;
  env.Set("AWS_SHARED_CREDENTIALS_FILE", (dir / "credentials").string());
  env.Set("AWS_CONFIG_FILE", (dir / "config").string());
  env.Set("AWS_ACCESS_KEY_ID", "ENVKEY");
  env.Set("AWS_SECRET_ACCESS_KEY", "envsecret");
  env.Set("AWS_EC2_METADATA_DISABLED", "true");

  StorageSpec spec;
  spec.kind = StorageKind::kS3;
  spec.s3_access_key_id = "BLOCKKEY";
  spec.s3_secret_access_key = "blocksecret";
  CredentialsProvider block(spec);
  EXPECT_EQ(block.Get(0)->access_key_id, "BLOCKKEY");
  EXPECT_EQ(block.source(), "storage block");

  spec.s3_access_key_id = spec.s3_secret_access_key = "";
  spec.s3_profile = "named";
  CredentialsProvider named(spec);
  auto c = named.Get(0);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "NAMEDKEY");
  EXPECT_EQ(c->session_token, "namedtoken");
  EXPECT_EQ(named.ProfileRegion(), "ap-south-1");

  spec.s3_profile = "";
  CredentialsProvider from_env(spec);
  EXPECT_EQ(from_env.Get(0)->access_key_id, "ENVKEY");
  env.Set("AWS_ACCESS_KEY_ID", "");
  CredentialsProvider from_default(spec);
  EXPECT_EQ(from_default.Get(0)->access_key_id, "DEFAULTKEY");

  spec.s3_profile = "missing";
  auto none = CredentialsProvider(spec).Get(0);
  EXPECT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("'missing'"), std::string::npos);

  spec.s3_profile = "";
  env.Set("AWS_SHARED_CREDENTIALS_FILE", (dir / "nothing-here").string());
  auto nothing = CredentialsProvider(spec).Get(0);
  EXPECT_FALSE(nothing.ok());
  EXPECT_NE(nothing.status().message().find("no S3 credentials"), std::string::npos)
      << nothing.status().ToString();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace absvc::storage::s3
