// Which part of a namespace a backup reads: the whole namespace, a partition-list, or
// the partitions mastered (at job start) by a node-list or a rack-list. Kinds are
// mutually exclusive; the slice is frozen once resolved.
#pragma once

#include <string>
#include <vector>

#include "backupset/partition_set.h"
#include "client/client.h"

namespace absvc::backup {

struct Slice {
  std::string partition_list;      // "0,100-50"
  std::vector<std::string> nodes;  // "host:port", "host:tls-name:port" or a node id
  std::vector<uint32_t> racks;

  // Errors when more than one kind is given, or a list repeats an entry.
  Status Validate() const;
  std::string Describe() const;
};

// The partitions the slice covers now. A listed node or rack the cluster does not have
// fails with an error naming it.
Result<backupset::PartitionSet> ResolveSlice(client::Client& client, const std::string& ns,
                                             const Slice& slice);

}  // namespace absvc::backup
