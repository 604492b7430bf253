#include "backup/verify.h"

#include <openssl/evp.h>

#include "backup/backup_metadata.h"
#include "common/bytes.h"

namespace absvc::backup {
namespace {

Result<std::string> Sha256Of(storage::Storage& s, const std::string& path) {
  ABS_ASSIGN_OR_RETURN(auto r, s.OpenReader(path));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::string buf(1 << 20, '\0');
  while (true) {
    auto n = r->Read(buf.data(), buf.size());
    if (!n.ok()) {
      EVP_MD_CTX_free(ctx);
      return n.status();
    }
    if (*n == 0) break;
    EVP_DigestUpdate(ctx, buf.data(), *n);
  }
  unsigned char md[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  return HexEncode(std::string_view(reinterpret_cast<char*>(md), len));
}

std::string Dir(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

std::string Join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

}  // namespace

bool VerifyReport::complete() const {
  if (!problems.empty() || namespaces.empty()) return false;
  for (const auto& [ns, c] : namespaces) {
    if (c.covered.Count() != kPartitions || !c.overlapping.empty()) return false;
  }
  return true;
}

std::string VerifyReport::Format() const {
  std::string out;
  for (const auto& p : problems)
    out += "problem: " + p + "\n";
  if (namespaces.empty()) out += "problem: no backup with a manifest was found\n";
  for (const auto& [ns, c] : namespaces) {
    out += "namespace " + ns + ": " + std::to_string(c.backups) + " backup(s), " +
           std::to_string(c.records) + " records, " + std::to_string(c.covered.Count()) +
           " of 4096 partitions covered\n";
    PartitionSet gaps = c.covered.Complement();
    if (!gaps.empty()) out += "  gaps (start-count): " + gaps.ToList() + "\n";
    if (!c.overlapping.empty()) out += "  overlaps (start-count): " + c.overlapping.ToList() + "\n";
  }
  out += complete() ? "verify: complete\n" : "verify: INCOMPLETE\n";
  return out;
}

Result<VerifyReport> Verify(const std::vector<VerifyLocation>& locations) {
  VerifyReport report;
  for (const auto& loc : locations) {
    ABS_ASSIGN_OR_RETURN(auto objects, loc.storage->List(loc.prefix));
    for (const auto& obj : objects) {
      size_t slash = obj.path.rfind('/');
      std::string name = slash == std::string::npos ? obj.path : obj.path.substr(slash + 1);
      if (name != kManifestFile) continue;
      std::string dir = Dir(obj.path);
      std::string where = loc.storage->Describe() + "/" + dir;
      auto text = loc.storage->ReadAll(obj.path);
      if (!text.ok()) {
        report.problems.push_back(where + ": " + text.status().message());
        continue;
      }
      auto manifest = ParseManifestJson(*text);
      if (!manifest.ok()) {
        report.problems.push_back(where + ": " + manifest.status().message());
        continue;
      }
      auto has_metadata = loc.storage->Exists(Join(dir, kMetadataFile));
      if (!has_metadata.ok() || !*has_metadata) {
        report.problems.push_back(where + ": no metadata.yaml, the backup did not finish");
      }
      for (const auto& f : manifest->files) {
        std::string path = Join(dir, f.name);
        auto info = loc.storage->List(path);
        if (!info.ok() || info->empty()) {
          report.problems.push_back(where + ": file " + f.name + " is missing");
          continue;
        }
        if ((*info)[0].size != f.size) {
          report.problems.push_back(where + ": file " + f.name + " is " +
                                    std::to_string((*info)[0].size) + " bytes, the manifest says " +
                                    std::to_string(f.size));
          continue;
        }
        auto sha = Sha256Of(*loc.storage, path);
        if (!sha.ok()) {
          report.problems.push_back(where + ": file " + f.name + ": " + sha.status().message());
        } else if (*sha != f.sha256) {
          report.problems.push_back(where + ": file " + f.name + " does not match its SHA-256");
        }
      }
      auto& c = report.namespaces[manifest->ns];
      c.overlapping = c.overlapping | (c.covered & manifest->partitions);
      c.covered = c.covered | manifest->partitions;
      c.records += manifest->record_count;
      ++c.backups;
    }
  }
  return report;
}

}  // namespace absvc::backup
