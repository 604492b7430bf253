#include "service/coverage.h"

#include <algorithm>
#include <map>
#include <optional>

#include "backup/verify.h"
#include "backupset/catalog.h"
#include "backupset/metadata.h"
#include "common/json_fields.h"
#include "service/ownership.h"

namespace absvc::service {

namespace {

using backupset::kPartitions;
using backupset::PartitionSet;

struct Run {
  int64_t timestamp_ms = 0;
  std::string dir;  // <routine>/<backup|incremental>/<run>
  std::vector<storage::ObjectInfo> objects;
};

// The run's claim, when it has one (ABS's own backups have none).
Json ReadClaim(storage::Storage& storage, const std::string& run_dir) {
  auto text = storage.ReadAll(run_dir + "/abs-run.json");
  if (!text.ok()) return Json::object();
  Json j = Json::parse(*text, nullptr, false);
  return j.is_object() ? j : Json::object();
}

Json RunJson(const Run& run, const Json& claim, const backup::VerifyReport& report, int64_t now_ms,
             int64_t lease_ms) {
  bool finished = true, any = false;
  for (const auto& b : report.backups) {
    if (b.directory.rfind(run.dir + "/", 0) != 0) continue;
    any = true;
    finished = finished && b.finished;
  }
  // A run with no manifest anywhere and no claim was not written by abs (ABS writes
  // neither); otherwise an unfinished run is running until its owner is provably gone.
  std::string state = "finished";
  if (!any && claim.empty()) {
    state = "no-manifest";
  } else if (!any || !finished) {
    state =
        OwnerIsGone(claim, now_ms, lease_ms, /*ownerless_is_gone=*/true) ? "abandoned" : "running";
  }
  Json j = {{"path", run.dir},
            {"timestamp", run.timestamp_ms},
            {"start-time", backupset::FormatRfc3339Millis(run.timestamp_ms)},
            {"state", state},
            {"slice", StringField(claim, "slice")}};
  if (claim.contains("owner") && claim["owner"].is_object()) {
    Owner owner = Owner::FromJson(claim["owner"]);
    j["owner"] = owner.Describe();
  }
  return j;
}

Json SetJson(storage::Storage& storage, const std::vector<const Run*>& runs, int64_t now_ms,
             int64_t lease_ms) {
  std::vector<backup::VerifyLocation> locations;
  for (const Run* r : runs)
    locations.push_back({&storage, r->dir, &r->objects});
  Json set = {{"timestamp", runs.front()->timestamp_ms},
              {"start-time", backupset::FormatRfc3339Millis(runs.front()->timestamp_ms)}};
  auto report = backup::Verify(locations, backup::VerifyDepth::kManifests);
  if (!report.ok()) {
    set["verdict"] = "unreadable";
    set["problems"] = Json::array({report.status().message()});
    return set;
  }
  Json run_list = Json::array();
  bool in_progress = false;
  // What running runs are reading, by namespace, from their claims: partition-list
  // slices and whole namespaces (a node or rack slice resolves only inside its job).
  std::map<std::string, PartitionSet> reading;
  std::vector<std::string> running_dirs;
  for (const Run* r : runs) {
    Json claim = ReadClaim(storage, r->dir);
    Json rj = RunJson(*r, claim, *report, now_ms, lease_ms);
    if (rj["state"] == "running") {
      in_progress = true;
      running_dirs.push_back(r->dir);
      std::string slice = StringField(claim, "slice");
      std::optional<PartitionSet> parts;
      if (slice.empty()) {
        parts = PartitionSet::All();
      } else if (slice.rfind("partition-list:", 0) == 0) {
        auto parsed = PartitionSet::ParseList(slice.substr(15));
        if (parsed.ok()) parts = *parsed;
      }
      if (parts && claim.contains("namespaces") && claim["namespaces"].is_array()) {
        for (const auto& ns : claim["namespaces"]) {
          if (!ns.is_string()) continue;
          PartitionSet& set = reading[ns.get<std::string>()];
          set = set | *parts;
        }
      }
    }
    run_list.push_back(std::move(rj));
  }
  set["verdict"] = in_progress ? "in-progress" : backup::VerdictName(report->Verdict());
  set["in-progress"] = in_progress;
  set["runs"] = std::move(run_list);
  // A running run has no manifest yet: not a problem while it runs.
  auto of_running_run = [&](const std::string& problem) {
    for (const auto& dir : running_dirs) {
      if (problem.find(dir + "/") != std::string::npos ||
          problem.find(dir + ":") != std::string::npos || problem.ends_with(dir))
        return true;
    }
    return false;
  };
  Json problems = Json::array();
  for (const auto& p : report->problems) {
    if (!of_running_run(p)) problems.push_back(p);
  }
  for (const auto& where : report->empty_locations) {
    if (!of_running_run(where)) problems.push_back(where + ": no backup with a manifest is there");
  }
  set["problems"] = std::move(problems);
  Json namespaces = Json::object();
  auto coverage = report->namespaces;
  for (const auto& [ns, parts] : reading)
    coverage[ns];  // a namespace only a running run has started
  for (const auto& [ns, c] : coverage) {
    std::string cells(kPartitions, '0');
    const PartitionSet& being_read = reading[ns];
    for (uint32_t p = 0; p < kPartitions; ++p) {
      if (c.overlapping.Contains(p)) {
        cells[p] = '2';
      } else if (c.covered.Contains(p)) {
        cells[p] = '1';
      } else if (being_read.Contains(p)) {
        cells[p] = 'r';
      }
    }
    namespaces[ns] = {{"backups", c.backups},
                      {"records", c.records},
                      {"covered", c.covered.Count()},
                      {"missing", kPartitions - c.covered.Count()},
                      {"overlapping", c.overlapping.Count()},
                      {"reading", (being_read & c.covered.Complement()).Count()},
                      {"gaps", c.covered.Complement().ToList()},
                      {"overlaps", c.overlapping.ToList()},
                      {"partitions", std::move(cells)}};
  }
  set["namespaces"] = std::move(namespaces);
  return set;
}

}  // namespace

Result<Json> RoutineCoverage(storage::Storage& storage, const std::string& routine,
                             const CoverageQuery& query, int64_t now_ms, int64_t lease_ms) {
  const std::string base = routine + (query.incremental ? "/incremental/" : "/backup/");
  std::vector<storage::ObjectInfo> objects;
  auto listed = storage.List(base);
  if (listed.ok()) {
    objects = std::move(listed).value();
  } else if (listed.status().code() != StatusCode::kNotFound) {
    return listed.status().WithContext("listing " + base);
  }
  // Objects by run directory (the first path segment under base).
  std::map<std::string, Run> by_dir;
  for (auto& obj : objects) {
    std::string rest = obj.path.substr(std::min(obj.path.size(), base.size()));
    auto slash = rest.find('/');
    if (obj.path.rfind(base, 0) != 0 || slash == std::string::npos) continue;
    std::string name = rest.substr(0, slash);
    int64_t ts = backupset::RunTimestamp(name);
    if (ts < 0) continue;
    Run& run = by_dir[name];
    run.timestamp_ms = ts;
    run.dir = base + name;
    run.objects.push_back(std::move(obj));
  }
  std::vector<const Run*> runs;
  for (const auto& [name, run] : by_dir)
    runs.push_back(&run);
  std::stable_sort(runs.begin(), runs.end(),
                   [](const Run* a, const Run* b) { return a->timestamp_ms < b->timestamp_ms; });
  // Sets: each run joins the set whose first run started at most window_ms before it.
  std::vector<std::vector<const Run*>> sets;
  for (const Run* r : runs) {
    if (sets.empty() || r->timestamp_ms - sets.back().front()->timestamp_ms > query.window_ms) {
      sets.emplace_back();
    }
    sets.back().push_back(r);
  }
  Json out_sets = Json::array();
  for (auto it = sets.rbegin(); it != sets.rend(); ++it) {
    int64_t first = it->front()->timestamp_ms;
    if (query.from_ms && first < query.from_ms) continue;
    if (query.to_ms && first > query.to_ms) continue;
    if (static_cast<int64_t>(out_sets.size()) >= query.limit) break;
    out_sets.push_back(SetJson(storage, *it, now_ms, lease_ms));
  }
  return Json{{"routine", routine},
              {"type", query.incremental ? "incremental" : "full"},
              {"window-ms", query.window_ms},
              {"sets", std::move(out_sets)}};
}

}  // namespace absvc::service
