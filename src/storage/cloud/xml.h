// A small element tree over expat, for the XML that S3 and Azure answer with (listings,
// upload ids, errors). Bounded: depth and element count are capped, so a hostile or broken
// answer gives a clear error, never a crash or unbounded memory. Namespaces are ignored
// (elements are matched by local name).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace absvc::storage::cloud {

struct XmlElement {
  std::string name;  // local name, without a namespace prefix
  std::string text;  // character data directly inside
  std::vector<std::unique_ptr<XmlElement>> children;

  // The first child named `name`, or null.
  const XmlElement* Child(std::string_view name) const;
  // The text of the first child named `name`, or "".
  std::string ChildText(std::string_view name) const;
  std::vector<const XmlElement*> Children(std::string_view name) const;
};

// `what` names the answer in errors ("ListObjectsV2 answer from s3://bucket").
Result<std::unique_ptr<XmlElement>> ParseXml(std::string_view xml, const std::string& what);

// Text with &, <, >, " and ' escaped, for request bodies.
std::string XmlEscape(std::string_view text);

}  // namespace absvc::storage::cloud
