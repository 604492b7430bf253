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

constexpr size_t kReadChunk = 8 << 20;
constexpr size_t kDeleteBatch = 1000;

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class S3Client {
 public:
  S3Client(const StorageSpec& spec, Clock& clock) : spec_(spec), clock_(clock), credentials_(spec) {
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

  // "s3://bucket/key" for messages.
  std::string Name(const std::string& key) const {
    return "s3://" + spec_.bucket + (key.empty() ? "" : "/" + key);
  }

  // One signed request. The HTTP status is left to the caller, except that an expired
  // token drops the cached credentials so the retry signs with fresh ones.
  Result<HttpResponse> Send(const std::string& method, const std::string& key,
                            std::vector<std::pair<std::string, std::string>> query, Headers headers,
                            std::string_view body, const cloud::HttpRequest* shape = nullptr) {
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
      return Status::Io(text + " (a redirect: is s3-region '" + region_ +
                        "' the bucket's region?)");
    }
    return Status::Io(text);
  }

  // One attempt; success is any 2xx, or one of `also_ok`. Whole-object calls are retried
  // by the retry wrapper above this storage.
  Result<HttpResponse> Call(const std::string& what, const std::string& method,
                            const std::string& key,
                            std::vector<std::pair<std::string, std::string>> query, Headers headers,
                            std::string_view body, std::vector<int> also_ok = {}) {
    ABS_ASSIGN_OR_RETURN(HttpResponse out,
                         Send(method, key, std::move(query), std::move(headers), body));
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
    HttpResponse out;
    Status st = RetryTransient(spec_.retry, clock_, what + " " + Name(key), [&]() -> Status {
      ABS_ASSIGN_OR_RETURN(out, Call(what, method, key, query, headers, body, also_ok));
      return Status::Ok();
    });
    if (!st.ok()) return st;
    return out;
  }

 private:
  StorageSpec spec_;
  Clock& clock_;
  s3::CredentialsProvider credentials_;
  std::string region_, endpoint_;
  bool path_style_ = true;
};

// One ranged GET for the RangedReader.
cloud::RangeFetch S3Range(std::shared_ptr<S3Client> s3, std::string key) {
  return [s3 = std::move(s3), key = std::move(key)](uint64_t offset,
                                                    size_t length) -> Result<cloud::RangeAnswer> {
    std::string range =
        "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1);
    ABS_ASSIGN_OR_RETURN(auto res, s3->Send("GET", key, {}, {{"Range", range}}, {}));
    cloud::RangeAnswer answer;
    if (res.status == 416) {  // at or past the end (an empty object, above all)
      answer.past_end = true;
      return answer;
    }
    if (res.status != 200 && res.status != 206) return s3->Failure("read", key, res);
    if (res.status == 200) {  // the whole object, the range ignored
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

Headers StorageClassHeaders(const StorageSpec& spec, const std::string& key) {
  // The data class goes on backup files; metadata keeps the bucket's default.
  if (!spec.storage_class.empty() && key.ends_with(".asb")) {
    return {{"x-amz-storage-class", spec.storage_class}};
  }
  return {};
}

// Buffers up to min-part-size; a small object is one PUT at Close, a larger one a
// multipart upload whose parts go up while the next fills.
class S3Writer : public Writer {
 public:
  S3Writer(std::shared_ptr<S3Client> s3, std::string key)
      : s3_(std::move(s3)),
        key_(std::move(key)),
        part_size_(static_cast<size_t>(std::max<int64_t>(5 << 20, s3_->spec().min_part_size))),
        parts_in_flight_(
            static_cast<size_t>(std::max<int64_t>(1, s3_->spec().max_async_connections))) {}

  ~S3Writer() override {
    if (!closed_) Abort();
  }

  Status Write(std::string_view data) override {
    if (closed_) return Status::Internal("write to " + s3_->Name(key_) + " after close");
    if (!error_.ok()) return error_;
    written_ += data.size();
    while (!data.empty()) {
      size_t take = std::min(data.size(), part_size_ - buffer_.size());
      buffer_.append(data.substr(0, take));
      data.remove_prefix(take);
      if (buffer_.size() == part_size_) {
        Status st = SendPart();
        if (!st.ok()) return Fail(st);
      }
    }
    return Status::Ok();
  }

  Status Close() override {
    if (closed_) return error_;
    if (!error_.ok()) return error_;
    if (upload_id_.empty()) {
      auto res = s3_->CallWithRetries("write", "PUT", key_, {},
                                      StorageClassHeaders(s3_->spec(), key_), buffer_);
      closed_ = true;
      if (!res.ok()) return error_ = res.status();
      return Status::Ok();
    }
    if (!buffer_.empty()) {
      Status st = SendPart();
      if (!st.ok()) return Fail(st);
    }
    auto etags = parts_in_flight_.Finish();
    if (!etags.ok()) return Fail(etags.status());
    std::string xml = "<CompleteMultipartUpload>";
    for (const auto& [number, etag] : *etags) {
      xml += "<Part><PartNumber>" + std::to_string(number) + "</PartNumber><ETag>" +
             cloud::XmlEscape(etag) + "</ETag></Part>";
    }
    xml += "</CompleteMultipartUpload>";
    auto res = s3_->CallWithRetries("complete the upload of", "POST", key_,
                                    {{"uploadId", upload_id_}}, {}, xml);
    if (!res.ok()) return Fail(res.status());
    // S3 may answer 200 with an error in the body.
    auto e = s3::ParseS3Error(res->body);
    if (!e.code.empty()) {
      return Fail(Status::Io("complete the upload of " + s3_->Name(key_) + ": " + e.code + ": " +
                             e.message));
    }
    closed_ = true;
    return Status::Ok();
  }

  uint64_t bytes_written() const override { return written_; }

 private:
  Status Fail(Status st) {
    error_ = st;
    Abort();
    closed_ = true;
    return st;
  }

  void Abort() {
    (void)parts_in_flight_.Finish();
    if (upload_id_.empty()) return;
    // Parts of an abandoned upload cost storage until removed: abort it now.
    auto res = s3_->CallWithRetries("abort the upload of", "DELETE", key_,
                                    {{"uploadId", upload_id_}}, {}, {}, {404});
    upload_id_.clear();
    (void)res;
  }

  Status SendPart() {
    if (upload_id_.empty()) {
      ABS_ASSIGN_OR_RETURN(
          auto res, s3_->CallWithRetries("start the upload of", "POST", key_, {{"uploads", ""}},
                                         StorageClassHeaders(s3_->spec(), key_), {}));
      ABS_ASSIGN_OR_RETURN(upload_id_, s3::ParseUploadId(res.body, "CreateMultipartUpload answer"));
    }
    int number = ++parts_;
    auto body = std::make_shared<std::string>(std::move(buffer_));
    buffer_.clear();
    buffer_.reserve(part_size_);
    return parts_in_flight_.Submit(
        number, [s3 = s3_, key = key_, upload = upload_id_, number, body]() -> Result<std::string> {
          ABS_ASSIGN_OR_RETURN(
              auto res,
              s3->CallWithRetries("upload part " + std::to_string(number) + " of", "PUT", key,
                                  {{"partNumber", std::to_string(number)}, {"uploadId", upload}},
                                  {}, *body));
          std::string etag = res.Header("etag");
          if (etag.empty()) {
            return Status::Corrupt("upload part of " + s3->Name(key) + ": no ETag in the answer");
          }
          return etag;
        });
  }

  std::shared_ptr<S3Client> s3_;
  std::string key_;
  const size_t part_size_;
  cloud::PartPipeline parts_in_flight_;
  std::string buffer_;
  std::string upload_id_;
  int parts_ = 0;
  uint64_t written_ = 0;
  bool closed_ = false;
  Status error_;
};

class S3Storage : public Storage {
 public:
  explicit S3Storage(std::shared_ptr<S3Client> s3) : s3_(std::move(s3)) {}

  std::string Key(const std::string& path) const {
    const std::string& prefix = s3_->spec().path;
    return prefix.empty() ? path : path.empty() ? prefix : prefix + "/" + path;
  }

  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    if (!prefix.empty()) ABS_RETURN_IF_ERROR(ValidateRelativePath(prefix));
    std::string key_prefix = Key(prefix);
    if (prefix.empty() && !key_prefix.empty()) key_prefix += "/";
    const size_t strip = s3_->spec().path.empty() ? 0 : s3_->spec().path.size() + 1;
    std::vector<ObjectInfo> out;
    std::string token;
    do {
      std::vector<std::pair<std::string, std::string>> query = {{"list-type", "2"},
                                                                {"prefix", key_prefix}};
      if (!token.empty()) query.push_back({"continuation-token", token});
      ABS_ASSIGN_OR_RETURN(auto res, s3_->Call("list", "GET", "", query, {}, {}));
      ABS_ASSIGN_OR_RETURN(auto page,
                           s3::ParseListObjectsV2(res.body, "listing of " + s3_->Name(key_prefix)));
      for (auto& o : page.objects) {
        if (o.key.size() < strip) continue;
        std::string path = o.key.substr(strip);
        if (IsUnder(path, prefix) && ValidateRelativePath(path).ok()) out.push_back({path, o.size});
      }
      token = page.truncated ? page.next_token : "";
    } while (!token.empty());
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
    return out;
  }

  Result<std::unique_ptr<Reader>> OpenReader(const std::string& path) override {
    return OpenReaderAt(path, 0);
  }
  Result<std::unique_ptr<Reader>> OpenReaderAt(const std::string& path, uint64_t offset) override {
    ABS_RETURN_IF_ERROR(ValidateRelativePath(path));
    auto reader = std::make_unique<cloud::RangedReader>(S3Range(s3_, Key(path)),
                                                        s3_->Name(Key(path)), offset, kReadChunk);
    ABS_RETURN_IF_ERROR(reader->Start());
    return std::unique_ptr<Reader>(std::move(reader));
  }
  Result<std::unique_ptr<Writer>> OpenWriter(const std::string& path) override {
    ABS_RETURN_IF_ERROR(ValidateRelativePath(path));
    return std::unique_ptr<Writer>(new S3Writer(s3_, Key(path)));
  }

  Status Remove(const std::string& path) override {
    if (path.empty()) return Status::InvalidArgument("empty storage path");
    if (path.back() != '/') {
      ABS_RETURN_IF_ERROR(ValidateRelativePath(path));
      return s3_->Call("remove", "DELETE", Key(path), {}, {}, {}, {404}).status();
    }
    ABS_ASSIGN_OR_RETURN(auto objects, List(path.substr(0, path.size() - 1)));
    for (size_t i = 0; i < objects.size(); i += kDeleteBatch) {
      std::string xml = "<Delete><Quiet>true</Quiet>";
      for (size_t j = i; j < std::min(objects.size(), i + kDeleteBatch); ++j)
        xml += "<Object><Key>" + cloud::XmlEscape(Key(objects[j].path)) + "</Key></Object>";
      xml += "</Delete>";
      Headers headers = {{"Content-MD5", Base64Encode(cloud::Md5(xml))},
                         {"Content-Type", "application/xml"}};
      ABS_ASSIGN_OR_RETURN(auto res,
                           s3_->Call("remove", "POST", "", {{"delete", ""}}, headers, xml));
      ABS_ASSIGN_OR_RETURN(auto failed, s3::ParseDeleteErrors(res.body, "DeleteObjects answer"));
      if (!failed.empty()) {
        return Status::Io("remove " + s3_->Name(Key(path)) + ": " + std::to_string(failed.size()) +
                          " objects not deleted, first " + failed.front());
      }
    }
    return Status::Ok();
  }

  Result<bool> CreateExclusive(const std::string& path, std::string_view data) override {
    ABS_RETURN_IF_ERROR(ValidateRelativePath(path));
    ABS_ASSIGN_OR_RETURN(
        auto res, s3_->Call("create", "PUT", Key(path), {}, {{"If-None-Match", "*"}}, data, {412}));
    return res.status != 412;
  }

  Result<bool> Exists(const std::string& path) override {
    ABS_RETURN_IF_ERROR(ValidateRelativePath(path));
    ABS_ASSIGN_OR_RETURN(auto res, s3_->Call("look up", "HEAD", Key(path), {}, {}, {}, {404}));
    if (res.status != 404) return true;
    // A "directory" exists while an object is under it.
    ABS_ASSIGN_OR_RETURN(
        auto list,
        s3_->Call("list", "GET", "",
                  {{"list-type", "2"}, {"prefix", Key(path) + "/"}, {"max-keys", "1"}}, {}, {}));
    ABS_ASSIGN_OR_RETURN(auto page,
                         s3::ParseListObjectsV2(list.body, "listing of " + s3_->Name(Key(path))));
    return !page.objects.empty();
  }

  std::string Describe() const override { return s3_->spec().Describe(); }

  // The bucket answers HEAD with these credentials.
  Status Probe() override { return s3_->Call("reach", "HEAD", "", {}, {}, {}).status(); }

 private:
  std::shared_ptr<S3Client> s3_;
};

}  // namespace

Result<std::unique_ptr<Storage>> OpenS3Storage(const StorageSpec& spec, Clock& clock) {
  if (spec.bucket.empty()) return Status::InvalidArgument("s3-storage needs a bucket");
  return std::unique_ptr<Storage>(new S3Storage(std::make_shared<S3Client>(spec, clock)));
}

}  // namespace absvc::storage
