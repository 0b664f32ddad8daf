// Model strings as text a person reads: decoded to code points (so that
// lengths count characters, as a monospace drawing needs) and escaped for
// XML. Model strings are bytes; invalid UTF-8 is shown as U+FFFD.
#pragma once

#include <string>

namespace mmdeploy::partition {

// Code points of UTF-8 `text`; each byte of an invalid sequence (and an
// encoded surrogate) becomes U+FFFD.
std::u32string DecodeUtf8(const std::string& text);
std::string EncodeUtf8(const std::u32string& text);

// `text` as XML character data or attribute value: & < > " ' escaped, and
// characters XML 1.0 forbids (controls, U+FFFE/U+FFFF) replaced by U+FFFD.
std::string EscapeXml(const std::u32string& text);

}  // namespace mmdeploy::partition
