// Info commands of a devcluster node. Names are echoed byte-exact; unknown commands get
// the 8.1 answer "ERROR:4:unrecognized command".
#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <functional>

#include "common/base64.h"
#include "common/bytes.h"
#include "common/cltime.h"
#include "common/log.h"
#include "devcluster/cluster.h"
#include "devcluster/handlers.h"
#include "devcluster/node_server.h"
#include "wire/info.h"
#include "wire/proto.h"

namespace absvc::devcluster {
namespace {

constexpr const char* kFeatures =
    "batch-any;batch-index;blob-bits;cdt-index;cdt-list;cdt-map;cluster-stable;float;geo;"
    "sindex-exists;peers;pipelining;pquery;pscans;query-show;relaxed-sc;replicas;replicas-all;"
    "replicas-master;replicas-max;truncate-namespace;udf";

using wire::FormatInfoError;
using wire::InfoCommand;

class InfoResponder {
 public:
  explicit InfoResponder(RequestContext& ctx) : ctx_(ctx), c_(ctx.cluster), view_(c_.view()) {}

  std::string Answer(std::string_view text) {
    InfoCommand cmd = wire::ParseInfoCommand(text);
    const std::string& n = cmd.name;
    if (n == "node") return c_.node_id(ctx_.node);
    if (n == "build") return c_.options().build;
    if (n == "version") return "Aerospike Enterprise Edition build " + c_.options().build;
    if (n == "edition") return "Aerospike Enterprise Edition";
    if (n == "release") {
      return "arch=x86_64;edition=Enterprise;os=linux;sha=devcluster;version=" + c_.options().build;
    }
    if (n == "features") return kFeatures;
    if (n == "cluster-name") return c_.options().cluster_name;
    if (n == "partitions") return "4096";
    if (n == "partition-generation") return std::to_string(c_.partition_generation(ctx_.node));
    if (n == "peers-generation") return std::to_string(c_.peers_generation(ctx_.node));
    if (n == "rebalance-generation") return std::to_string(c_.rebalance_generation());
    if (n == "cluster-generation") return std::to_string(c_.rebalance_generation());
    if (n == "replicas" || n == "replicas-all" || n == "replicas-master") return Replicas(cmd);
    if (n == "peers-clear-std" || n == "peers-clear-alt") return Peers(false);
    if (n == "peers-tls-std" || n == "peers-tls-alt") return Peers(true);
    if (n == "alumni-clear-std" || n == "alumni-tls-std") return Peers(n == "alumni-tls-std");
    if (n == "service-clear-std" || n == "service-clear-alt") {
      return c_.tls_enabled() ? "" : Endpoint(ctx_.node);
    }
    if (n == "service-tls-std" || n == "service-tls-alt") {
      return c_.tls_enabled() ? Endpoint(ctx_.node) : "";
    }
    if (n == "service" || n == "service-clear") return Endpoint(ctx_.node);
    if (n == "services" || n == "services-alumni") return Services();
    if (n == "namespaces") return Namespaces();
    if (n == "namespace") return Namespace(cmd);
    if (n == "sets") return Sets(cmd);
    if (n == "statistics") return Statistics();
    if (n == "racks") return Racks(cmd);
    if (n == "rack-ids") return RackIds();
    if (n == "cluster-stable") return ClusterStable(cmd);
    if (n == "truncate" || n == "truncate-namespace") return Truncate(cmd);
    if (n == "truncate-undo" || n == "truncate-namespace-undo") return "ok";
    if (n == "sindex-list") return SindexList(cmd);
    if (n == "sindex") return SindexStatus(cmd);
    if (n == "sindex-create") return SindexCreate(cmd);
    if (n == "sindex-delete") return SindexDelete(cmd);
    if (n == "udf-list") return UdfList();
    if (n == "udf-put") return UdfPut(cmd);
    if (n == "udf-get") return UdfGet(cmd);
    if (n == "udf-remove") return UdfRemove(cmd);
    if (n == "user-agent-set") return UserAgentSet(cmd);
    if (n == "status") return "ok";
    if (n == "query-show" || n == "scan-show" || n == "jobs") return "";
    if (n == "dev-fault") return DevFault(cmd);
    if (n == "get-config") return GetConfig(cmd);
    return FormatInfoError(4, "unrecognized command");
  }

 private:
  // A node's configuration by context, in the server's key=value form.
  std::string GetConfig(const InfoCommand& cmd) const {
    auto context = cmd.Param("context");
    if (!context) return FormatInfoError(4, "missing context");
    const ClusterOptions& o = c_.options();
    if (*context == "service") {
      return "cluster-name=" + o.cluster_name +
             ";proto-fd-max=15000;service-threads=2;node-id=" + c_.node_id(ctx_.node);
    }
    if (*context == "network") {
      std::string port = std::to_string(c_.port(ctx_.node));
      return "service.address=" + o.host + ";service.port=" + (c_.tls_enabled() ? "0" : port) +
             ";service.tls-port=" + (c_.tls_enabled() ? port : "0") +
             ";heartbeat.mode=mesh;heartbeat.interval=150;heartbeat.timeout=10";
    }
    if (*context == "security") {
      if (!c_.security_enabled()) return FormatInfoError(4, "security is not enabled");
      return "enable-quotas=false;privilege-refresh-period=300;session-ttl=86400";
    }
    if (*context == "namespace") {
      auto id = cmd.Param("id");
      if (!id) id = cmd.Param("namespace");
      NamespaceStore* store = id ? c_.FindNamespace(*id) : nullptr;
      if (!store) return FormatInfoError(4, "namespace not found");
      const auto& cfg = store->config();
      return "replication-factor=" + std::to_string(cfg.replication_factor) +
             ";default-ttl=" + std::to_string(cfg.default_ttl) +
             ";nsup-period=" + std::to_string(cfg.nsup_period) +
             ";storage-engine=memory;storage-engine.data-size=1073741824";
    }
    return FormatInfoError(4, "unknown context");
  }

  std::string Endpoint(int node) const {
    return c_.options().host + ":" + std::to_string(c_.port(node));
  }

  std::string Replicas(const InfoCommand& cmd) const {
    std::vector<wire::NamespaceReplicas> out;
    bool master_only = cmd.name == "replicas-master";
    uint32_t max_columns = 0;
    if (auto m = cmd.Param("max")) max_columns = static_cast<uint32_t>(std::atoi(m->c_str()));
    for (const auto& store : c_.namespaces()) {
      const auto& map = view_->maps.at(store->config().name);
      wire::NamespaceReplicas ns;
      ns.ns = store->config().name;
      uint32_t columns = master_only ? 1 : map.effective_replication_factor();
      if (max_columns > 0) columns = std::min(columns, max_columns);
      ns.columns.resize(columns);
      for (uint32_t pid = 0; pid < wire::kPartitionCount; ++pid) {
        int r = map.ReplicaIndex(pid, ctx_.node);
        if (r >= 0 && static_cast<uint32_t>(r) < columns)
          ns.columns[static_cast<size_t>(r)].Set(pid);
      }
      out.push_back(std::move(ns));
    }
    std::string s = wire::FormatReplicas(out);
    if (cmd.name == "replicas") return s;
    // replicas-all: "<ns>:<n>,<b64>...;"; replicas-master: "<ns>:<b64>;" (no regime).
    std::string legacy;
    for (const auto& ns : out) {
      legacy += ns.ns + ":";
      if (!master_only) legacy += std::to_string(ns.columns.size()) + ",";
      for (size_t i = 0; i < ns.columns.size(); ++i) {
        if (i > 0) legacy += ",";
        legacy += ns.columns[i].ToBase64();
      }
      legacy += ";";
    }
    return legacy;
  }

  std::string Peers(bool tls) const {
    wire::PeersAnswer a;
    a.generation = c_.peers_generation(ctx_.node);
    a.default_port = 3000;
    if (tls != c_.tls_enabled()) return wire::FormatPeers(a);
    for (int i = 0; i < c_.node_count(); ++i) {
      if (i == ctx_.node || !view_->alive[static_cast<size_t>(i)]) continue;
      wire::PeerEntry p;
      p.node_id = c_.node_id(i);
      if (tls) p.tls_name = c_.tls_name();
      p.endpoints.emplace_back(c_.options().host, c_.port(i));
      a.peers.push_back(std::move(p));
    }
    return wire::FormatPeers(a);
  }

  std::string Services() const {
    std::string s;
    for (int i = 0; i < c_.node_count(); ++i) {
      if (i == ctx_.node || !view_->alive[static_cast<size_t>(i)]) continue;
      if (!s.empty()) s += ";";
      s += Endpoint(i);
    }
    return s;
  }

  std::string Namespaces() const {
    std::string s;
    for (const auto& store : c_.namespaces()) {
      if (!s.empty()) s += ";";
      s += store->config().name;
    }
    return s;
  }

  struct ObjectCounts {
    uint64_t master = 0, prole = 0;
  };
  ObjectCounts CountObjects(const NamespaceStore& store) const {
    ObjectCounts counts;
    const auto& map = view_->maps.at(store.config().name);
    uint32_t now = CitrusleafNowSeconds();
    for (uint32_t pid = 0; pid < wire::kPartitionCount; ++pid) {
      int r = map.ReplicaIndex(pid, ctx_.node);
      if (r < 0) continue;
      uint64_t n = store.CountLive(pid, now);
      (r == 0 ? counts.master : counts.prole) += n;
    }
    return counts;
  }

  std::string Namespace(const InfoCommand& cmd) const {
    if (cmd.args.empty()) return FormatInfoError(4, "missing namespace");
    NamespaceStore* store = c_.FindNamespace(cmd.args[0]);
    if (!store) return "type=unknown";
    const auto& map = view_->maps.at(store->config().name);
    ObjectCounts counts = CountObjects(*store);
    const auto& cfg = store->config();
    std::string s;
    auto kv = [&](const std::string& k, const std::string& v) {
      if (!s.empty()) s += ";";
      s += k + "=" + v;
    };
    kv("ns_cluster_size", std::to_string(view_->alive_count()));
    kv("effective_replication_factor", std::to_string(map.effective_replication_factor()));
    kv("objects", std::to_string(counts.master + counts.prole));
    kv("tombstones", "0");
    kv("xdr_tombstones", "0");
    kv("xdr_bin_cemeteries", "0");
    kv("mrt_provisionals", "0");
    kv("master_objects", std::to_string(counts.master));
    kv("master_tombstones", "0");
    kv("prole_objects", std::to_string(counts.prole));
    kv("prole_tombstones", "0");
    kv("non_replica_objects", "0");
    kv("non_replica_tombstones", "0");
    kv("unreplicated_records", "0");
    kv("dead_partitions", "0");
    kv("unavailable_partitions", "0");
    kv("auto_revived_partitions", "0");
    kv("clock_skew_stop_writes", "false");
    kv("stop_writes", "false");
    kv("hwm_breached", "false");
    kv("current_time", std::to_string(CitrusleafNowSeconds()));
    kv("truncate_lut", std::to_string(store->truncate_lut()));
    kv("truncating", "false");
    kv("migrate_tx_partitions_remaining", "0");
    kv("migrate_rx_partitions_remaining", "0");
    kv("allow-ttl-without-nsup", "false");
    kv("default-ttl", std::to_string(cfg.default_ttl));
    kv("nsup-period", std::to_string(cfg.nsup_period));
    kv("rack-id", std::to_string(c_.rack(ctx_.node)));
    kv("replication-factor", std::to_string(cfg.replication_factor));
    kv("strong-consistency", "false");
    kv("storage-engine", "memory");
    return s;
  }

  std::string Sets(const InfoCommand& cmd) const {
    std::string s;
    std::string only_set = cmd.args.size() > 1 ? cmd.args[1] : "";
    bool found_ns = false;
    uint32_t now = CitrusleafNowSeconds();
    for (const auto& store : c_.namespaces()) {
      if (!cmd.args.empty() && store->config().name != cmd.args[0]) continue;
      found_ns = true;
      for (const auto& set : store->Sets(now)) {
        if (!only_set.empty() && set.name != only_set) continue;
        if (only_set.empty()) s += "ns=" + store->config().name + ":set=" + set.name + ":";
        s += "objects=" + std::to_string(set.objects) +
             ":tombstones=0:data_used_bytes=" + std::to_string(set.data_bytes) +
             ":truncate_lut=" + std::to_string(set.truncate_lut) +
             ":sindexes=0:index_populating=false:truncating=false:default-read-touch-ttl-pct=0"
             ":default-ttl=0:disable-eviction=false:enable-index=false:stop-writes-count=0"
             ":stop-writes-size=0;";
      }
    }
    if (!cmd.args.empty() && !found_ns) return "ns_type=unknown";
    return s;
  }

  std::string Statistics() const {
    uint64_t objects = 0;
    for (const auto& store : c_.namespaces()) {
      ObjectCounts counts = CountObjects(*store);
      objects += counts.master + counts.prole;
    }
    return "failed_best_practices=false;cluster_size=" + std::to_string(view_->alive_count()) +
           ";cluster_key=" + HexU64Upper(view_->cluster_key) +
           ";cluster_generation=" + std::to_string(c_.rebalance_generation()) +
           ";cluster_principal=" + c_.node_id(0) +
           ";cluster_integrity=true;cluster_is_member=true;uptime=1;objects=" +
           std::to_string(objects);
  }

  std::string Racks(const InfoCommand& cmd) const {
    auto ns_filter = cmd.Param("namespace");
    std::string s;
    for (const auto& store : c_.namespaces()) {
      if (ns_filter && *ns_filter != store->config().name) continue;
      std::map<uint32_t, std::vector<std::string>> racks;
      for (int i = 0; i < c_.node_count(); ++i) {
        if (view_->alive[static_cast<size_t>(i)]) racks[c_.rack(i)].push_back(c_.node_id(i));
      }
      if (!s.empty()) s += ";";
      if (!ns_filter) s += "ns=" + store->config().name;
      bool first = true;
      for (const auto& [rack, ids] : racks) {
        if (!first || !ns_filter) s += ":";
        first = false;
        s += "rack_" + std::to_string(rack) + "=";
        for (size_t j = 0; j < ids.size(); ++j)
          s += (j ? "," : "") + ids[j];
      }
    }
    return s;
  }

  std::string RackIds() const {
    std::string s;
    for (const auto& store : c_.namespaces()) {
      if (!s.empty()) s += ";";
      s += store->config().name + ":" + std::to_string(c_.rack(ctx_.node));
    }
    return s;
  }

  std::string ClusterStable(const InfoCommand& cmd) const {
    if (auto size = cmd.Param("size")) {
      if (std::atoi(size->c_str()) != view_->alive_count()) {
        return FormatInfoError(7, "cluster not specified size");
      }
    }
    if (auto ns = cmd.Param("namespace")) {
      if (!c_.FindNamespace(*ns)) return FormatInfoError(20, "namespace not found");
    }
    return HexU64Upper(view_->cluster_key);
  }

  std::string Truncate(const InfoCommand& cmd) const {
    auto ns = cmd.Param("namespace");
    if (!ns) return FormatInfoError(20, "missing 'namespace'");
    auto set = cmd.Param("set");
    if (cmd.name == "truncate-namespace" && set) return FormatInfoError(4, "unexpected set name");
    // `truncate` without a set (older clients) truncates the whole namespace.
    if (set && set->empty()) set.reset();
    uint64_t now_ms = CitrusleafNowMillis();
    uint64_t lut_ms = now_ms;
    if (auto lut = cmd.Param("lut")) {
      char* end = nullptr;
      unsigned long long ns_value = std::strtoull(lut->c_str(), &end, 0);
      if (end == lut->c_str() || *end != '\0') return FormatInfoError(4, "bad 'lut'");
      int64_t unix_ms = static_cast<int64_t>(ns_value / 1000000);
      int64_t cl = unix_ms - kCitrusleafEpochUnixSeconds * 1000;
      if (cl <= 0) return FormatInfoError(4, "lut would truncate nothing");
      if (static_cast<uint64_t>(cl) > now_ms) {
        return FormatInfoError(4, "would truncate in the future");
      }
      lut_ms = static_cast<uint64_t>(cl);
    } else {
      lut_ms = now_ms + 1;  // everything written up to now, including this millisecond
    }
    NamespaceStore* store = c_.FindNamespace(*ns);
    if (!store) return "ok";  // the real server also accepts and skips unknown namespaces
    uint64_t n = store->Truncate(set ? *set : "", lut_ms);
    ABS_LOG_INFO("truncated {} records of {}{}", n, *ns, set ? "/" + *set : "");
    return "ok";
  }

  std::string SindexList(const InfoCommand& cmd) const {
    auto ns = cmd.Param("ns");
    if (!ns) ns = cmd.Param("namespace");
    std::lock_guard lock(c_.metadata_mutex());
    std::string s;
    for (const auto& si : c_.sindexes()) {
      if (ns && *ns != si.ns) continue;
      if (!s.empty()) s += ";";
      s += "ns=" + si.ns + ":indexname=" + si.name + ":set=" + (si.set.empty() ? "null" : si.set) +
           ":bin=" + si.bin + ":type=" + si.type + ":indextype=" + si.index_type +
           ":context=" + (si.context.empty() ? "null" : si.context) + ":exp=null:state=RW";
    }
    return s;
  }

  std::string SindexStatus(const InfoCommand& cmd) const {
    if (cmd.args.size() < 2) return FormatInfoError(4, "sindex/<ns>/<name> expected");
    std::lock_guard lock(c_.metadata_mutex());
    for (const auto& si : c_.sindexes()) {
      if (si.ns == cmd.args[0] && si.name == cmd.args[1]) {
        return "keys=0;entries=0;used_bytes=0;load_pct=100;load_time=0";
      }
    }
    return FormatInfoError(201, "no index");
  }

  std::string SindexCreate(const InfoCommand& cmd) const {
    SindexDefinition si;
    auto ns = cmd.Param("namespace");
    if (!ns) ns = cmd.Param("ns");
    auto name = cmd.Param("indexname");
    if (!ns || !name) return FormatInfoError(4, "missing 'indexname' or 'namespace'");
    if (!c_.FindNamespace(*ns)) return FormatInfoError(20, "namespace not found");
    si.ns = *ns;
    si.name = *name;
    si.set = cmd.Param("set").value_or("");
    si.index_type = cmd.Param("indextype").value_or("default");
    std::transform(si.index_type.begin(), si.index_type.end(), si.index_type.begin(), ::tolower);
    si.context = cmd.Param("context").value_or("");
    if (auto data = cmd.Param("indexdata")) {
      size_t comma = data->find(',');
      si.bin = data->substr(0, comma);
      si.type = comma == std::string::npos ? "" : data->substr(comma + 1);
    } else {
      si.bin = cmd.Param("bin").value_or("");
      si.type = cmd.Param("type").value_or("");
    }
    std::transform(si.type.begin(), si.type.end(), si.type.begin(), ::tolower);
    if (si.bin.empty()) return FormatInfoError(4, "missing 'bin'");
    if (si.type != "numeric" && si.type != "string" && si.type != "blob" &&
        si.type != "geo2dsphere") {
      return FormatInfoError(4, "bad 'type'");
    }
    if (si.index_type != "default" && si.index_type != "list" && si.index_type != "mapkeys" &&
        si.index_type != "mapvalues") {
      return FormatInfoError(4, "bad 'indextype'");
    }
    std::lock_guard lock(c_.metadata_mutex());
    for (const auto& existing : c_.sindexes()) {
      if (existing.ns == si.ns && existing.name == si.name) {
        return FormatInfoError(200, "index already exists");
      }
    }
    c_.sindexes().push_back(si);
    return "ok";
  }

  std::string SindexDelete(const InfoCommand& cmd) const {
    auto ns = cmd.Param("namespace");
    if (!ns) ns = cmd.Param("ns");
    auto name = cmd.Param("indexname");
    if (!ns || !name) return FormatInfoError(4, "missing 'indexname' or 'namespace'");
    std::lock_guard lock(c_.metadata_mutex());
    auto& list = c_.sindexes();
    auto it = std::find_if(list.begin(), list.end(),
                           [&](const auto& si) { return si.ns == *ns && si.name == *name; });
    if (it == list.end()) return FormatInfoError(201, "no index");
    list.erase(it);
    return "ok";
  }

  std::string UdfList() const {
    std::lock_guard lock(c_.metadata_mutex());
    std::string s;
    for (const auto& [name, content] : c_.udfs()) {
      unsigned char sha[SHA_DIGEST_LENGTH];
      SHA1(reinterpret_cast<const unsigned char*>(content.data()), content.size(), sha);
      s += "filename=" + name +
           ",hash=" + HexEncode(std::string_view(reinterpret_cast<char*>(sha), sizeof sha)) +
           ",type=LUA;";
    }
    return s;
  }

  std::string UdfPut(const InfoCommand& cmd) const {
    auto name = cmd.Param("filename");
    auto content = cmd.Param("content");
    auto len = cmd.Param("content-len");
    if (!name || name->empty() || !content || !len) {
      return "error=invalid_params";
    }
    if (std::to_string(content->size()) != *len) return "error=invalid_content_len";
    auto decoded = Base64Decode(*content);
    if (!decoded) return "error=invalid_base64_content";
    if (decoded->size() > 1024 * 1024) return "error=invalid_udf_size";
    std::lock_guard lock(c_.metadata_mutex());
    c_.udfs()[*name] = std::move(*decoded);
    return "ok";
  }

  std::string UdfGet(const InfoCommand& cmd) const {
    auto name = cmd.Param("filename");
    std::lock_guard lock(c_.metadata_mutex());
    if (!name || !c_.udfs().count(*name)) return "error=not_found";
    return "type=LUA;content=" + Base64Encode(c_.udfs().at(*name)) + ";";
  }

  std::string UdfRemove(const InfoCommand& cmd) const {
    auto name = cmd.Param("filename");
    std::lock_guard lock(c_.metadata_mutex());
    if (!name || c_.udfs().erase(*name) == 0) return "error=not_found";
    return "ok";
  }

  std::string UserAgentSet(const InfoCommand& cmd) const {
    if (!cmd.Param("value")) return FormatInfoError(4, "missing 'value'");
    if (ctx_.session.user_agent_set) return FormatInfoError(4, "already set");
    ctx_.session.user_agent_set = true;
    return "ok";
  }

  // dev-fault:cmd=stop|start|latency|drop-scan|clear;node=<id or index>[;ms=N][;after=N]
  std::string DevFault(const InfoCommand& cmd) const {
    auto what = cmd.Param("cmd");
    auto node_text = cmd.Param("node");
    if (!what || !node_text) return FormatInfoError(4, "dev-fault needs cmd= and node=");
    int node = c_.FindNode(*node_text);
    if (node < 0) return FormatInfoError(4, "unknown node '" + *node_text + "'");
    if (*what == "stop" || *what == "start") {
      // Stopping the node that carries this request must not join its own thread.
      bool self = node == ctx_.node && *what == "stop";
      DevCluster* cluster = &c_;
      if (self) {
        std::thread([cluster, node] { (void)cluster->StopNode(node); }).detach();
        return "ok";
      }
      Status st = *what == "stop" ? c_.StopNode(node) : c_.StartNode(node);
      return st.ok() ? "ok" : FormatInfoError(4, st.message());
    }
    if (*what == "latency") {
      c_.faults(node).latency_ms.store(
          static_cast<uint32_t>(std::atoi(cmd.Param("ms").value_or("0").c_str())));
      return "ok";
    }
    if (*what == "drop-scan") {
      c_.faults(node).drop_scan_after.store(std::atoll(cmd.Param("after").value_or("0").c_str()));
      return "ok";
    }
    if (*what == "clear") {
      c_.faults(node).latency_ms.store(0);
      c_.faults(node).drop_scan_after.store(-1);
      return "ok";
    }
    return FormatInfoError(4, "unknown dev-fault cmd '" + *what + "'");
  }

  RequestContext& ctx_;
  DevCluster& c_;
  std::shared_ptr<const ClusterView> view_;
};

}  // namespace

std::string HandleInfo(RequestContext& ctx, std::string_view body) {
  std::string out;
  size_t off = wire::BeginProto(out);
  auto commands = wire::SplitInfoRequest(body);
  if (!ctx.session.authenticated) {
    for (auto c : commands)
      wire::AppendInfoAnswer(out, c, FormatInfoError(80, "not authenticated"));
    if (commands.empty()) out += FormatInfoError(80, "not authenticated") + "\n";
  } else if (commands.empty()) {
    // The legacy summary dump, abbreviated.
    InfoResponder r(ctx);
    for (const char* c : {"node", "build", "edition", "version", "cluster-name"}) {
      wire::AppendInfoAnswer(out, c, r.Answer(c));
    }
  } else {
    InfoResponder r(ctx);
    for (auto c : commands) {
      std::string value = r.Answer(c);
      ABS_LOG_TRACE("node {} info '{}'", ctx.node, c);
      wire::AppendInfoAnswer(out, c, value);
    }
  }
  wire::EndProto(out, off, wire::ProtoType::kInfo);
  return out;
}

}  // namespace absvc::devcluster
