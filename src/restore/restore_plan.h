// What a restore reads, decided before its first record is written. A backup abs wrote is
// restored from exactly the files its manifest lists, each checked for size now and for
// SHA-256 while it streams; a backup written by asbackup or ABS (no manifest, no abs start
// marker) is restored from every .asb file, without checksums. Unfinished backups, missing
// or resized files are refused up front unless the operator asks for a salvage.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/storage.h"

namespace absvc::restore {

struct PlannedFile {
  storage::ObjectInfo object;
  std::string sha256;        // lowercase hex from the manifest; empty when there is none
  bool definitions = false;  // metadata_*.asb: secondary indexes and UDFs, restored first
  int64_t records = -1;      // records the manifest says it holds; -1 when unknown
  // The manifest's block digests, checked before decoding; none for older backups.
  uint64_t block_size = 0;
  std::vector<std::string> block_sha256{};
};

struct RestorePlan {
  std::vector<PlannedFile> files;
  // Said once each; the restore goes on: files the manifest does not list (ignored),
  // backups without a manifest (not checksummed).
  std::vector<std::string> warnings;
  // Salvage only: each file or backup left out, with the reason.
  std::vector<std::string> skipped;
  uint64_t manifest_records = 0;  // records the planned manifests promise
};

// Plans the restore of `directories` (each searched recursively; every directory holding
// .asb files, a manifest or a start marker is one backup, except that .asb files inside an
// abs backup, in folders its manifest does not cover, are ignored with a warning). Without
// `salvage` it fails with kCorrupt naming every problem: a listed file missing or of the
// wrong size, a backup that did not finish, an unreadable manifest, a manifest and
// metadata.yaml that do not add up (their seal, record and file counts). With `salvage` those are
// skipped and listed, and every file that has a checksum is hashed before the restore starts, so a
// damaged one is skipped before any of its records are written. kNotFound when nothing is there.
Result<RestorePlan> PlanRestore(storage::Storage& storage,
                                const std::vector<std::string>& directories, bool salvage);

}  // namespace absvc::restore
