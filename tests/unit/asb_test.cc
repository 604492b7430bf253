// .asb v3.1: byte-exact golden text written from the format description, decoding of
// files as asbackup and backup-go write them, random round trips, and clear errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <deque>
#include <random>

#include "asb/asb.h"
#include "asb/decoder.h"
#include "common/base64.h"
#include "wire/msgpack.h"
#include "wire/particle.h"

namespace absvc::asb {
namespace {

using wire::OpType;
using wire::OpView;

OpView Bin(std::string_view name, uint8_t type, std::string_view value) {
  return OpView{OpType::kRead, type, 0, name, value};
}

// Owns the values that OpViews point into.
std::string_view Keep(std::string value) {
  static std::deque<std::string> store;
  store.push_back(std::move(value));
  return store.back();
}

wire::Digest DigestOf(uint8_t fill) {
  wire::Digest d;
  d.fill(fill);
  return d;
}

std::unique_ptr<Decoder> DecoderFor(std::string text) {
  return std::make_unique<Decoder>(std::make_unique<StringSource>(std::move(text)), "t.asb");
}

TEST(AsbEncoder, WritesHeaderAndGlobalLinesByteExact) {
  std::string out;
  Encoder::AppendHeader(out, "te st", true);
  Encoder::AppendSindex(out, {"test", "", "idx one", 'N', "age", 'N', ""});
  Encoder::AppendSindex(out, {"test", "demo", "idx2", 'L', "tags", 'S', "kQM="});
  Encoder::AppendUdf(out, {'L', "f.lua", "return 1\n"});
  EXPECT_EQ(out,
            "Version 3.1\n# namespace te\\ st\n# first-file\n"
            "* i test  idx\\ one N 1 age N\n"
            "* i test demo idx2 L 1 tags S kQM=\n"
            "* u L f.lua 9 return 1\n\n");
}

TEST(AsbEncoder, WritesEveryBinTypeByteExact) {
  std::string list, map;
  wire::MsgpackWriter(list).ArrayHeader(0);
  wire::MsgpackWriter(map).MapHeader(0);
  std::vector<OpView> bins = {
      Bin("n", 0, ""),
      Bin("b", 17, Keep(wire::EncodeBool(true))),
      Bin("i", 1, Keep(wire::EncodeInteger(-42))),
      Bin("d", 2, Keep(wire::EncodeFloat(0.1))),
      Bin("s", 3, "a b\nc"),
      Bin("g", 23, Keep(wire::EncodeGeoJson("{}"))),
      Bin("bl", 4, Keep(std::string("\x00\xff", 2))),
      Bin("j", 7, "x"),
      Bin("h", 18, "hh"),
      Bin("l", 20, list),
      Bin("m", 19, map),
      Bin("sp ace", 3, ""),
  };
  auto digest = DigestOf(0);
  std::string out;
  Encoder enc;
  ASSERT_TRUE(enc.AppendRecord(out, "test", "demo", std::string("\x03key", 4), digest.data(), 3,
                               123456, bins)
                  .ok());
  EXPECT_EQ(out,
            "+ k S 3 key\n"
            "+ n test\n"
            "+ d AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
            "+ s demo\n"
            "+ g 3\n"
            "+ t 123456\n"
            "+ b 12\n"
            "- N n\n"
            "- Z b T\n"
            "- I i -42\n"
            "- D d 0.10000000000000001\n"
            "- S s 5 a b\nc\n"
            "- G g 2 {}\n"
            "- B bl 4 AP8=\n"
            "- J j 4 eA==\n"
            "- Y h 4 aGg=\n"
            "- L l 4 kA==\n"
            "- M m 4 gA==\n"
            "- S sp\\ ace 0 \n");
  std::string compact;
  Encoder compact_enc({.compact = true});
  ASSERT_TRUE(
      compact_enc
          .AppendRecord(compact, "test", "", {}, digest.data(), 1, 0, {Bin("bl", 4, "raw\nbytes")})
          .ok());
  EXPECT_EQ(compact,
            "+ n test\n+ d AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n+ g 1\n+ t 0\n+ b 1\n"
            "- B! bl 9 raw\nbytes\n");
}

TEST(AsbEncoder, WritesEveryKeyType) {
  auto d = DigestOf(1);
  Encoder enc;
  auto key_line = [&](std::string key) {
    std::string out;
    EXPECT_TRUE(enc.AppendRecord(out, "t", "", key, d.data(), 1, 0, {}).ok());
    return out.substr(0, out.find('\n') + 1);
  };
  EXPECT_EQ(key_line(std::string(1, '\1') + wire::EncodeInteger(-7)), "+ k I -7\n");
  EXPECT_EQ(key_line(std::string(1, '\2') + wire::EncodeFloat(1.5)), "+ k D 1.5\n");
  EXPECT_EQ(key_line(std::string("\3hi", 3)), "+ k S 2 hi\n");
  EXPECT_EQ(key_line(std::string("\4\1\2", 3)), "+ k B 4 AQI=\n");
}

TEST(AsbEncoder, RefusesTypesTheFormatCannotHold) {
  auto d = DigestOf(1);
  std::string out = "keep";
  Encoder enc;
  Status st = enc.AppendRecord(out, "t", "", {}, d.data(), 1, 0, {Bin("v", 16, "xxxx")});
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(out, "keep") << "a refused record leaves nothing behind";
  EXPECT_FALSE(enc.AppendRecord(out, "t", "", {}, d.data(), 1, 0, {Bin("i", 1, "123")}).ok());
}

// Written as asbackup (C) writes: %.17g floats, compact blobs, a 3.0-era-free header.
TEST(AsbDecoder, ReadsAnAsbackupFile) {
  std::string file =
      "Version 3.1\n# namespace test\n# first-file\n"
      "* i test demo age_idx N 1 age N\n"
      "* u L sum.lua 13 return a + b\n\n"
      "+ k I 17\n+ n test\n+ d 7JEZLUt/jONdXXjTS8ply6qqyWA=\n+ s demo\n+ g 2\n+ t 428179113\n+ b "
      "4\n"
      "- I age 30\n- D ratio 1e+20\n- S name 6 Jo\nhn!\n- B! raw 3 \x01\x02\x03\n"
      "+ n test\n+ d AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n+ g 1\n+ t 0\n+ b 1\n- Z ok F\n";
  auto dec = DecoderFor(file);
  ASSERT_TRUE(dec->ReadHeader().ok());
  EXPECT_EQ(dec->ns(), "test");
  EXPECT_TRUE(dec->first_file());
  DecodedRecord r;
  SindexDefinition s;
  UdfDefinition u;
  auto k = dec->Next(&r, &s, &u);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  ASSERT_EQ(*k, ItemKind::kSindex);
  EXPECT_EQ(s, (SindexDefinition{"test", "demo", "age_idx", 'N', "age", 'N', ""}));
  ASSERT_EQ(*dec->Next(&r, &s, &u), ItemKind::kUdf);
  EXPECT_EQ(u.content, "return a + b\n");
  k = dec->Next(&r, &s, &u);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  ASSERT_EQ(*k, ItemKind::kRecord);
  EXPECT_EQ(r.key, std::string(1, '\1') + wire::EncodeInteger(17));
  EXPECT_EQ(r.set, "demo");
  EXPECT_EQ(r.generation, 2);
  EXPECT_EQ(r.void_time, 428179113u);
  ASSERT_EQ(r.bin_count, 4u);
  EXPECT_EQ(wire::DecodeInteger(r.bins[0].value), 30);
  EXPECT_EQ(wire::DecodeFloat(r.bins[1].value), 1e20);
  EXPECT_EQ(r.bins[2].value, "Jo\nhn!");
  EXPECT_EQ(r.bins[3].value, "\x01\x02\x03");
  EXPECT_EQ(r.bins[3].particle_type, 4);
  ASSERT_EQ(*dec->Next(&r, &s, &u), ItemKind::kRecord);
  EXPECT_TRUE(r.key.empty());
  EXPECT_TRUE(r.set.empty());
  EXPECT_EQ(r.bins[0].value, wire::EncodeBool(false));
  EXPECT_EQ(*dec->Next(&r, &s, &u), ItemKind::kEnd);
}

// Written as backup-go writes: shortest floats, NaN/Inf spellings, base64 everything,
// X strings and language blobs that readers must accept.
TEST(AsbDecoder, ReadsABackupGoFile) {
  std::string file =
      "Version 3.1\n# namespace test\n"
      "+ k B 4 AQI=\n+ n test\n+ d AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n+ s s\\ et\n+ g 1\n+ t 5\n+ b 6\n"
      "- D a -2.490355e+26\n- D b NaN\n- D c +Inf\n- X d 4 aGk=\n- J e 4 eA==\n- N f\n";
  auto dec = DecoderFor(file);
  ASSERT_TRUE(dec->ReadHeader().ok());
  EXPECT_FALSE(dec->first_file());
  DecodedRecord r;
  SindexDefinition s;
  UdfDefinition u;
  auto k = dec->Next(&r, &s, &u);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(r.key, std::string("\4\1\2", 3));
  EXPECT_EQ(r.set, "s et");
  EXPECT_EQ(wire::DecodeFloat(r.bins[0].value), -2.490355e+26);
  EXPECT_TRUE(std::isnan(wire::DecodeFloat(r.bins[1].value)));
  EXPECT_TRUE(std::isinf(wire::DecodeFloat(r.bins[2].value)));
  EXPECT_EQ(r.bins[3].value, "hi");
  EXPECT_EQ(r.bins[3].particle_type, 3);
  EXPECT_EQ(r.bins[4].particle_type, 4);
  EXPECT_EQ(r.bins[5].particle_type, 0);
}

TEST(AsbDecoder, ReportsMalformedInputWithFileAndOffset) {
  const char* bad[] = {
      "Version 4.0\n",
      "Version 3.1\n# colour blue\n",
      "Version 3.1\n+ n test\n+ d AAAA\n",
      "Version 3.1\n+ n test\n+ d AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n+ g 70000\n",
      "Version 3.1\n+ n test\n+ d AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n+ g 1\n+ t 0\n+ b 1\n- Q x 1\n",
      "Version 3.1\n+ n test\n+ d AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n+ g 1\n+ t 0\n+ b 1\n- S x 99 "
      "short\n",
      "Version 3.1\n+ n test\n+ d AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n+ g 1\n+ t 0\n+ b 1\n- L x 4 "
      "kg==\n",
      "Version 3.1\n+ n test\n+ d AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n+ g 1\n+ t 0\n+ b 1\n- I x 12a\n",
      "Version 3.1\n+ n test\n+ d AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n+ g 1\n+ t 0\n+ b 1\n- U x 1\n",
      "Version 3.1\n? what\n",
  };
  for (const char* text : bad) {
    auto dec = DecoderFor(text);
    Status st = dec->ReadHeader();
    DecodedRecord r;
    SindexDefinition s;
    UdfDefinition u;
    while (st.ok()) {
      auto k = dec->Next(&r, &s, &u);
      if (!k.ok()) {
        st = k.status();
        break;
      }
      if (*k == ItemKind::kEnd) break;
    }
    ASSERT_FALSE(st.ok()) << text;
    EXPECT_EQ(st.code(), StatusCode::kCorrupt);
    EXPECT_NE(st.message().find("t.asb: byte "), std::string::npos) << st.message();
  }
}

TEST(AsbDecoder, Version30FilesAreNotUnescaped) {
  auto dec = DecoderFor(
      "Version 3.0\n# namespace test\n+ n test\n+ d AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n+ s a\\b\n"
      "+ g 1\n+ t 0\n+ b 0\n");
  ASSERT_TRUE(dec->ReadHeader().ok());
  DecodedRecord r;
  SindexDefinition s;
  UdfDefinition u;
  ASSERT_EQ(*dec->Next(&r, &s, &u), ItemKind::kRecord);
  EXPECT_EQ(r.set, "a\\b");
}

// Random records of every type survive encode -> decode unchanged, in both modes, and
// through a source that hands out one byte at a time.
class OneByteSource : public ByteSource {
 public:
  explicit OneByteSource(std::string d) : data_(std::move(d)) {}
  Result<size_t> Read(char* buf, size_t n) override {
    if (pos_ == data_.size() || n == 0) return size_t{0};
    buf[0] = data_[pos_++];
    return size_t{1};
  }

 private:
  std::string data_;
  size_t pos_ = 0;
};

TEST(AsbRoundTrip, RandomRecordsOfEveryType) {
  std::mt19937_64 rng(42);
  auto random_bytes = [&](size_t max) {
    std::string s(rng() % max, '\0');
    for (auto& c : s)
      c = static_cast<char>(rng());
    return s;
  };
  for (bool compact : {false, true}) {
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<std::string> names, values;
      std::vector<uint8_t> types;
      int nbins = static_cast<int>(rng() % 8);
      for (int b = 0; b < nbins; ++b) {
        std::string name = "b" + std::to_string(b) + (rng() % 3 == 0 ? " \\x" : "");
        uint8_t type;
        std::string value;
        switch (rng() % 9) {
          case 0:
            type = 0;
            break;
          case 1:
            type = 1;
            value = wire::EncodeInteger(static_cast<int64_t>(rng()));
            break;
          case 2: {
            double d;
            uint64_t bits = rng();
            std::memcpy(&d, &bits, 8);
            if (std::isnan(d)) d = 0.5;
            type = 2;
            value = wire::EncodeFloat(d);
            break;
          }
          case 3:
            type = 3;
            value = random_bytes(64);
            break;
          case 4:
            type = 4;
            value = random_bytes(64);
            break;
          case 5:
            type = 17;
            value = wire::EncodeBool(rng() % 2);
            break;
          case 6:
            type = 23;
            value = wire::EncodeGeoJson("{\"type\":\"Point\"}");
            break;
          case 7: {
            type = 20;
            wire::MsgpackWriter w(value);
            w.ArrayHeader(2);
            w.Int(static_cast<int64_t>(rng()));
            w.ParticleString(3, random_bytes(10));
            break;
          }
          default:
            type = 18;
            value = random_bytes(32);
            break;
        }
        names.push_back(name);
        types.push_back(type);
        values.push_back(value);
      }
      std::vector<OpView> bins;
      for (size_t b = 0; b < names.size(); ++b)
        bins.push_back(Bin(names[b], types[b], values[b]));
      std::string key;
      switch (rng() % 5) {
        case 0:
          break;
        case 1:
          key = std::string(1, '\1') + wire::EncodeInteger(static_cast<int64_t>(rng()));
          break;
        case 2:
          key = std::string(1, '\3') + random_bytes(20);
          break;
        case 3:
          key = std::string(1, '\4') + random_bytes(20);
          break;
        default:
          key = std::string(1, '\2') + wire::EncodeFloat(static_cast<double>(rng() % 1000) / 8);
          break;
      }
      wire::Digest d;
      for (auto& x : d)
        x = static_cast<uint8_t>(rng());
      std::string set = rng() % 2 ? "" : "set " + std::to_string(trial);
      uint16_t gen = static_cast<uint16_t>(rng());
      uint32_t void_time = static_cast<uint32_t>(rng());
      std::string text;
      Encoder::AppendHeader(text, "ns\\1", trial == 0);
      Encoder enc({.compact = compact});
      ASSERT_TRUE(enc.AppendRecord(text, "ns\\1", set, key, d.data(), gen, void_time, bins).ok());
      Decoder dec(std::make_unique<OneByteSource>(text), "rt.asb");
      ASSERT_TRUE(dec.ReadHeader().ok());
      EXPECT_EQ(dec.ns(), "ns\\1");
      DecodedRecord r;
      SindexDefinition s;
      UdfDefinition u;
      auto k = dec.Next(&r, &s, &u);
      ASSERT_TRUE(k.ok()) << k.status().ToString() << "\n" << text;
      EXPECT_EQ(r.key, key);
      EXPECT_EQ(r.set, set);
      EXPECT_EQ(r.digest, d);
      EXPECT_EQ(r.generation, gen);
      EXPECT_EQ(r.void_time, void_time);
      ASSERT_EQ(r.bin_count, names.size());
      for (size_t b = 0; b < names.size(); ++b) {
        EXPECT_EQ(r.bins[b].name, names[b]);
        EXPECT_EQ(r.bins[b].particle_type, types[b]);
        EXPECT_EQ(r.bins[b].value, values[b]) << "bin " << b << " type " << int(types[b]);
      }
      EXPECT_EQ(*dec.Next(&r, &s, &u), ItemKind::kEnd);
    }
  }
}

}  // namespace
}  // namespace absvc::asb
