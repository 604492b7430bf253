#include "storage/azure/azure_storage.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/text.h"
#include "storage/azure/azure_xml.h"
#include "storage/azure/shared_key.h"
#include "storage/cloud/http_client.h"
#include "storage/cloud/object_store.h"
#include "storage/cloud/transfer.h"
#include "storage/cloud/uri.h"
#include "storage/cloud/xml.h"
#include "storage/wrappers/wrappers.h"

namespace absvc::storage {
namespace {

using cloud::Headers;
using cloud::HttpResponse;
using Query = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kApiVersion = "2021-08-06";

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class AzureClient {
 public:
  AzureClient(const StorageSpec& spec, Clock& clock, const std::atomic<bool>* cancel)
      : spec_(spec), clock_(clock), parts_(cloud::NewPartControl(spec, cancel)) {
    endpoint_ = spec.azure_endpoint;
    while (!endpoint_.empty() && endpoint_.back() == '/')
      endpoint_.pop_back();
    if (endpoint_.empty() && !spec.azure_account_name.empty()) {
      endpoint_ = "https://" + spec.azure_account_name + ".blob.core.windows.net";
    }
    if (endpoint_.find("://") == std::string::npos) endpoint_ = "https://" + endpoint_;
    std::string origin = cloud::UrlOrigin(endpoint_);
    base_path_ = endpoint_.substr(origin.size());  // "/devstoreaccount1" on the emulator
    account_ = spec.azure_account_name;
    if (account_.empty()) {
      // The account is the host's first label (<account>.blob.core.windows.net), or, on a
      // path-style endpoint (an emulator: http://127.0.0.1:10000/<account>), the first
      // path segment; an address is never cut at its first dot.
      std::string host = origin.substr(origin.find("://") + 3);
      std::string first_segment =
          base_path_.size() > 1 ? base_path_.substr(1, base_path_.find('/', 1) - 1) : "";
      const bool address = host.empty() || std::isdigit(static_cast<unsigned char>(host[0])) ||
                           host[0] == '[' || host.rfind("localhost", 0) == 0;
      account_ = !first_segment.empty() ? first_segment
                 : address              ? host
                                        : host.substr(0, host.find('.'));
    }
    sas_ = spec.azure_sas_token;
    if (!sas_.empty() && sas_[0] == '?') sas_.erase(0, 1);
  }

  const StorageSpec& spec() const { return spec_; }
  Clock& clock() { return clock_; }
  std::string Name(const std::string& blob) const {
    return "azure://" + account_ + "/" + spec_.bucket + (blob.empty() ? "" : "/" + blob);
  }

  Status CheckAuth() const {
    bool key = !spec_.azure_account_key.empty(), sas = !sas_.empty(),
         aad = !spec_.azure_client_secret.empty();
    if (key + sas + aad == 0) {
      return Status::InvalidArgument(
          "azure-storage: give account-name and account-key, a sas-token, or tenant-id, "
          "client-id and client-secret");
    }
    if (aad && (spec_.azure_tenant_id.empty() || spec_.azure_client_id.empty())) {
      return Status::InvalidArgument(
          "azure-storage: client-secret needs tenant-id and client-id too");
    }
    return Status::Ok();
  }

  // One signed request to the container (`blob` empty) or a blob in it.
  Result<HttpResponse> Send(const std::string& method, const std::string& blob, Query query,
                            Headers headers, std::string_view body, bool interruptible = false) {
    std::string path = base_path_ + "/" + cloud::UriEncode(spec_.bucket) +
                       (blob.empty() ? "" : "/" + cloud::UriEncode(blob, /*keep_slash=*/true));
    headers.push_back({"x-ms-date", azure::HttpDate(UnixNow())});
    headers.push_back({"x-ms-version", kApiVersion});
    std::string query_text;
    for (const auto& [k, v] : query)
      query_text +=
          (query_text.empty() ? "" : "&") + cloud::UriEncode(k) + "=" + cloud::UriEncode(v);
    if (!spec_.azure_account_key.empty()) {
      azure::SharedKeyRequest r{method, path, query, headers, body.size()};
      ABS_ASSIGN_OR_RETURN(std::string auth,
                           azure::SharedKeyAuthorization(r, account_, spec_.azure_account_key));
      headers.push_back({"Authorization", auth});
    } else if (!sas_.empty()) {
      query_text += (query_text.empty() ? "" : "&") + sas_;
    } else {
      ABS_ASSIGN_OR_RETURN(std::string token, BearerToken());
      headers.push_back({"Authorization", "Bearer " + token});
    }
    cloud::HttpRequest req;
    req.method = method;
    req.url = cloud::UrlOrigin(endpoint_) + path + (query_text.empty() ? "" : "?" + query_text);
    req.headers = std::move(headers);
    req.body = body;
    if (spec_.retry.request_timeout_ms > 0) {
      req.timeout = std::chrono::milliseconds(spec_.retry.request_timeout_ms);
    }
    if (interruptible) req.cancel = parts_.cancel;
    auto res = cloud::SendHttp(req);
    if (!res.ok()) return res.status().WithContext(Name(blob));
    if (res->status == 401) InvalidateToken();
    return res;
  }

  Status Failure(const std::string& what, const std::string& blob, const HttpResponse& res) {
    auto e = azure::ParseAzureError(res.body, res.Header("x-ms-error-code"));
    std::string text = what + " " + Name(blob) + ": HTTP " + std::to_string(res.status) +
                       (e.code.empty() ? "" : " " + e.code) +
                       (e.message.empty() ? "" : ": " + e.message);
    if (res.status >= 500 || res.status == 429 ||
        (res.status == 401 && !spec_.azure_client_secret.empty())) {
      return Status::Unavailable(text);
    }
    if (res.status == 408) return Status::Timeout(text);
    if (res.status == 404 && e.code == "ContainerNotFound") {
      return Status::Io(text + " (the container does not exist)");
    }
    if (res.status == 404) return Status::NotFound(text);
    if (res.status == 403 || res.status == 401)
      return Status::Io(text + " (check the credentials)");
    if (res.status >= 300 && res.status < 400) return Status::Io(text + cloud::RedirectNote(res));
    return Status::Io(text);
  }

  Result<HttpResponse> Call(const std::string& what, const std::string& method,
                            const std::string& blob, Query query, Headers headers,
                            std::string_view body, std::vector<int> also_ok = {},
                            bool interruptible = false) {
    ABS_ASSIGN_OR_RETURN(HttpResponse out, Send(method, blob, std::move(query), std::move(headers),
                                                body, interruptible));
    if (out.status >= 200 && out.status < 300) return out;
    for (int ok : also_ok)
      if (out.status == ok) return out;
    return Failure(what, blob, out);
  }

  Result<HttpResponse> CallWithRetries(const std::string& what, const std::string& method,
                                       const std::string& blob, Query query, Headers headers,
                                       std::string_view body) {
    return RetryTransientResult<HttpResponse>(spec_.retry, clock_, what + " " + Name(blob), [&] {
      return Call(what, method, blob, query, headers, body);
    });
  }

  // A block of an upload: retried like the steps above, and ended (kCancelled) as soon as
  // the storage's cancel flag is set, in a request or in a back-off.
  Result<HttpResponse> SendBlockWithRetries(const std::string& what, const std::string& blob,
                                            Query query, std::string_view body) {
    return RetryTransientResult<HttpResponse>(
        spec_.retry, clock_, what + " " + Name(blob),
        [&] { return Call(what, "PUT", blob, query, {}, body, {}, /*interruptible=*/true); },
        parts_.cancel.get());
  }

  const cloud::PartControl& parts() const { return parts_; }

 private:
  // An Azure AD token for the service principal (client credentials), kept until five
  // minutes before it expires.
  Result<std::string> BearerToken() {
    std::lock_guard lock(token_mu_);
    if (!token_.empty() && UnixNow() < token_expires_ - 300) return token_;
    auto fresh = FetchToken();
    // Refreshing early failed: the token in hand works until it expires.
    if (!fresh.ok() && !token_.empty() && UnixNow() < token_expires_) return token_;
    return fresh;
  }

  // A new token from the authority; token_mu_ is held.
  Result<std::string> FetchToken() {
    std::string authority =
        spec_.azure_authority.empty() ? "https://login.microsoftonline.com" : spec_.azure_authority;
    while (!authority.empty() && authority.back() == '/')
      authority.pop_back();
    std::string form =
        "grant_type=client_credentials&client_id=" + cloud::UriEncode(spec_.azure_client_id) +
        "&client_secret=" + cloud::UriEncode(spec_.azure_client_secret) +
        "&scope=" + cloud::UriEncode("https://storage.azure.com/.default");
    cloud::HttpRequest req;
    req.method = "POST";
    req.url = authority + "/" + cloud::UriEncode(spec_.azure_tenant_id) + "/oauth2/v2.0/token";
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    req.body = form;
    req.timeout = std::chrono::seconds(30);
    req.max_response_bytes = 1 << 20;
    ABS_ASSIGN_OR_RETURN(auto res, cloud::SendHttp(req));
    auto j = nlohmann::json::parse(res.body, nullptr, false);
    if (res.status != 200 || !j.is_object() || !j.contains("access_token") ||
        !j["access_token"].is_string()) {
      std::string why = j.is_object() && j.contains("error") && j["error"].is_string()
                            ? j["error"].get<std::string>()
                            : "an unreadable answer";
      Status st(res.status >= 500 ? StatusCode::kUnavailable : StatusCode::kIo,
                "Azure AD token for client " + ShortValue(spec_.azure_client_id) + " from " +
                    cloud::UrlOrigin(req.url) + ": HTTP " + std::to_string(res.status) + " " +
                    ShortValue(why));
      return st;
    }
    token_ = j["access_token"].get<std::string>();
    int64_t lifetime = j.contains("expires_in") && j["expires_in"].is_number_integer()
                           ? j["expires_in"].get<int64_t>()
                           : 3600;
    // A token server's lifetime is outside input: keep it to a sane span so that adding it
    // to the clock cannot overflow.
    lifetime = std::clamp<int64_t>(lifetime, 0, 7 * 86400);
    token_expires_ = UnixNow() + lifetime;
    return token_;
  }
  void InvalidateToken() {
    std::lock_guard lock(token_mu_);
    token_.clear();
  }

  StorageSpec spec_;
  Clock& clock_;
  std::string endpoint_, base_path_, account_, sas_;
  std::mutex token_mu_;
  std::string token_;
  int64_t token_expires_ = 0;
  cloud::PartControl parts_;
};

cloud::RangeFetch AzureRange(std::shared_ptr<AzureClient> az, std::string blob) {
  return [az = std::move(az), blob = std::move(blob)](uint64_t offset,
                                                      size_t length) -> Result<cloud::RangeAnswer> {
    std::string range =
        "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1);
    ABS_ASSIGN_OR_RETURN(auto res, az->Send("GET", blob, {}, {{"x-ms-range", range}}, {},
                                            /*interruptible=*/true));
    return cloud::ReadRangeAnswer(std::move(res), offset, length, [&](const HttpResponse& r) {
      return az->Failure("read", blob, r);
    });
  };
}

Headers TierHeaders(const StorageSpec& spec, const std::string& blob) {
  if (!spec.storage_class.empty() && blob.ends_with(".asb")) {
    return {{"x-ms-access-tier", spec.storage_class}};
  }
  return {};
}

// Blocks of min-part-size; the blob appears only when the block list is committed.
// Uncommitted blocks are never visible, and Azure discards them after a week.
class AzureWriter : public cloud::PartWriter {
 public:
  AzureWriter(std::shared_ptr<AzureClient> az, std::string blob)
      : PartWriter(az->Name(blob),
                   static_cast<size_t>(std::max<int64_t>(1 << 20, az->spec().min_part_size))),
        az_(std::move(az)),
        blob_(std::move(blob)),
        blocks_in_flight_(
            az_->parts(), az_->Name(blob_),
            static_cast<size_t>(std::max<int64_t>(1, az_->spec().max_async_connections))) {}

 protected:
  Status SendPart(std::string part) override {
    int number = ++blocks_;
    // A blob takes at most 50,000 blocks: every 5,000 the next ones double.
    if (number % 5000 == 0) set_part_size(std::min<size_t>(part_size() * 2, size_t{4000} << 20));
    char name[32];
    std::snprintf(name, sizeof name, "abs-block-%08d", number);  // ids of one length
    std::string id = Base64Encode(name);
    const size_t bytes = part.size();
    auto body = std::make_shared<std::string>(std::move(part));
    return blocks_in_flight_.Submit(
        number, bytes, [az = az_, blob = blob_, id, number, body]() -> Result<std::string> {
          ABS_RETURN_IF_ERROR(
              az->SendBlockWithRetries("upload block " + std::to_string(number) + " of", blob,
                                       {{"comp", "block"}, {"blockid", id}}, *body)
                  .status());
          return id;
        });
  }

  Status Finish(std::string rest) override {
    if (blocks_ == 0) {
      Headers headers = TierHeaders(az_->spec(), blob_);
      headers.push_back({"x-ms-blob-type", "BlockBlob"});
      return az_->CallWithRetries("write", "PUT", blob_, {}, headers, rest).status();
    }
    if (!rest.empty()) ABS_RETURN_IF_ERROR(SendPart(std::move(rest)));
    ABS_ASSIGN_OR_RETURN(auto ids, blocks_in_flight_.Finish());
    std::string xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
    for (const auto& [number, id] : ids)
      xml += "<Latest>" + id + "</Latest>";
    xml += "</BlockList>";
    return az_
        ->CallWithRetries("commit the blocks of", "PUT", blob_, {{"comp", "blocklist"}},
                          TierHeaders(az_->spec(), blob_), xml)
        .status();
  }

  void Abandon() override { (void)blocks_in_flight_.Finish(); }

 private:
  std::shared_ptr<AzureClient> az_;
  std::string blob_;
  cloud::PartPipeline blocks_in_flight_;
  int blocks_ = 0;
};

// Whole blob names in the container, for ObjectStore.
class AzureApi : public cloud::ObjectApi {
 public:
  explicit AzureApi(std::shared_ptr<AzureClient> az) : az_(std::move(az)) {}
  // Blocks still in flight may outlive the storage; from now on they read as cancelled.
  ~AzureApi() override { az_->parts().Close(); }

  std::string Name(const std::string& blob) const override { return az_->Name(blob); }

  Result<cloud::KeyPage> ListPage(const std::string& blob_prefix, const std::string& marker,
                                  int max_keys) override {
    Query query = {{"restype", "container"}, {"comp", "list"}, {"prefix", blob_prefix}};
    if (!marker.empty()) query.push_back({"marker", marker});
    if (max_keys > 0) query.push_back({"maxresults", std::to_string(max_keys)});
    ABS_ASSIGN_OR_RETURN(auto res, az_->Call("list", "GET", "", query, {}, {}));
    ABS_ASSIGN_OR_RETURN(auto page,
                         azure::ParseListBlobs(res.body, "listing of " + az_->Name(blob_prefix)));
    cloud::KeyPage out;
    for (auto& b : page.blobs)
      out.keys.push_back({std::move(b.name), b.size});
    out.next_token = page.next_marker;
    return out;
  }

  cloud::RangeFetch Range(const std::string& blob) override { return AzureRange(az_, blob); }

  std::unique_ptr<Writer> NewWriter(const std::string& blob) override {
    return std::make_unique<AzureWriter>(az_, blob);
  }

  Status Delete(const std::string& blob) override {
    return az_->Call("remove", "DELETE", blob, {}, {}, {}, {404}).status();
  }

  Result<bool> CreateIfAbsent(const std::string& blob, std::string_view data) override {
    ABS_ASSIGN_OR_RETURN(
        auto res,
        az_->Call("create", "PUT", blob, {},
                  {{"x-ms-blob-type", "BlockBlob"}, {"If-None-Match", "*"}}, data, {409, 412}));
    return res.status != 409 && res.status != 412;
  }

  Result<bool> KeyExists(const std::string& blob) override {
    ABS_ASSIGN_OR_RETURN(auto res, az_->Call("look up", "HEAD", blob, {}, {}, {}, {404}));
    return res.status != 404;
  }

  Status Reach() override {
    return az_->Call("reach", "GET", "", {{"restype", "container"}}, {}, {}).status();
  }

 private:
  std::shared_ptr<AzureClient> az_;
};

}  // namespace

Result<std::unique_ptr<Storage>> OpenAzureStorage(const StorageSpec& spec, Clock& clock,
                                                  const std::atomic<bool>* cancel) {
  if (spec.bucket.empty()) return Status::InvalidArgument("azure-storage needs a container-name");
  if (spec.azure_endpoint.empty() && spec.azure_account_name.empty()) {
    return Status::InvalidArgument("azure-storage needs an endpoint or an account-name");
  }
  auto az = std::make_shared<AzureClient>(spec, clock, cancel);
  ABS_RETURN_IF_ERROR(az->CheckAuth());
  return std::unique_ptr<Storage>(new cloud::ObjectStore(std::make_shared<AzureApi>(std::move(az)),
                                                         spec.path, spec.Describe(),
                                                         static_cast<size_t>(spec.min_part_size)));
}

}  // namespace absvc::storage
