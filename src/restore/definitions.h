// Applies what a backup holds besides records: secondary indexes and UDF modules.
#pragma once

#include "asb/decoder.h"
#include "client/client.h"
#include "restore/counters.h"
#include "restore/record_transform.h"

namespace absvc::restore {

class DefinitionApplier {
 public:
  DefinitionApplier(client::Client& client, const RecordTransform& transform,
                    RestoreCounters& counters)
      : client_(client), transform_(transform), counters_(counters) {}

  // Creates the index in its target namespace; an index that already exists alike is
  // fine, any other refusal is an error naming the index.
  Status CreateSindex(const asb::SindexDefinition& sindex);
  Status PutUdf(const asb::UdfDefinition& udf);

 private:
  client::Client& client_;
  const RecordTransform& transform_;
  RestoreCounters& counters_;
};

}  // namespace absvc::restore
