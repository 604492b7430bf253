#include "storage/gcs/gcs_storage.h"

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "common/file.h"
#include "common/text.h"
#include "storage/cloud/http_client.h"
#include "storage/cloud/object_store.h"
#include "storage/cloud/transfer.h"
#include "storage/cloud/uri.h"
#include "storage/gcs/gcs_json.h"
#include "storage/gcs/service_account.h"
#include "storage/wrappers/wrappers.h"

namespace absvc::storage {
namespace {

using cloud::Headers;
using cloud::HttpResponse;

constexpr size_t kChunkUnit = 256 << 10;

class GcsClient {
 public:
  GcsClient(const StorageSpec& spec, Clock& clock, std::string key_json,
            const std::atomic<bool>* cancel)
      : spec_(spec),
        clock_(clock),
        cancel_(std::make_shared<CancelLink>(cancel)),
        tokens_(std::move(key_json), "gs://" + spec.bucket) {
    endpoint_ = spec.gcs_endpoint.empty() ? "https://storage.googleapis.com" : spec.gcs_endpoint;
    while (!endpoint_.empty() && endpoint_.back() == '/')
      endpoint_.pop_back();
    if (endpoint_.find("://") == std::string::npos) endpoint_ = "https://" + endpoint_;
  }

  const StorageSpec& spec() const { return spec_; }
  Clock& clock() { return clock_; }
  // Ends the data transfers (chunks, ranged reads) and their back-offs when set.
  const CancelLink* cancel() const { return cancel_.get(); }
  // The storage is closing: nothing reads the outside cancel flag any more.
  void Close() { cancel_->Detach(); }
  std::string Name(const std::string& object) const {
    return "gs://" + spec_.bucket + (object.empty() ? "" : "/" + object);
  }
  std::string BucketUrl() const {
    return endpoint_ + "/storage/v1/b/" + cloud::UriEncode(spec_.bucket);
  }
  std::string ObjectUrl(const std::string& object) const {
    return BucketUrl() + "/o/" + cloud::UriEncode(object);
  }
  std::string UploadUrl(const std::string& object, const std::string& type) const {
    return endpoint_ + "/upload/storage/v1/b/" + cloud::UriEncode(spec_.bucket) +
           "/o?uploadType=" + type + "&name=" + cloud::UriEncode(object);
  }

  // One request with the current token; a 401 drops it so the retry fetches a new one.
  Result<HttpResponse> Send(const std::string& method, const std::string& url,
                            const std::string& object, Headers headers, std::string_view body,
                            bool interruptible = false) {
    ABS_ASSIGN_OR_RETURN(std::string token, tokens_.Token());
    cloud::HttpRequest req;
    req.method = method;
    req.url = url;
    req.headers = std::move(headers);
    req.headers.push_back({"Authorization", "Bearer " + token});
    req.body = body;
    if (spec_.retry.request_timeout_ms > 0) {
      req.timeout = std::chrono::milliseconds(spec_.retry.request_timeout_ms);
    }
    if (interruptible) req.cancel = cancel_;
    auto res = cloud::SendHttp(req);
    if (!res.ok()) return res.status().WithContext(Name(object));
    if (res->status == 401) tokens_.Invalidate();
    return res;
  }

  Status Failure(const std::string& what, const std::string& object, const HttpResponse& res) {
    auto j = nlohmann::json::parse(res.body, nullptr, false);
    std::string message;
    if (j.is_object() && j.contains("error") && j["error"].is_object() &&
        j["error"].contains("message") && j["error"]["message"].is_string()) {
      message = ShortValue(j["error"]["message"].get<std::string>(), 256);
    }
    std::string text = what + " " + Name(object) + ": HTTP " + std::to_string(res.status) +
                       (message.empty() ? "" : ": " + message);
    if (res.status >= 500 || res.status == 429 || res.status == 401)
      return Status::Unavailable(text);
    if (res.status == 408) return Status::Timeout(text);
    if (res.status == 404 && message.find("bucket") != std::string::npos) {
      return Status::Io(text + " (the bucket does not exist)");
    }
    if (res.status == 404) return Status::NotFound(text);
    if (res.status == 403) return Status::Io(text + " (check the credentials)");
    if (res.status >= 300 && res.status < 400) return Status::Io(text + cloud::RedirectNote(res));
    return Status::Io(text);
  }

  Result<HttpResponse> Call(const std::string& what, const std::string& method,
                            const std::string& url, const std::string& object, Headers headers,
                            std::string_view body, std::vector<int> also_ok = {}) {
    ABS_ASSIGN_OR_RETURN(HttpResponse out, Send(method, url, object, std::move(headers), body));
    if (out.status >= 200 && out.status < 300) return out;
    for (int ok : also_ok)
      if (out.status == ok) return out;
    return Failure(what, object, out);
  }

  Result<HttpResponse> CallWithRetries(const std::string& what, const std::string& method,
                                       const std::string& url, const std::string& object,
                                       Headers headers, std::string_view body,
                                       std::vector<int> also_ok = {}) {
    return RetryTransientResult<HttpResponse>(spec_.retry, clock_, what + " " + Name(object), [&] {
      return Call(what, method, url, object, headers, body, also_ok);
    });
  }

 private:
  StorageSpec spec_;
  Clock& clock_;
  std::shared_ptr<CancelLink> cancel_;
  gcs::TokenSource tokens_;
  std::string endpoint_;
};

cloud::RangeFetch GcsRange(std::shared_ptr<GcsClient> gcs, std::string object) {
  return [gcs = std::move(gcs), object = std::move(object)](
             uint64_t offset, size_t length) -> Result<cloud::RangeAnswer> {
    std::string range =
        "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1);
    ABS_ASSIGN_OR_RETURN(auto res, gcs->Send("GET", gcs->ObjectUrl(object) + "?alt=media", object,
                                             {{"Range", range}}, {}, /*interruptible=*/true));
    return cloud::ReadRangeAnswer(std::move(res), offset, length, [&](const HttpResponse& r) {
      return gcs->Failure("read", object, r);
    });
  };
}

std::string StorageClassOf(const StorageSpec& spec, const std::string& object) {
  return !spec.storage_class.empty() && object.ends_with(".asb") ? spec.storage_class : "";
}

// "bytes=0-1048575" -> 1048576 bytes kept; no header: none.
uint64_t Persisted(const HttpResponse& res) {
  std::string range = res.Header("range");
  size_t dash = range.find('-');
  if (dash == std::string::npos) return 0;
  return std::strtoull(range.c_str() + dash + 1, nullptr, 10) + 1;
}

// A resumable upload once the object outgrows one chunk; one media upload otherwise.
class GcsWriter : public cloud::PartWriter {
 public:
  GcsWriter(std::shared_ptr<GcsClient> gcs, std::string object)
      : PartWriter(gcs->Name(object), ChunkSize(gcs->spec())),
        gcs_(std::move(gcs)),
        object_(std::move(object)) {}
  ~GcsWriter() override {
    if (!done()) Abandon();
  }

  // min-part-size rounded up to the 256 KiB that every chunk but the last must be.
  static size_t ChunkSize(const StorageSpec& spec) {
    size_t want = static_cast<size_t>(std::max<int64_t>(kChunkUnit, spec.min_part_size));
    return (want + kChunkUnit - 1) / kChunkUnit * kChunkUnit;
  }

 protected:
  Status SendPart(std::string part) override { return SendChunk(std::move(part), false); }

  Status Finish(std::string rest) override {
    // A storage class needs object metadata, which only a resumable upload carries.
    if (session_.empty() && StorageClassOf(gcs_->spec(), object_).empty()) {
      return gcs_
          ->CallWithRetries("write", "POST", gcs_->UploadUrl(object_, "media"), object_, {}, rest)
          .status();
    }
    return SendChunk(std::move(rest), true);
  }

  // A failed upload's session is cancelled.
  void Abandon() override {
    if (session_.empty()) return;
    (void)gcs_->Send("DELETE", session_, object_, {}, {});
    session_.clear();
  }

 private:
  Status Start() {
    nlohmann::json meta = nlohmann::json::object();
    std::string cls = StorageClassOf(gcs_->spec(), object_);
    if (!cls.empty()) meta["storageClass"] = cls;
    ABS_ASSIGN_OR_RETURN(
        auto res,
        gcs_->CallWithRetries("start the upload of", "POST", gcs_->UploadUrl(object_, "resumable"),
                              object_, {{"Content-Type", "application/json"}}, meta.dump()));
    session_ = res.Header("location");
    if (session_.empty()) {
      return Status::Corrupt("start the upload of " + gcs_->Name(object_) +
                             ": no session in the answer");
    }
    return Status::Ok();
  }

  // Sends `chunk` from the session's offset. A transient failure asks the server what it
  // kept and sends the rest; the chunk is dropped only once all of it is kept.
  Status SendChunk(std::string chunk, bool last) {
    if (session_.empty()) ABS_RETURN_IF_ERROR(Start());
    const uint64_t total = offset_ + chunk.size();
    size_t sent = 0;  // of chunk, confirmed kept
    Status st = RetryTransient(
        gcs_->spec().retry, gcs_->clock(), "upload " + gcs_->Name(object_),
        [&]() -> Status {
          while (true) {
            // A middle chunk the session already holds whole is done: "bytes */<total>"
            // would finish the object at this length.
            if (!last && sent == chunk.size()) return Status::Ok();
            std::string_view rest = std::string_view(chunk).substr(sent);
            std::string range = rest.empty() ? "bytes */" + std::to_string(total)
                                             : "bytes " + std::to_string(offset_ + sent) + "-" +
                                                   std::to_string(total - 1) + "/" +
                                                   (last ? std::to_string(total) : "*");
            const size_t before = sent;
            auto res = gcs_->Send("PUT", session_, object_, {{"Content-Range", range}}, rest,
                                  /*interruptible=*/true);
            if (!res.ok()) {
              if (IsTransient(res.status())) Resync(chunk.size(), &sent);
              return res.status();  // retried after the pause, from what the server kept
            }
            if (res->status == 200 || res->status == 201) {
              if (!last)
                return Status::Corrupt("upload " + gcs_->Name(object_) + ": finished early");
              return Status::Ok();
            }
            if (res->status == 308) {
              uint64_t kept = Persisted(*res);
              if (kept < offset_ || kept > total) {
                return Status::Corrupt("upload " + gcs_->Name(object_) + ": the server kept " +
                                       std::to_string(kept) + " bytes of " + std::to_string(total));
              }
              sent = static_cast<size_t>(kept - offset_);
              if (!last && sent == chunk.size()) return Status::Ok();
              // Nothing more kept: a retry, after its pause, rather than a tight loop.
              if (sent <= before) {
                return Status::Unavailable("upload " + gcs_->Name(object_) +
                                           ": the server kept nothing more of the chunk");
              }
              continue;  // part of it kept: the rest now
            }
            Status failure = gcs_->Failure("upload", object_, *res);
            if (IsTransient(failure)) Resync(chunk.size(), &sent);
            return failure;
          }
        },
        gcs_->cancel());
    if (!st.ok()) return st;
    offset_ = total;
    if (last) session_.clear();
    return Status::Ok();
  }

  // Asks the session how much of the current chunk it kept.
  void Resync(size_t chunk_size, size_t* sent) {
    auto res = gcs_->Send("PUT", session_, object_, {{"Content-Range", "bytes */*"}}, {});
    if (res.ok() && res->status == 308) {
      uint64_t kept = Persisted(*res);
      if (kept >= offset_ && kept <= offset_ + chunk_size) {
        *sent = static_cast<size_t>(kept - offset_);
      }
    }
  }

  std::shared_ptr<GcsClient> gcs_;
  std::string object_;
  std::string session_;
  uint64_t offset_ = 0;  // bytes the session has kept
};

// Whole object names in the bucket, for ObjectStore.
class GcsApi : public cloud::ObjectApi {
 public:
  explicit GcsApi(std::shared_ptr<GcsClient> gcs) : gcs_(std::move(gcs)) {}
  ~GcsApi() override { gcs_->Close(); }

  std::string Name(const std::string& object) const override { return gcs_->Name(object); }

  Result<cloud::KeyPage> ListPage(const std::string& object_prefix, const std::string& token,
                                  int max_keys) override {
    std::string url = gcs_->BucketUrl() + "/o?prefix=" + cloud::UriEncode(object_prefix) +
                      "&fields=" + cloud::UriEncode("items(name,size),nextPageToken");
    if (!token.empty()) url += "&pageToken=" + cloud::UriEncode(token);
    if (max_keys > 0) url += "&maxResults=" + std::to_string(max_keys);
    ABS_ASSIGN_OR_RETURN(auto res, gcs_->Call("list", "GET", url, object_prefix, {}, {}));
    ABS_ASSIGN_OR_RETURN(auto page,
                         gcs::ParseObjectList(res.body, "listing of " + gcs_->Name(object_prefix)));
    cloud::KeyPage out;
    for (auto& o : page.objects)
      out.keys.push_back({std::move(o.name), o.size});
    out.next_token = page.next_page_token;
    return out;
  }

  cloud::RangeFetch Range(const std::string& object) override { return GcsRange(gcs_, object); }

  std::unique_ptr<Writer> NewWriter(const std::string& object) override {
    return std::make_unique<GcsWriter>(gcs_, object);
  }

  Status Delete(const std::string& object) override {
    return gcs_->Call("remove", "DELETE", gcs_->ObjectUrl(object), object, {}, {}, {404}).status();
  }

  Result<bool> CreateIfAbsent(const std::string& object, std::string_view data) override {
    ABS_ASSIGN_OR_RETURN(
        auto res,
        gcs_->Call("create", "POST", gcs_->UploadUrl(object, "media") + "&ifGenerationMatch=0",
                   object, {}, data, {412}));
    return res.status != 412;
  }

  Result<bool> KeyExists(const std::string& object) override {
    ABS_ASSIGN_OR_RETURN(
        auto res, gcs_->Call("look up", "GET", gcs_->ObjectUrl(object), object, {}, {}, {404}));
    return res.status != 404;
  }

  Status Reach() override {
    return gcs_->Call("reach", "GET", gcs_->BucketUrl(), "", {}, {}).status();
  }

 private:
  std::shared_ptr<GcsClient> gcs_;
};

}  // namespace

Result<std::unique_ptr<Storage>> OpenGcsStorage(const StorageSpec& spec, Clock& clock,
                                                const std::atomic<bool>* cancel) {
  if (spec.bucket.empty()) return Status::InvalidArgument("gcp-storage needs a bucket-name");
  std::string key = spec.gcs_key_json;
  std::string what = "gcp-storage key";
  std::string file = spec.gcs_key_file_path;
  if (key.empty() && file.empty()) {
    const char* env = std::getenv("GOOGLE_APPLICATION_CREDENTIALS");
    if (env && *env) file = env;
  }
  if (key.empty() && !file.empty()) {
    ABS_ASSIGN_OR_RETURN(key, ReadSmallFile(file, 64 << 10, "service-account key file"));
    what = "service-account key file " + file;
  }
  if (!key.empty()) ABS_RETURN_IF_ERROR(gcs::ParseServiceAccountKey(key, what).status());
  return std::unique_ptr<Storage>(new cloud::ObjectStore(
      std::make_shared<GcsApi>(std::make_shared<GcsClient>(spec, clock, key, cancel)), spec.path,
      spec.Describe(), static_cast<size_t>(spec.min_part_size)));
}

}  // namespace absvc::storage
