#include "wire/result_code.h"

namespace absvc::wire::result {

std::string Name(int code) {
  switch (code) {
    case kOk:
      return "ok";
    case kServerError:
      return "server error";
    case kKeyNotFound:
      return "record not found";
    case kGenerationError:
      return "generation error";
    case kParameterError:
      return "parameter error";
    case kKeyExists:
      return "record already exists";
    case kClusterKeyMismatch:
      return "cluster key mismatch";
    case kServerFull:
      return "server out of space";
    case kTimeout:
      return "server timeout";
    case kPartitionUnavailable:
      return "partition unavailable";
    case kIncompatibleBinType:
      return "incompatible bin type";
    case kRecordTooBig:
      return "record too big";
    case kKeyBusy:
      return "key busy";
    case kUnsupportedFeature:
      return "unsupported feature";
    case kDeviceOverload:
      return "device overload";
    case kKeyMismatch:
      return "key mismatch";
    case kNamespaceNotFound:
      return "namespace not found";
    case kBinNameError:
      return "bad bin name";
    case kForbidden:
      return "forbidden";
    case kEnterpriseOnly:
      return "enterprise only";
    case kFilteredOut:
      return "filtered out";
    case kNotAuthenticated:
      return "not authenticated";
    case kRoleViolation:
      return "role violation";
    case kQuotaExceeded:
      return "quota exceeded";
    case kUdfError:
      return "UDF error";
    case kBatchMaxRequests:
      return "batch too many keys";
    case kBatchQueuesFull:
      return "batch queues full";
    default:
      return "result " + std::to_string(code);
  }
}

}  // namespace absvc::wire::result
