#include "storage/azure/azure_storage.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/text.h"
#include "storage/azure/azure_xml.h"
#include "storage/azure/shared_key.h"
#include "storage/cloud/http_client.h"
#include "storage/cloud/transfer.h"
#include "storage/cloud/uri.h"
#include "storage/cloud/xml.h"
#include "storage/wrappers/wrappers.h"

namespace absvc::storage {
namespace {

using cloud::Headers;
using cloud::HttpResponse;
using Query = std::vector<std::pair<std::string, std::string>>;

constexpr size_t kReadChunk = 8 << 20;
constexpr const char* kApiVersion = "2021-08-06";

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class AzureClient {
 public:
  AzureClient(const StorageSpec& spec, Clock& clock) : spec_(spec), clock_(clock) {
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
      std::string host = origin.substr(origin.find("://") + 3);
      account_ = host.substr(0, host.find('.'));
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
                            Headers headers, std::string_view body) {
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
    return Status::Io(text);
  }

  Result<HttpResponse> Call(const std::string& what, const std::string& method,
                            const std::string& blob, Query query, Headers headers,
                            std::string_view body, std::vector<int> also_ok = {}) {
    ABS_ASSIGN_OR_RETURN(HttpResponse out,
                         Send(method, blob, std::move(query), std::move(headers), body));
    if (out.status >= 200 && out.status < 300) return out;
    for (int ok : also_ok)
      if (out.status == ok) return out;
    return Failure(what, blob, out);
  }

  Result<HttpResponse> CallWithRetries(const std::string& what, const std::string& method,
                                       const std::string& blob, Query query, Headers headers,
                                       std::string_view body) {
    HttpResponse out;
    Status st = RetryTransient(spec_.retry, clock_, what + " " + Name(blob), [&]() -> Status {
      ABS_ASSIGN_OR_RETURN(out, Call(what, method, blob, query, headers, body));
      return Status::Ok();
    });
    if (!st.ok()) return st;
    return out;
  }

 private:
  // An Azure AD token for the service principal (client credentials), kept until five
  // minutes before it expires.
  Result<std::string> BearerToken() {
    std::lock_guard lock(token_mu_);
    if (!token_.empty() && UnixNow() < token_expires_ - 300) return token_;
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
};

cloud::RangeFetch AzureRange(std::shared_ptr<AzureClient> az, std::string blob) {
  return [az = std::move(az), blob = std::move(blob)](uint64_t offset,
                                                      size_t length) -> Result<cloud::RangeAnswer> {
    std::string range =
        "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1);
    ABS_ASSIGN_OR_RETURN(auto res, az->Send("GET", blob, {}, {{"x-ms-range", range}}, {}));
    cloud::RangeAnswer answer;
    if (res.status == 416) {
      answer.past_end = true;
      return answer;
    }
    if (res.status != 200 && res.status != 206) return az->Failure("read", blob, res);
    if (res.status == 200) {
      answer.object_size = res.body.size();
      res.body.erase(0, std::min<uint64_t>(offset, res.body.size()));
      if (res.body.size() > length) res.body.resize(length);
    } else {
      answer.object_size = cloud::SizeFromContentRange(res.Header("content-range"));
    }
    answer.bytes = std::move(res.body);
    return answer;
  };
}

Headers TierHeaders(const StorageSpec& spec, const std::string& blob) {
  if (!spec.storage_class.empty() && blob.ends_with(".asb")) {
    return {{"x-ms-access-tier", spec.storage_class}};
  }
  return {};
}

// Blocks of min-part-size; the blob appears only when the block list is committed.
class AzureWriter : public Writer {
 public:
  AzureWriter(std::shared_ptr<AzureClient> az, std::string blob)
      : az_(std::move(az)),
        blob_(std::move(blob)),
        block_size_(static_cast<size_t>(std::max<int64_t>(1 << 20, az_->spec().min_part_size))),
        blocks_in_flight_(
            static_cast<size_t>(std::max<int64_t>(1, az_->spec().max_async_connections))) {}

  Status Write(std::string_view data) override {
    if (closed_) return Status::Internal("write to " + az_->Name(blob_) + " after close");
    if (!error_.ok()) return error_;
    written_ += data.size();
    while (!data.empty()) {
      size_t take = std::min(data.size(), block_size_ - buffer_.size());
      buffer_.append(data.substr(0, take));
      data.remove_prefix(take);
      if (buffer_.size() == block_size_) {
        Status st = SendBlock();
        if (!st.ok()) return error_ = st;
      }
    }
    return Status::Ok();
  }

  Status Close() override {
    if (closed_) return error_;
    closed_ = true;
    if (!error_.ok()) return error_;
    if (blocks_ == 0) {
      Headers headers = TierHeaders(az_->spec(), blob_);
      headers.push_back({"x-ms-blob-type", "BlockBlob"});
      return error_ = az_->CallWithRetries("write", "PUT", blob_, {}, headers, buffer_).status();
    }
    if (!buffer_.empty()) {
      Status st = SendBlock();
      if (!st.ok()) return error_ = st;
    }
    auto ids = blocks_in_flight_.Finish();
    if (!ids.ok()) return error_ = ids.status();
    std::string xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
    for (const auto& [number, id] : *ids)
      xml += "<Latest>" + id + "</Latest>";
    xml += "</BlockList>";
    // Uncommitted blocks are never visible, and Azure discards them after a week.
    return error_ =
               az_->CallWithRetries("commit the blocks of", "PUT", blob_, {{"comp", "blocklist"}},
                                    TierHeaders(az_->spec(), blob_), xml)
                   .status();
  }

  uint64_t bytes_written() const override { return written_; }

 private:
  Status SendBlock() {
    int number = ++blocks_;
    char name[32];
    std::snprintf(name, sizeof name, "abs-block-%08d", number);  // ids of one length
    std::string id = Base64Encode(name);
    auto body = std::make_shared<std::string>(std::move(buffer_));
    buffer_.clear();
    buffer_.reserve(block_size_);
    return blocks_in_flight_.Submit(
        number, [az = az_, blob = blob_, id, number, body]() -> Result<std::string> {
          ABS_RETURN_IF_ERROR(az->CallWithRetries("upload block " + std::to_string(number) + " of",
                                                  "PUT", blob, {{"comp", "block"}, {"blockid", id}},
                                                  {}, *body)
                                  .status());
          return id;
        });
  }

  std::shared_ptr<AzureClient> az_;
  std::string blob_;
  const size_t block_size_;
  cloud::PartPipeline blocks_in_flight_;
  std::string buffer_;
  int blocks_ = 0;
  uint64_t written_ = 0;
  bool closed_ = false;
  Status error_;
};

class AzureStorage : public Storage {
 public:
  explicit AzureStorage(std::shared_ptr<AzureClient> az) : az_(std::move(az)) {}

  std::string Blob(const std::string& path) const {
    const std::string& prefix = az_->spec().path;
    return prefix.empty() ? path : path.empty() ? prefix : prefix + "/" + path;
  }

  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    if (!prefix.empty()) ABS_RETURN_IF_ERROR(ValidateRelativePath(prefix));
    std::string blob_prefix = Blob(prefix);
    if (prefix.empty() && !blob_prefix.empty()) blob_prefix += "/";
    const size_t strip = az_->spec().path.empty() ? 0 : az_->spec().path.size() + 1;
    std::vector<ObjectInfo> out;
    std::string marker;
    do {
      Query query = {{"restype", "container"}, {"comp", "list"}, {"prefix", blob_prefix}};
      if (!marker.empty()) query.push_back({"marker", marker});
      ABS_ASSIGN_OR_RETURN(auto res, az_->Call("list", "GET", "", query, {}, {}));
      ABS_ASSIGN_OR_RETURN(auto page,
                           azure::ParseListBlobs(res.body, "listing of " + az_->Name(blob_prefix)));
      for (auto& b : page.blobs) {
        if (b.name.size() < strip) continue;
        std::string path = b.name.substr(strip);
        if (IsUnder(path, prefix) && ValidateRelativePath(path).ok()) out.push_back({path, b.size});
      }
      marker = page.next_marker;
    } while (!marker.empty());
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    return out;
  }

  Result<std::unique_ptr<Reader>> OpenReader(const std::string& path) override {
    return OpenReaderAt(path, 0);
  }
  Result<std::unique_ptr<Reader>> OpenReaderAt(const std::string& path, uint64_t offset) override {
    ABS_RETURN_IF_ERROR(ValidateRelativePath(path));
    auto reader = std::make_unique<cloud::RangedReader>(AzureRange(az_, Blob(path)),
                                                        az_->Name(Blob(path)), offset, kReadChunk);
    ABS_RETURN_IF_ERROR(reader->Start());
    return std::unique_ptr<Reader>(std::move(reader));
  }
  Result<std::unique_ptr<Writer>> OpenWriter(const std::string& path) override {
    ABS_RETURN_IF_ERROR(ValidateRelativePath(path));
    return std::unique_ptr<Writer>(new AzureWriter(az_, Blob(path)));
  }

  Status Remove(const std::string& path) override {
    if (path.empty()) return Status::InvalidArgument("empty storage path");
    if (path.back() != '/') {
      ABS_RETURN_IF_ERROR(ValidateRelativePath(path));
      return az_->Call("remove", "DELETE", Blob(path), {}, {}, {}, {404}).status();
    }
    ABS_ASSIGN_OR_RETURN(auto objects, List(path.substr(0, path.size() - 1)));
    for (const auto& o : objects) {
      ABS_RETURN_IF_ERROR(az_->Call("remove", "DELETE", Blob(o.path), {}, {}, {}, {404}).status());
    }
    return Status::Ok();
  }

  Result<bool> CreateExclusive(const std::string& path, std::string_view data) override {
    ABS_RETURN_IF_ERROR(ValidateRelativePath(path));
    ABS_ASSIGN_OR_RETURN(
        auto res,
        az_->Call("create", "PUT", Blob(path), {},
                  {{"x-ms-blob-type", "BlockBlob"}, {"If-None-Match", "*"}}, data, {409, 412}));
    return res.status != 409 && res.status != 412;
  }

  Result<bool> Exists(const std::string& path) override {
    ABS_RETURN_IF_ERROR(ValidateRelativePath(path));
    ABS_ASSIGN_OR_RETURN(auto res, az_->Call("look up", "HEAD", Blob(path), {}, {}, {}, {404}));
    if (res.status != 404) return true;
    ABS_ASSIGN_OR_RETURN(auto list, az_->Call("list", "GET", "",
                                              {{"restype", "container"},
                                               {"comp", "list"},
                                               {"prefix", Blob(path) + "/"},
                                               {"maxresults", "1"}},
                                              {}, {}));
    ABS_ASSIGN_OR_RETURN(auto page,
                         azure::ParseListBlobs(list.body, "listing of " + az_->Name(Blob(path))));
    return !page.blobs.empty();
  }

  std::string Describe() const override { return az_->spec().Describe(); }

  // The container answers with these credentials.
  Status Probe() override {
    return az_->Call("reach", "GET", "", {{"restype", "container"}}, {}, {}).status();
  }

 private:
  std::shared_ptr<AzureClient> az_;
};

}  // namespace

Result<std::unique_ptr<Storage>> OpenAzureStorage(const StorageSpec& spec, Clock& clock) {
  if (spec.bucket.empty()) return Status::InvalidArgument("azure-storage needs a container-name");
  if (spec.azure_endpoint.empty() && spec.azure_account_name.empty()) {
    return Status::InvalidArgument("azure-storage needs an endpoint or an account-name");
  }
  auto az = std::make_shared<AzureClient>(spec, clock);
  ABS_RETURN_IF_ERROR(az->CheckAuth());
  return std::unique_ptr<Storage>(new AzureStorage(std::move(az)));
}

}  // namespace absvc::storage
