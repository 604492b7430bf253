#include "storage/cloud/xml.h"

#include <expat.h>

#include <climits>

namespace absvc::storage::cloud {
namespace {

constexpr size_t kMaxDepth = 32;
constexpr size_t kMaxElements = 2000000;

struct Builder {
  std::unique_ptr<XmlElement> root;
  std::vector<XmlElement*> open;
  size_t elements = 0;
  std::string error;
  XML_Parser parser = nullptr;

  void Fail(std::string why) {
    if (error.empty()) error = std::move(why);
    XML_StopParser(parser, XML_FALSE);
  }
};

std::string_view LocalName(const char* name) {
  std::string_view n(name);
  size_t sep = n.rfind('\x01');  // namespace separator set below
  if (sep != std::string_view::npos) n.remove_prefix(sep + 1);
  size_t colon = n.rfind(':');
  if (colon != std::string_view::npos) n.remove_prefix(colon + 1);
  return n;
}

void OnStart(void* user, const XML_Char* name, const XML_Char**) {
  auto* b = static_cast<Builder*>(user);
  if (!b->error.empty()) return;
  if (b->open.size() >= kMaxDepth) return b->Fail("elements nested deeper than 32");
  if (++b->elements > kMaxElements) return b->Fail("more than 2,000,000 elements");
  auto e = std::make_unique<XmlElement>();
  e->name = std::string(LocalName(name));
  XmlElement* raw = e.get();
  if (b->open.empty()) {
    if (b->root) return b->Fail("more than one root element");
    b->root = std::move(e);
  } else {
    b->open.back()->children.push_back(std::move(e));
  }
  b->open.push_back(raw);
}

void OnEnd(void* user, const XML_Char*) {
  auto* b = static_cast<Builder*>(user);
  if (!b->open.empty()) b->open.pop_back();
}

void OnText(void* user, const XML_Char* s, int len) {
  auto* b = static_cast<Builder*>(user);
  if (b->open.empty() || !b->error.empty()) return;
  b->open.back()->text.append(s, static_cast<size_t>(len));
}

// Entities declared in a DTD (billion laughs) are refused outright.
void OnEntityDecl(void* user, const XML_Char*, int, const XML_Char*, int, const XML_Char*,
                  const XML_Char*, const XML_Char*, const XML_Char*) {
  static_cast<Builder*>(user)->Fail("the answer declares entities");
}

}  // namespace

const XmlElement* XmlElement::Child(std::string_view n) const {
  for (const auto& c : children)
    if (c->name == n) return c.get();
  return nullptr;
}

std::string XmlElement::ChildText(std::string_view n) const {
  const XmlElement* c = Child(n);
  return c ? c->text : "";
}

std::vector<const XmlElement*> XmlElement::Children(std::string_view n) const {
  std::vector<const XmlElement*> out;
  for (const auto& c : children)
    if (c->name == n) out.push_back(c.get());
  return out;
}

Result<std::unique_ptr<XmlElement>> ParseXml(std::string_view xml, const std::string& what) {
  if (xml.size() > static_cast<size_t>(INT_MAX)) return Status::Corrupt(what + ": too large");
  Builder b;
  b.parser = XML_ParserCreateNS(nullptr, '\x01');
  if (!b.parser) return Status::Internal("cannot create an XML parser");
  XML_SetUserData(b.parser, &b);
  XML_SetElementHandler(b.parser, OnStart, OnEnd);
  XML_SetCharacterDataHandler(b.parser, OnText);
  XML_SetEntityDeclHandler(b.parser, OnEntityDecl);
  auto rc = XML_Parse(b.parser, xml.data(), static_cast<int>(xml.size()), XML_TRUE);
  std::string error = b.error;
  if (error.empty() && rc != XML_STATUS_OK) {
    error = std::string(XML_ErrorString(XML_GetErrorCode(b.parser))) + " at line " +
            std::to_string(XML_GetCurrentLineNumber(b.parser));
  }
  XML_ParserFree(b.parser);
  if (!error.empty()) return Status::Corrupt(what + " is not valid XML: " + error);
  if (!b.root) return Status::Corrupt(what + " is empty");
  return std::move(b.root);
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace absvc::storage::cloud
