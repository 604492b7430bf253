// The storage contract as parameterized tests: every backend must pass all of them. A
// test binary includes this once and instantiates StorageContract with its backends
// (unit tests: local and memory; integration tests: the cloud backends on emulators).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "storage/storage.h"

namespace absvc::storage {

struct Backend {
  std::string name;
  // A fresh, empty storage for one test.
  std::function<std::unique_ptr<Storage>(const std::string& test)> open;
};

inline void PrintTo(const Backend& b, std::ostream* os) {
  *os << b.name;
}

inline std::string Read(Storage& s, const std::string& path, uint64_t offset = 0) {
  auto r = s.OpenReaderAt(path, offset);
  if (!r.ok()) return "<" + r.status().ToString() + ">";
  std::string out;
  char buf[7];  // small reads: readers must keep their place
  while (true) {
    auto n = (*r)->Read(buf, sizeof buf);
    if (!n.ok()) return "<" + n.status().ToString() + ">";
    if (*n == 0) return out;
    out.append(buf, *n);
  }
}

inline Status Put(Storage& s, const std::string& path, const std::string& data) {
  ABS_ASSIGN_OR_RETURN(auto w, s.OpenWriter(path));
  for (size_t i = 0; i < data.size(); i += 1000)
    ABS_RETURN_IF_ERROR(w->Write(std::string_view(data).substr(i, 1000)));
  return w->Close();
}

inline std::vector<std::string> Paths(Storage& s, const std::string& prefix) {
  std::vector<std::string> out;
  auto l = s.List(prefix);
  EXPECT_TRUE(l.ok()) << l.status().ToString();
  if (l.ok()) {
    for (const auto& o : *l)
      out.push_back(o.path);
  }
  return out;
}

class StorageContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : test)
      if (c == '/') c = '-';
    storage_ = GetParam().open(test);
    ASSERT_TRUE(storage_);
  }
  Storage& s() { return *storage_; }
  std::unique_ptr<Storage> storage_;
};

TEST_P(StorageContract, WhatIsWrittenReadsBackWholeAndFromAnOffset) {
  std::string data;
  for (int i = 0; i < 5000; ++i)
    data += static_cast<char>('a' + i % 26);
  ASSERT_TRUE(Put(s(), "dir/data.asb", data).ok());
  EXPECT_EQ(Read(s(), "dir/data.asb"), data);
  EXPECT_EQ(Read(s(), "dir/data.asb", 4321), data.substr(4321));
  auto all = s().ReadAll("dir/data.asb");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, data);
  auto listed = s().List("dir");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].path, "dir/data.asb");
  EXPECT_EQ((*listed)[0].size, data.size());
}

TEST_P(StorageContract, NothingIsVisibleBeforeClose) {
  auto w = s().OpenWriter("d/x.asb");
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("partial").ok());
  EXPECT_TRUE(Paths(s(), "").empty());
  EXPECT_FALSE(*s().Exists("d/x.asb"));
  EXPECT_EQ(s().OpenReader("d/x.asb").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_TRUE(*s().Exists("d/x.asb"));
}

TEST_P(StorageContract, ListsSortedUnderAPrefixAsADirectory) {
  // (An object and a directory of one name cannot both exist on disk: not asked here.)
  for (const char* p : {"a/b/2", "a/b/1", "a/bc", "a/c", "z"})
    ASSERT_TRUE(s().PutAtomic(p, p).ok());
  EXPECT_EQ(Paths(s(), "a/b"), (std::vector<std::string>{"a/b/1", "a/b/2"}));
  EXPECT_EQ(Paths(s(), "a/b/"), (std::vector<std::string>{"a/b/1", "a/b/2"}));
  EXPECT_EQ(Paths(s(), "a/c"), (std::vector<std::string>{"a/c"}));
  EXPECT_EQ(Paths(s(), ""), (std::vector<std::string>{"a/b/1", "a/b/2", "a/bc", "a/c", "z"}));
  EXPECT_TRUE(Paths(s(), "nothing").empty());
}

TEST_P(StorageContract, RemovesOneObjectOrEverythingUnderADirectory) {
  for (const char* p : {"r/1/a", "r/1/b", "r/2/a", "r/1x"})
    ASSERT_TRUE(s().PutAtomic(p, "x").ok());
  ASSERT_TRUE(s().Remove("r/2/a").ok());
  EXPECT_FALSE(*s().Exists("r/2/a"));
  ASSERT_TRUE(s().Remove("r/1/").ok());
  EXPECT_EQ(Paths(s(), ""), (std::vector<std::string>{"r/1x"}));
  EXPECT_TRUE(s().Remove("r/never").ok()) << "removing what is gone is not an error";
}

TEST_P(StorageContract, CreateExclusiveHasExactlyOneWinner) {
  std::atomic<int> winners{0}, errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto won = s().CreateExclusive("claims/run.json", "claim " + std::to_string(i));
      if (!won.ok()) ++errors;
      if (won.ok() && *won) ++winners;
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(errors.load(), 0);
  std::string claim = Read(s(), "claims/run.json");
  EXPECT_EQ(claim.rfind("claim ", 0), 0u) << claim;
  auto again = s().CreateExclusive("claims/run.json", "late");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_EQ(Read(s(), "claims/run.json"), claim);
}

TEST_P(StorageContract, PutAtomicReplacesWhole) {
  ASSERT_TRUE(s().PutAtomic("meta.yaml", "first version, longer").ok());
  ASSERT_TRUE(s().PutAtomic("meta.yaml", "second").ok());
  EXPECT_EQ(*s().ReadAll("meta.yaml"), "second");
}

TEST_P(StorageContract, MissingObjectsAndBadPathsAreNamed) {
  auto missing = s().OpenReader("no/such.asb");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("no/such.asb"), std::string::npos);
  for (const char* bad : {"../escape", "/absolute", "a//b", "a/../b"}) {
    EXPECT_EQ(s().OpenWriter(bad).status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(s().OpenReader(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(s().Probe().ok());
}

}  // namespace absvc::storage
