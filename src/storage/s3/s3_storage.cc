#include "storage/s3/s3_storage.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <future>
#include <map>
#include <mutex>

#include "common/base64.h"
#include "common/text.h"
#include "storage/cloud/crypto.h"
#include "storage/cloud/http_client.h"
#include "storage/cloud/object_store.h"
#include "storage/cloud/transfer.h"
#include "storage/cloud/uri.h"
#include "storage/cloud/xml.h"
#include "storage/s3/credentials.h"
#include "storage/s3/s3_xml.h"
#include "storage/s3/sigv4.h"
#include "storage/wrappers/wrappers.h"

namespace absvc::storage {
namespace {

using cloud::Headers;
using cloud::HttpResponse;

constexpr size_t kDeleteBatch = 1000;

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class S3Client {
 public:
  S3Client(const StorageSpec& spec, Clock& clock, const std::atomic<bool>* cancel)
      : spec_(spec),
        clock_(clock),
        credentials_(spec),
        parts_(cloud::NewPartControl(spec, cancel)) {
    region_ = spec.s3_region;
    if (region_.empty()) region_ = credentials_.ProfileRegion();
    if (region_.empty()) region_ = "us-east-1";
    if (!spec.s3_endpoint_override.empty()) {
      endpoint_ = spec.s3_endpoint_override;
      while (!endpoint_.empty() && endpoint_.back() == '/')
        endpoint_.pop_back();
      if (endpoint_.find("://") == std::string::npos) endpoint_ = "https://" + endpoint_;
      path_style_ = true;
    } else {
      path_style_ = spec.s3_path_style;
      endpoint_ = path_style_ ? "https://s3." + region_ + ".amazonaws.com"
                              : "https://" + spec.bucket + ".s3." + region_ + ".amazonaws.com";
    }
  }

  const StorageSpec& spec() const { return spec_; }
  Clock& clock() { return clock_; }
  const cloud::PartControl& parts() const { return parts_; }

  // "s3://bucket/key" for messages.
  std::string Name(const std::string& key) const {
    return "s3://" + spec_.bucket + (key.empty() ? "" : "/" + key);
  }

  // One signed request. The HTTP status is left to the caller, except that an expired
  // token drops the cached credentials so the retry signs with fresh ones.
  Result<HttpResponse> Send(const std::string& method, const std::string& key,
                            std::vector<std::pair<std::string, std::string>> query, Headers headers,
                            std::string_view body, const cloud::HttpRequest* shape = nullptr,
                            bool interruptible = false) {
    ABS_ASSIGN_OR_RETURN(auto creds, credentials_.Get(UnixNow()));
    s3::SignedRequestParts parts;
    parts.method = method;
    parts.path = path_style_ ? "/" + spec_.bucket + (key.empty() ? "" : "/" + key) : "/" + key;
    parts.query = std::move(query);
    std::string host = cloud::UrlOrigin(endpoint_);
    host = host.substr(host.find("://") + 3);
    parts.headers = headers;
    parts.headers.push_back({"Host", host});
    parts.payload_sha256_hex = cloud::Sha256Hex(body);
    s3::SigningOptions options;
    options.region = region_;
    options.service = "s3";
    options.unix_seconds = UnixNow();
    options.normalize_path = false;
    options.add_content_sha256_header = true;
    s3::Signature sig = s3::SignV4(parts, creds, options);
    cloud::HttpRequest req = shape ? *shape : cloud::HttpRequest{};
    req.method = method;
    req.url =
        endpoint_ + sig.encoded_path + (sig.encoded_query.empty() ? "" : "?" + sig.encoded_query);
    req.headers = std::move(headers);
    for (auto& h : sig.added_headers)
      req.headers.push_back(h);
    req.headers.push_back({"Authorization", sig.authorization});
    req.body = body;
    if (spec_.retry.request_timeout_ms > 0) {
      req.timeout = std::chrono::milliseconds(spec_.retry.request_timeout_ms);
    }
    if (interruptible) req.cancel = parts_.cancel;
    auto res = cloud::SendHttp(req);
    if (!res.ok()) return res.status().WithContext(Name(key));
    if (res->status == 400 || res->status == 403) {
      auto e = s3::ParseS3Error(res->body);
      if (e.code == "ExpiredToken" || e.code == "TokenRefreshRequired") credentials_.Invalidate();
    }
    return res;
  }

  // The Status for an answer that is not a success: transient (5xx, 429, SlowDown,
  // RequestTimeout, an expired token) or not, naming the object and S3's own words.
  Status Failure(const std::string& what, const std::string& key, const HttpResponse& res) {
    auto e = s3::ParseS3Error(res.body);
    std::string text = what + " " + Name(key) + ": HTTP " + std::to_string(res.status) +
                       (e.code.empty() ? "" : " " + e.code) +
                       (e.message.empty() ? "" : ": " + e.message);
    if (res.status >= 500 || res.status == 429 || e.code == "SlowDown" ||
        e.code == "ExpiredToken" || e.code == "TokenRefreshRequired" ||
        e.code == "ConditionalRequestConflict") {
      return Status::Unavailable(text);
    }
    if (res.status == 408 || e.code == "RequestTimeout") return Status::Timeout(text);
    if (res.status == 404 && e.code != "NoSuchBucket") return Status::NotFound(text);
    if (res.status == 404) return Status::Io(text + " (the bucket does not exist)");
    if (res.status == 403)
      return Status::Io(text + " (check the credentials: " + credentials_.source() + ")");
    if (res.status >= 300 && res.status < 400) {
      return Status::Io(text + cloud::RedirectNote(res) + "; is s3-region '" + region_ +
                        "' the bucket's region?");
    }
    return Status::Io(text);
  }

  // One attempt; success is any 2xx, or one of `also_ok`. Whole-object calls are retried
  // by the retry wrapper above this storage.
  Result<HttpResponse> Call(const std::string& what, const std::string& method,
                            const std::string& key,
                            std::vector<std::pair<std::string, std::string>> query, Headers headers,
                            std::string_view body, std::vector<int> also_ok = {},
                            bool interruptible = false) {
    ABS_ASSIGN_OR_RETURN(HttpResponse out, Send(method, key, std::move(query), std::move(headers),
                                                body, nullptr, interruptible));
    if (out.status >= 200 && out.status < 300) return out;
    for (int ok : also_ok)
      if (out.status == ok) return out;
    return Failure(what, key, out);
  }

  // With retries of transient failures: for the steps of an upload, which the wrapper
  // cannot replay (the writer's data is gone once handed over).
  Result<HttpResponse> CallWithRetries(const std::string& what, const std::string& method,
                                       const std::string& key,
                                       std::vector<std::pair<std::string, std::string>> query,
                                       Headers headers, std::string_view body,
                                       std::vector<int> also_ok = {}) {
    return RetryTransientResult<HttpResponse>(spec_.retry, clock_, what + " " + Name(key), [&] {
      return Call(what, method, key, query, headers, body, also_ok);
    });
  }

  // A part of an upload: retried like the steps above, and ended (kCancelled) as soon as
  // the storage's cancel flag is set, in a request or in a back-off.
  Result<HttpResponse> SendPartWithRetries(const std::string& what, const std::string& key,
                                           std::vector<std::pair<std::string, std::string>> query,
                                           std::string_view body) {
    return RetryTransientResult<HttpResponse>(
        spec_.retry, clock_, what + " " + Name(key),
        [&] { return Call(what, "PUT", key, query, {}, body, {}, /*interruptible=*/true); },
        parts_.cancel.get());
  }

 private:
  StorageSpec spec_;
  Clock& clock_;
  s3::CredentialsProvider credentials_;
  std::string region_, endpoint_;
  bool path_style_ = true;
  cloud::PartControl parts_;
};

// One ranged GET for the RangedReader.
cloud::RangeFetch S3Range(std::shared_ptr<S3Client> s3, std::string key) {
  return [s3 = std::move(s3), key = std::move(key)](uint64_t offset,
                                                    size_t length) -> Result<cloud::RangeAnswer> {
    std::string range =
        "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1);
    ABS_ASSIGN_OR_RETURN(auto res, s3->Send("GET", key, {}, {{"Range", range}}, {}, nullptr,
                                            /*interruptible=*/true));
    return cloud::ReadRangeAnswer(std::move(res), offset, length, [&](const HttpResponse& r) {
      return s3->Failure("read", key, r);
    });
  };
}

Headers StorageClassHeaders(const StorageSpec& spec, const std::string& key) {
  // The data class goes on backup files; metadata keeps the bucket's default.
  if (!spec.storage_class.empty() && key.ends_with(".asb")) {
    return {{"x-amz-storage-class", spec.storage_class}};
  }
  return {};
}

// A small object is one PUT at Close, a larger one a multipart upload whose parts go up
// while the next fills, completed at Close and aborted on any failure.
class S3Writer : public cloud::PartWriter {
 public:
  S3Writer(std::shared_ptr<S3Client> s3, std::string key)
      : PartWriter(s3->Name(key),
                   static_cast<size_t>(std::max<int64_t>(5 << 20, s3->spec().min_part_size))),
        s3_(std::move(s3)),
        key_(std::move(key)),
        parts_in_flight_(
            s3_->parts(), s3_->Name(key_),
            static_cast<size_t>(std::max<int64_t>(1, s3_->spec().max_async_connections))) {}

  ~S3Writer() override {
    if (!done()) Abandon();
  }

 protected:
  Status SendPart(std::string part) override {
    if (upload_id_.empty()) {
      ABS_ASSIGN_OR_RETURN(
          auto res, s3_->CallWithRetries("start the upload of", "POST", key_, {{"uploads", ""}},
                                         StorageClassHeaders(s3_->spec(), key_), {}));
      ABS_ASSIGN_OR_RETURN(upload_id_, s3::ParseUploadId(res.body, "CreateMultipartUpload answer"));
    }
    int number = ++parts_;
    // S3 takes at most 10,000 parts: every 1,000 parts the next ones double, so the limit
    // is reached only past 5 TiB (S3's largest object) at the 5 MiB minimum.
    if (number % 1000 == 0) set_part_size(std::min<size_t>(part_size() * 2, size_t{5} << 30));
    const size_t bytes = part.size();
    auto body = std::make_shared<std::string>(std::move(part));
    return parts_in_flight_.Submit(
        number, bytes,
        [s3 = s3_, key = key_, upload = upload_id_, number, body]() -> Result<std::string> {
          ABS_ASSIGN_OR_RETURN(
              auto res, s3->SendPartWithRetries(
                            "upload part " + std::to_string(number) + " of", key,
                            {{"partNumber", std::to_string(number)}, {"uploadId", upload}}, *body));
          std::string etag = res.Header("etag");
          if (etag.empty()) {
            return Status::Corrupt("upload part of " + s3->Name(key) + ": no ETag in the answer");
          }
          return etag;
        });
  }

  Status Finish(std::string rest) override {
    if (upload_id_.empty()) {
      return s3_
          ->CallWithRetries("write", "PUT", key_, {}, StorageClassHeaders(s3_->spec(), key_), rest)
          .status();
    }
    if (!rest.empty()) ABS_RETURN_IF_ERROR(SendPart(std::move(rest)));
    ABS_ASSIGN_OR_RETURN(auto etags, parts_in_flight_.Finish());
    std::string xml = "<CompleteMultipartUpload>";
    for (const auto& [number, etag] : etags) {
      xml += "<Part><PartNumber>" + std::to_string(number) + "</PartNumber><ETag>" +
             cloud::XmlEscape(etag) + "</ETag></Part>";
    }
    xml += "</CompleteMultipartUpload>";
    // S3 may answer 200 with an error in the body; InternalError and SlowDown there are
    // retried like any transient answer.
    ABS_RETURN_IF_ERROR(RetryTransient(
        s3_->spec().retry, s3_->clock(), "complete the upload of " + s3_->Name(key_),
        [&]() -> Status {
          ABS_ASSIGN_OR_RETURN(auto res, s3_->Call("complete the upload of", "POST", key_,
                                                   {{"uploadId", upload_id_}}, {}, xml));
          auto e = s3::ParseS3Error(res.body);
          if (e.code.empty()) return Status::Ok();
          std::string text =
              "complete the upload of " + s3_->Name(key_) + ": " + e.code + ": " + e.message;
          bool busy = e.code == "InternalError" || e.code == "SlowDown" ||
                      e.code == "ServiceUnavailable" || e.code == "RequestTimeout";
          return busy ? Status::Unavailable(text) : Status::Io(text);
        }));
    upload_id_.clear();
    return Status::Ok();
  }

  // Parts of an abandoned upload cost storage until removed: the upload is aborted.
  void Abandon() override {
    (void)parts_in_flight_.Finish();
    if (upload_id_.empty()) return;
    (void)s3_->CallWithRetries("abort the upload of", "DELETE", key_, {{"uploadId", upload_id_}},
                               {}, {}, {404});
    upload_id_.clear();
  }

 private:
  std::shared_ptr<S3Client> s3_;
  std::string key_;
  cloud::PartPipeline parts_in_flight_;
  std::string upload_id_;
  int parts_ = 0;
};

// Whole keys in the bucket, for ObjectStore.
class S3Api : public cloud::ObjectApi {
 public:
  explicit S3Api(std::shared_ptr<S3Client> s3) : s3_(std::move(s3)) {}
  // Parts still in flight may outlive the storage; from now on they read as cancelled.
  ~S3Api() override { s3_->parts().Close(); }

  std::string Name(const std::string& key) const override { return s3_->Name(key); }

  Result<cloud::KeyPage> ListPage(const std::string& key_prefix, const std::string& token,
                                  int max_keys) override {
    std::vector<std::pair<std::string, std::string>> query = {{"list-type", "2"},
                                                              {"prefix", key_prefix}};
    if (!token.empty()) query.push_back({"continuation-token", token});
    if (max_keys > 0) query.push_back({"max-keys", std::to_string(max_keys)});
    ABS_ASSIGN_OR_RETURN(auto res, s3_->Call("list", "GET", "", query, {}, {}));
    ABS_ASSIGN_OR_RETURN(auto page,
                         s3::ParseListObjectsV2(res.body, "listing of " + s3_->Name(key_prefix)));
    cloud::KeyPage out;
    for (auto& o : page.objects)
      out.keys.push_back({std::move(o.key), o.size});
    out.next_token = page.truncated ? page.next_token : "";
    return out;
  }

  cloud::RangeFetch Range(const std::string& key) override { return S3Range(s3_, key); }

  std::unique_ptr<Writer> NewWriter(const std::string& key) override {
    return std::make_unique<S3Writer>(s3_, key);
  }

  Status Delete(const std::string& key) override {
    return s3_->Call("remove", "DELETE", key, {}, {}, {}, {404}).status();
  }

  // DeleteObjects, 1,000 keys at a time.
  Status DeleteKeys(const std::vector<std::string>& keys) override {
    for (size_t i = 0; i < keys.size(); i += kDeleteBatch) {
      std::string xml = "<Delete><Quiet>true</Quiet>";
      for (size_t j = i; j < std::min(keys.size(), i + kDeleteBatch); ++j)
        xml += "<Object><Key>" + cloud::XmlEscape(keys[j]) + "</Key></Object>";
      xml += "</Delete>";
      Headers headers = {{"Content-MD5", Base64Encode(cloud::Md5(xml))},
                         {"Content-Type", "application/xml"}};
      ABS_ASSIGN_OR_RETURN(auto res,
                           s3_->Call("remove", "POST", "", {{"delete", ""}}, headers, xml));
      ABS_ASSIGN_OR_RETURN(auto failed, s3::ParseDeleteErrors(res.body, "DeleteObjects answer"));
      if (!failed.empty()) {
        return Status::Io("remove in " + s3_->Name("") + ": " + std::to_string(failed.size()) +
                          " objects not deleted, first " + failed.front());
      }
    }
    return Status::Ok();
  }

  Result<bool> CreateIfAbsent(const std::string& key, std::string_view data) override {
    ABS_ASSIGN_OR_RETURN(
        auto res, s3_->Call("create", "PUT", key, {}, {{"If-None-Match", "*"}}, data, {412}));
    return res.status != 412;
  }

  Result<bool> KeyExists(const std::string& key) override {
    ABS_ASSIGN_OR_RETURN(auto res, s3_->Call("look up", "HEAD", key, {}, {}, {}, {404}));
    return res.status != 404;
  }

  Status Reach() override { return s3_->Call("reach", "HEAD", "", {}, {}, {}).status(); }

 private:
  std::shared_ptr<S3Client> s3_;
};

}  // namespace

Result<std::unique_ptr<Storage>> OpenS3Storage(const StorageSpec& spec, Clock& clock,
                                               const std::atomic<bool>* cancel) {
  if (spec.bucket.empty()) return Status::InvalidArgument("s3-storage needs a bucket");
  return std::unique_ptr<Storage>(new cloud::ObjectStore(
      std::make_shared<S3Api>(std::make_shared<S3Client>(spec, clock, cancel)), spec.path,
      spec.Describe(), static_cast<size_t>(spec.min_part_size)));
}

}  // namespace absvc::storage
