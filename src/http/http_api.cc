#include "http/http_api.h"

#include <arpa/inet.h>
#include <httplib.h>

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <regex>

#include "backupset/catalog.h"
#include "common/log.h"
#include "common/memory_budget.h"
#include "common/text.h"
#include "config/edits.h"
#include "http/api_docs_assets.h"
#include "http/openapi_document.h"
#include "http/ui_assets.h"
#include "storage/storage.h"

namespace absvc::service {

bool AddressInCidr(const std::string& ip, const std::string& cidr) {
  auto slash = cidr.find('/');
  std::string net = cidr.substr(0, slash);
  unsigned char a[16] = {}, n[16] = {};
  int family = net.find(':') == std::string::npos ? AF_INET : AF_INET6;
  const int width = family == AF_INET ? 32 : 128;
  int bits = slash == std::string::npos ? width : std::atoi(cidr.c_str() + slash + 1);
  if (inet_pton(family, ip.c_str(), a) != 1 || inet_pton(family, net.c_str(), n) != 1) {
    return ip == cidr;
  }
  bits = std::clamp(bits, 0, width);
  for (int i = 0; i < bits / 8; ++i)
    if (a[i] != n[i]) return false;
  if (bits % 8 == 0) return true;
  const unsigned char mask = static_cast<unsigned char>(0xFF << (8 - bits % 8));
  return (a[bits / 8] & mask) == (n[bits / 8] & mask);
}

// A token bucket per client address (http.rate.tps and .size); white-listed addresses
// and CIDRs are exempt.
struct HttpApi::RateLimiter {
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  std::mutex mu;
  std::map<std::string, Bucket> buckets;

  bool Allow(const std::string& ip, const HttpConfig& http) {
    for (const auto& w : http.rate_white_list) {
      if (AddressInCidr(ip, w)) return true;
    }
    std::lock_guard lock(mu);
    // Bounded memory under address churn: start afresh (before taking a reference).
    if (buckets.size() > 100000 && !buckets.count(ip)) buckets.clear();
    auto now = std::chrono::steady_clock::now();
    auto [it, fresh] = buckets.try_emplace(ip, Bucket{static_cast<double>(http.rate_size), now});
    Bucket& b = it->second;
    double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(static_cast<double>(http.rate_size),
                        b.tokens + elapsed * static_cast<double>(http.rate_tps));
    b.last = now;
    if (b.tokens < 1.0) return false;
    b.tokens -= 1.0;
    return true;
  }
};

namespace {

void SendJson(httplib::Response& res, int code, const Json& body) {
  res.status = code;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

void SendError(httplib::Response& res, const Status& st) {
  int code = HttpStatusOf(st);
  // Messages quote short prefixes of bad values; this bounds whatever else they hold.
  SendJson(res, code,
           {{"error", StatusCodeName(st.code())}, {"message", ShortValue(st.message(), 8192)}});
}

Result<Json> ParseBody(const httplib::Request& req) {
  if (req.body.empty()) return Status::InvalidArgument("the request needs a JSON body");
  if (JsonNestingDepth(req.body) > 32) {
    return Status::InvalidArgument("the request body nests deeper than 32 levels");
  }
  try {
    return Json::parse(req.body);
  } catch (const Json::parse_error& e) {
    return Status::InvalidArgument(std::string("the request body is not valid JSON: ") + e.what());
  }
}

Result<int64_t> QueryInt(const httplib::Request& req, const std::string& name) {
  if (!req.has_param(name.c_str())) return int64_t{0};
  std::string v = req.get_param_value(name.c_str());
  if (v.empty() || v.size() > 18 || !std::all_of(v.begin(), v.end(), ::isdigit)) {
    return Status::InvalidArgument("query parameter " + name +
                                   " must be a non-negative integer, got '" + v + "'");
  }
  return static_cast<int64_t>(std::stoll(v));
}

Result<int64_t> QueryDelay(const httplib::Request& req) {
  // ABS sets no bound, but a delayed trigger holds the routine's run (and its lock on
  // the storage, for every instance) while it waits: scheduled runs are skipped meanwhile.
  // A day is the longest that may shadow the schedule.
  ABS_ASSIGN_OR_RETURN(int64_t delay, QueryInt(req, "delay"));
  if (delay > 86400000) {
    return Status::InvalidArgument(
        "query parameter delay must be at most 86400000 (a day): a delayed backup holds the "
        "routine, and scheduled runs are skipped while it waits");
  }
  return delay;
}

Result<int64_t> PathId(const std::string& text) {
  if (text.empty() || text.size() > 18 || !std::all_of(text.begin(), text.end(), ::isdigit)) {
    return Status::InvalidArgument("job id must be a number, got '" + text + "'");
  }
  return static_cast<int64_t>(std::stoll(text));
}

std::string RegexEscape(const std::string& s) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(s, special, R"(\$&)");
}

// Endpoints that take no body: one sent anyway is read and ignored.
httplib::Server::HandlerWithContentReader NoBody(httplib::Server::Handler handler) {
  return [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res,
                                        const httplib::ContentReader& reader) {
    if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) {
      reader([](const char*, size_t) { return true; });
    }
    handler(req, res);
  };
}

// Endpoints that take a JSON body. The connection loop has the whole body already (it
// frames requests by Content-Length or chunked, and bounds their size); a POST or PUT
// that announces no body is answered with 411.
httplib::Server::HandlerWithContentReader WithBody(httplib::Server::Handler handler) {
  return [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res,
                                        const httplib::ContentReader& reader) {
    if (!req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
      SendError(res, Status::InvalidArgument(
                         "the request needs a JSON body, announced by Content-Length"));
      res.status = 411;
      return;
    }
    httplib::Request with_body = req;  // its matches still point into req.path
    reader([&](const char* data, size_t n) {
      with_body.body.append(data, n);
      return true;
    });
    handler(with_body, res);
  };
}

// The HTTP server's own counters, in the Prometheus text format.
std::string ConnectionMetrics(const HttpServer::Counters& c) {
  std::string out =
      "# HELP abs_http_connections HTTP connections open now.\n"
      "# TYPE abs_http_connections gauge\n"
      "abs_http_connections " +
      std::to_string(c.open) +
      "\n# HELP abs_http_requests_total HTTP requests received whole.\n"
      "# TYPE abs_http_requests_total counter\n"
      "abs_http_requests_total " +
      std::to_string(c.requests) +
      "\n# HELP abs_http_connections_dropped_total HTTP connections closed by absd: evicted to "
      "make room under a cap, timed out at a deadline, or refused for want of room.\n"
      "# TYPE abs_http_connections_dropped_total counter\n";
  for (auto [reason, n] : {std::pair<const char*, uint64_t>{"evicted", c.evicted},
                           {"timed-out", c.timed_out},
                           {"refused", c.refused}}) {
    out += "abs_http_connections_dropped_total{reason=\"" + std::string(reason) + "\"} " +
           std::to_string(n) + "\n";
  }
  out +=
      "# HELP abs_https_handshakes_failed_total HTTPS connections whose TLS handshake failed "
      "(a client certificate refused, no common version or cipher suite).\n"
      "# TYPE abs_https_handshakes_failed_total counter\n"
      "abs_https_handshakes_failed_total " +
      std::to_string(c.tls_handshakes_failed) + "\n";
  const auto memory = ProcessMemoryBudget()->counts();
  out +=
      "# HELP abs_memory_budget_bytes The memory budget (service.memory-budget-mib).\n"
      "# TYPE abs_memory_budget_bytes gauge\n"
      "abs_memory_budget_bytes " +
      std::to_string(ProcessMemoryBudget()->limit()) +
      "\n# HELP abs_memory_in_transit_bytes Bytes held now for data in transit (parts in "
      "flight, write buffers, restore batches, read chunks).\n"
      "# TYPE abs_memory_in_transit_bytes gauge\n"
      "abs_memory_in_transit_bytes " +
      std::to_string(memory.in_use) +
      "\n# HELP abs_memory_in_transit_peak_bytes The most held at once since the start.\n"
      "# TYPE abs_memory_in_transit_peak_bytes gauge\n"
      "abs_memory_in_transit_peak_bytes " +
      std::to_string(memory.peak) +
      "\n# HELP abs_memory_waits_total Reservations that waited for the budget.\n"
      "# TYPE abs_memory_waits_total counter\n"
      "abs_memory_waits_total " +
      std::to_string(memory.waits) + "\n";
  return out;
}

// The connection limits from service.http: a request must arrive within read-timeout
// (at most 10 s for its head, longer for a large body), an idle connection is closed
// after idle-timeout (at most 5 s, since each holds a descriptor), and an answer must
// leave within write-timeout.
HttpLimits DefaultLimits(const Service& service) {
  const HttpConfig& http = ApiListener(service.config()->service);
  auto bounded = [](int64_t ms, int64_t cap) {
    return std::chrono::milliseconds(ms <= 0 ? cap : std::min(ms, cap));
  };
  HttpLimits limits;
  limits.request_timeout = bounded(http.read_timeout_ms, 10000);
  limits.idle_timeout = bounded(http.idle_timeout_ms, 5000);
  limits.write_timeout = bounded(http.write_timeout_ms, INT32_MAX);
  return limits;
}

}  // namespace

HttpApi::HttpApi(Service& service) : HttpApi(service, DefaultLimits(service)) {}

HttpApi::HttpApi(Service& service, HttpLimits limits)
    : service_(service),
      server_(std::make_unique<HttpServer>(limits)),
      rate_(std::make_unique<RateLimiter>()) {
  Register();
}

HttpApi::~HttpApi() {
  Stop();
}

Status HttpApi::Start(const std::string& address, int port) {
  auto bound = server_->Listen(address, port);
  if (!bound.ok()) return bound.status();
  port_ = *bound;
  return Status::Ok();
}

Status HttpApi::StartHttps(const std::string& address, int port,
                           std::shared_ptr<HttpsContext> tls) {
  auto bound = server_->Listen(address, port, std::move(tls));
  if (!bound.ok()) return bound.status().WithContext("https");
  https_port_ = *bound;
  return Status::Ok();
}

void HttpApi::Stop() {
  if (server_) server_->Shutdown();
}

void HttpApi::Register() {
  auto& s = *server_;
  std::string cp = ApiListener(service_.config()->service).context_path;
  while (!cp.empty() && cp.back() == '/')
    cp.pop_back();
  const std::string p = RegexEscape(cp);
  const std::string name = "([^/]+)";

  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!rate_->Allow(req.remote_addr, ApiListener(service_.config()->service))) {
      SendError(res, Status(StatusCode::kUnavailable, "too many requests from " + req.remote_addr));
      res.status = 429;
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    ABS_LOG_DEBUG("http {} {} -> {} from {}", req.method, req.path, res.status, req.remote_addr);
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) {
      SendJson(res, 404,
               {{"error", "not found"}, {"message", "no endpoint " + req.method + " " + req.path}});
    } else {
      SendJson(res, res.status,
               {{"error", "http"}, {"message", "HTTP error " + std::to_string(res.status)}});
    }
  });
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unexpected error";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        SendError(res, Status::Internal(what));
      });

  // Every route goes through these, which keep the list routes() reports.
  auto get = [&](const std::string& path, httplib::Server::Handler handler) {
    routes_.push_back({"GET", path});
    s.Get(p + path, std::move(handler));
  };
  auto post = [&](const std::string& path, httplib::Server::HandlerWithContentReader handler) {
    routes_.push_back({"POST", path});
    s.Post(p + path, std::move(handler));
  };
  auto put = [&](const std::string& path, httplib::Server::HandlerWithContentReader handler) {
    routes_.push_back({"PUT", path});
    s.Put(p + path, std::move(handler));
  };
  auto del = [&](const std::string& path, httplib::Server::Handler handler) {
    routes_.push_back({"DELETE", path});
    s.Delete(p + path, std::move(handler));
  };

  // --- system
  routes_.push_back({"GET", "/"});
  s.Get(p.empty() ? "/" : p + "/?",
        [](const httplib::Request&, httplib::Response& res) { res.status = 200; });
  auto openapi_json = [](const httplib::Request&, httplib::Response& res) {
    static const std::string json = [] {
      auto doc = YamlToJson(OpenApiYaml(), "docs/openapi.yaml");
      return doc.ok() ? doc->dump() : std::string();
    }();
    if (json.empty())
      return SendError(res, Status::Internal("the OpenAPI document does not parse"));
    res.set_content(json, "application/json");
  };
  get("/api-docs", openapi_json);
  get("/api-docs/openapi.yaml", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(OpenApiYaml(), "application/yaml");
  });
  // ABS's Swagger UI page, and its document as doc.json.
  get("/api-docs/doc.json", openapi_json);
  get("/api-docs/openapi.json", openapi_json);
  get("/api-docs/([^/]*)", [](const httplib::Request& req, httplib::Response& res) {
    const std::string file = req.matches[1].str().empty() ? "index.html" : req.matches[1].str();
    const EmbeddedFile* f = FindApiDocsFile(file);
    if (!f) return SendError(res, Status::NotFound("the API page has no file '" + file + "'"));
    // Swagger UI styles its elements inline and draws icons as data: images; nothing
    // comes from elsewhere.
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                   "frame-ancestors 'none'");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_content(std::string(f->body), std::string(f->content_type));
  });
  get("/health",
      [](const httplib::Request&, httplib::Response& res) { res.set_content("Ok", "text/plain"); });
  get("/ready", [this](const httplib::Request&, httplib::Response& res) {
    Readiness r = service_.CheckReady();
    if (r.ready) {
      res.set_content("Ok", "text/plain");
    } else {
      SendJson(res, 503,
               {{"error", "not ready"}, {"message", "not ready"}, {"problems", r.problems}});
    }
  });
  get("/version", [this](const httplib::Request&, httplib::Response& res) {
    SendJson(res, 200,
             {{"version", service_.options().version},
              {"commit", ""},
              {"build-time", __DATE__ " " __TIME__}});
  });
  get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(service_.MetricsText() + ConnectionMetrics(server_->counters()),
                    "text/plain; version=0.0.4");
  });

  // --- the dashboard: static files compiled in (ui/), reading the API below
  get("/ui", [cp](const httplib::Request&, httplib::Response& res) {
    res.set_redirect(cp + "/ui/", 301);
  });
  auto asset = [](const std::string& file, httplib::Response& res) {
    const EmbeddedFile* a = FindUiAsset(file.empty() ? "index.html" : file);
    if (!a) return SendError(res, Status::NotFound("the dashboard has no file '" + file + "'"));
    // The page loads nothing from elsewhere, and nobody may frame it.
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Cache-Control", "no-cache");
    res.set_content(std::string(a->body), std::string(a->content_type));
  };
  get("/ui/([^/]*)",
      [asset](const httplib::Request& req, httplib::Response& res) { asset(req.matches[1], res); });

  // --- configuration
  get("/v1/config", [this](const httplib::Request&, httplib::Response& res) {
    auto cfg = service_.config();
    SendJson(res, 200, ShownConfig(cfg->document, cfg->service.redact_config_secrets));
  });
  put("/v1/config", WithBody([this](const httplib::Request& req, httplib::Response& res) {
        auto body = ParseBody(req);
        if (!body.ok()) return SendError(res, body.status());
        Status st = service_.ReplaceConfig(*body);
        if (!st.ok()) return SendError(res, st);
        res.status = 200;
      }));
  post("/v1/config/apply", NoBody([this](const httplib::Request&, httplib::Response& res) {
         Status st = service_.ReloadConfigFile();
         if (!st.ok()) return SendError(res, st);
         res.status = 200;
       }));
  // Before the entry routes, which would take "check-connectivity" for a name.
  post("/v1/config/(clusters|storage)/check-connectivity",
       WithBody([this](const httplib::Request& req, httplib::Response& res) {
         auto body = ParseBody(req);
         if (!body.ok()) return SendError(res, body.status());
         Status st = service_.CheckConnectivity(req.matches[1].str(), *body);
         if (!st.ok()) return SendError(res, st);
         res.set_content("Ok", "text/plain");
       }));
  get("/v1/config/(clusters|storage|policies|routines)",
      [this](const httplib::Request& req, httplib::Response& res) {
        SendJson(res, 200,
                 ConfigSection(service_.config()->document, req.matches[1],
                               service_.config()->service.redact_config_secrets));
      });
  get("/v1/config/(clusters|storage|policies|routines)/" + name,
      [this](const httplib::Request& req, httplib::Response& res) {
        auto entry = ConfigEntry(service_.config()->document, req.matches[1], req.matches[2],
                                 service_.config()->service.redact_config_secrets);
        if (!entry.ok()) return SendError(res, entry.status());
        SendJson(res, 200, *entry);
      });
  auto upsert = [this](const httplib::Request& req, httplib::Response& res, bool create) {
    auto body = ParseBody(req);
    if (!body.ok()) return SendError(res, body.status());
    const std::string section = req.matches[1], entry = req.matches[2];
    Status st = service_.EditConfig([&](Json& doc) {
      return create ? CreateConfigEntry(doc, section, entry, *body)
                    : ReplaceConfigEntry(doc, section, entry, *body);
    });
    if (!st.ok()) return SendError(res, st);
    res.status = create ? 201 : 200;
  };
  post("/v1/config/(clusters|storage|policies|routines)/" + name,
       WithBody([upsert](const httplib::Request& req, httplib::Response& res) {
         upsert(req, res, true);
       }));
  put("/v1/config/(clusters|storage|policies|routines)/" + name,
      WithBody([upsert](const httplib::Request& req, httplib::Response& res) {
        upsert(req, res, false);
      }));
  del("/v1/config/(clusters|storage|policies|routines)/" + name,
      [this](const httplib::Request& req, httplib::Response& res) {
        const std::string section = req.matches[1], entry = req.matches[2];
        Status st =
            service_.EditConfig([&](Json& doc) { return DeleteConfigEntry(doc, section, entry); });
        if (!st.ok()) return SendError(res, st);
        res.status = 204;
      });
  put("/v1/config/routines/" + name + "/(disable|enable)",
      NoBody([this](const httplib::Request& req, httplib::Response& res) {
        const std::string routine = req.matches[1];
        const bool disable = req.matches[2] == "disable";
        Status st = service_.EditConfig(
            [&](Json& doc) { return SetRoutineDisabled(doc, routine, disable); });
        if (!st.ok()) return SendError(res, st);
        res.status = 204;
      }));

  // --- backups
  auto list = [this](const httplib::Request& req, httplib::Response& res, bool incremental,
                     const std::string& routine) {
    auto from = QueryInt(req, "from");
    if (!from.ok()) return SendError(res, from.status());
    auto to = QueryInt(req, "to");
    if (!to.ok()) return SendError(res, to.status());
    auto out = service_.ListBackups(incremental, routine, *from, *to);
    if (!out.ok()) return SendError(res, out.status());
    SendJson(res, 200, *out);
  };
  get("/v1/backups/(full|incremental)",
      [list](const httplib::Request& req, httplib::Response& res) {
        list(req, res, req.matches[1] == "incremental", "");
      });
  get("/v1/backups/(full|incremental)/" + name,
      [list](const httplib::Request& req, httplib::Response& res) {
        list(req, res, req.matches[1] == "incremental", req.matches[2]);
      });
  // schedule/{name} and schedule/incremental/{name}: ABS's deprecated spellings of
  // full/{name} and incremental/{name}.
  post("/v1/backups/schedule/incremental/" + name,
       NoBody([this](const httplib::Request& req, httplib::Response& res) {
         auto delay = QueryDelay(req);
         if (!delay.ok()) return SendError(res, delay.status());
         Status st = service_.TriggerBackup(req.matches[1], true, *delay);
         if (!st.ok()) return SendError(res, st);
         res.status = 202;
       }));
  post("/v1/backups/(full|incremental|schedule)/" + name,
       NoBody([this](const httplib::Request& req, httplib::Response& res) {
         auto delay = QueryDelay(req);
         if (!delay.ok()) return SendError(res, delay.status());
         Status st =
             service_.TriggerBackup(req.matches[2], req.matches[1] == "incremental", *delay);
         if (!st.ok()) return SendError(res, st);
         res.status = 202;
       }));
  get("/v1/backups/currentBackup/" + name,
      [this](const httplib::Request& req, httplib::Response& res) {
        auto out = service_.CurrentBackup(req.matches[1]);
        if (!out.ok()) return SendError(res, out.status());
        SendJson(res, 200, *out);
      });
  get("/v1/backups/jobs", [this](const httplib::Request& req, httplib::Response& res) {
    auto from = QueryInt(req, "from");
    if (!from.ok()) return SendError(res, from.status());
    auto to = QueryInt(req, "to");
    if (!to.ok()) return SendError(res, to.status());
    auto limit = QueryInt(req, "limit");
    if (!limit.ok()) return SendError(res, limit.status());
    auto out = service_.BackupJobs(*from, *to, *limit ? *limit : 100);
    if (!out.ok()) return SendError(res, out.status());
    SendJson(res, 200, *out);
  });
  // The partitions each backup set of the routine covers (abs's own; the dashboard's map).
  get("/v1/coverage/" + name, [this](const httplib::Request& req, httplib::Response& res) {
    CoverageQuery q;
    std::string type = req.has_param("type") ? req.get_param_value("type") : "full";
    if (type != "full" && type != "incremental") {
      return SendError(res, Status::InvalidArgument("query parameter type must be full or "
                                                    "incremental, got '" +
                                                    ShortValue(type) + "'"));
    }
    q.incremental = type == "incremental";
    for (auto [param, field] : {std::pair{"from", &q.from_ms}, std::pair{"to", &q.to_ms},
                                std::pair{"window", &q.window_ms}, std::pair{"limit", &q.limit}}) {
      if (!req.has_param(param)) continue;
      auto v = QueryInt(req, param);
      if (!v.ok()) return SendError(res, v.status());
      *field = *v;
    }
    if (q.limit < 1 || q.limit > 1000) {
      return SendError(res, Status::InvalidArgument("query parameter limit must be 1 to 1000"));
    }
    auto out = service_.Coverage(req.matches[1], q);
    if (!out.ok()) return SendError(res, out.status());
    SendJson(res, 200, *out);
  });
  post("/v1/backups/cancel/" + name,
       NoBody([this](const httplib::Request& req, httplib::Response& res) {
         Status st = service_.CancelBackups(req.matches[1]);
         if (!st.ok()) return SendError(res, st);
         res.status = 202;
       }));

  // --- restore
  auto restore = [this](const httplib::Request& req, httplib::Response& res,
                        const std::string& kind, int64_t path_time_ms) {
    auto body = ParseBody(req);
    if (!body.ok()) return SendError(res, body.status());
    if (path_time_ms > 0 && body->is_object() && !body->contains("time")) {
      (*body)["time"] = path_time_ms;
    }
    auto id = service_.StartRestore(*body, kind);
    if (!id.ok()) return SendError(res, id.status());
    SendJson(res, 202, *id);
  };
  post("/v1/restore/(full|incremental|timestamp)",
       WithBody([restore](const httplib::Request& req, httplib::Response& res) {
         restore(req, res, req.matches[1], 0);
       }));
  get("/v1/restore/status/" + name, [this](const httplib::Request& req, httplib::Response& res) {
    auto id = PathId(req.matches[1]);
    if (!id.ok()) return SendError(res, id.status());
    auto out = service_.RestoreStatus(*id);
    if (!out.ok()) return SendError(res, out.status());
    SendJson(res, 200, *out);
  });
  get("/v1/restore/jobs", [this](const httplib::Request& req, httplib::Response& res) {
    auto from = QueryInt(req, "from");
    if (!from.ok()) return SendError(res, from.status());
    auto to = QueryInt(req, "to");
    if (!to.ok()) return SendError(res, to.status());
    auto out = service_.RestoreJobs(*from, *to,
                                    req.has_param("status") ? req.get_param_value("status") : "");
    if (!out.ok()) return SendError(res, out.status());
    SendJson(res, 200, *out);
  });
  post("/v1/restore/cancel/" + name,
       NoBody([this](const httplib::Request& req, httplib::Response& res) {
         auto id = PathId(req.matches[1]);
         if (!id.ok()) return SendError(res, id.status());
         Status st = service_.CancelRestore(*id);
         if (!st.ok()) return SendError(res, st);
         res.status = 202;
       }));
  // The cluster configuration saved with a full backup (with-cluster-configuration).
  get("/v1/retrieve/configuration/" + name + "/" + name,
      [this](const httplib::Request& req, httplib::Response& res) {
        auto time = PathId(req.matches[2]);
        if (!time.ok()) {
          return SendError(res, Status::InvalidArgument("the timestamp must be epoch "
                                                        "milliseconds, got '" +
                                                        ShortValue(req.matches[2].str()) + "'"));
        }
        auto zip = service_.ClusterConfigurationArchive(req.matches[1], *time);
        if (!zip.ok()) return SendError(res, zip.status());
        res.set_header("Content-Disposition", "attachment; filename=\"archive.zip\"");
        res.set_content(std::move(zip).value(), "application/zip");
      });
  // The parallel-backups guide posts a timestamp body to /v1/restore/<ISO-8601 time>.
  post("/v1/restore/" + name,
       WithBody([restore](const httplib::Request& req, httplib::Response& res) {
         std::string t = req.matches[1];
         int64_t ms = backupset::ParseRfc3339Millis(t);
         if (ms < 0) {
           return SendError(
               res, Status::NotFound("no endpoint POST " + req.path + " (nor an ISO-8601 time)"));
         }
         restore(req, res, "timestamp", ms);
       }));
}

}  // namespace absvc::service
