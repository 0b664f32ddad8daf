#include "marker.h"

#include <gtest/gtest.h>

#include "test_models.h"

namespace mmdeploy::partition {
namespace {

TEST(ParseMarker, FuncAndTypeGiveFuncIdZero) {
  const Marker marker = ParseMarker("detector_forward:input");
  EXPECT_EQ(marker.func, "detector_forward");
  EXPECT_EQ(marker.func_id, 0);
  EXPECT_EQ(marker.type, "input");
}

TEST(ParseMarker, BracketsGiveTheFuncId) {
  const Marker marker = ParseMarker("yolo_head[12]:output");
  EXPECT_EQ(marker.func, "yolo_head");
  EXPECT_EQ(marker.func_id, 12);
  EXPECT_EQ(marker.type, "output");
}

TEST(ParseMarker, FuncMayContainDotsAndUnderscores) {
  EXPECT_EQ(ParseMarker("roi.extractor_v2:input").func, "roi.extractor_v2");
}

TEST(ParseMarker, ToStringIsCanonical) {
  EXPECT_EQ(ParseMarker("f:input").ToString(), "f[0]:input");
  EXPECT_EQ(ParseMarker("f[3]:output").ToString(), "f[3]:output");
}

TEST(ParseMarker, MalformedStringsNameTheStringAndTheExpectedForm) {
  for (const char* text :
       {"f", "f:", ":input", "f:inputs", "f[:input", "f[]:input",
        "f[x]:input", "f[-1]:input", "f]:input", "a:b:input", "f[1]x:input",
        "f[1234567890123456789]:input"}) {
    SCOPED_TRACE(text);
    const std::string quoted = std::string("'") + text + "'";
    EXPECT_THROW_WITH(ParseMarker(text), MarkerNotFoundError, quoted.c_str(),
                      "expected 'func:type' or 'func[id]:type'");
  }
}

TEST(ParseMarker, WrongTypeSaysWhatWasGiven) {
  EXPECT_THROW_WITH(ParseMarker("f:inptu"), MarkerNotFoundError,
                    "type must be 'input' or 'output', got 'inptu'");
}

TEST(TryParseMarker, ReportsInsteadOfThrowing) {
  Marker marker;
  std::string error;
  EXPECT_FALSE(TryParseMarker("f[x]:input", &marker, &error));
  EXPECT_NE(error.find("func_id"), std::string::npos);
  EXPECT_TRUE(TryParseMarker("f[2]:input", &marker, &error));
  EXPECT_EQ(marker.func_id, 2);
}

TEST(ShortMarkerString, OmitsFuncIdZero) {
  EXPECT_EQ(ShortMarkerString("f", 0, "input"), "f:input");
  EXPECT_EQ(ShortMarkerString("f", 2, "output"), "f[2]:output");
}

TEST(ParseMarker, BackslashEscapesSpecialCharactersOfTheFuncName) {
  EXPECT_EQ(ParseMarker(R"(a\,b:input)").func, "a,b");
  EXPECT_EQ(ParseMarker(R"(x\[y:input)").func, "x[y");
  const Marker marker = ParseMarker(R"(ns\:f\]\\[2]:output)");
  EXPECT_EQ(marker.func, R"(ns:f]\)");
  EXPECT_EQ(marker.func_id, 2);
  EXPECT_EQ(marker.ToString(), R"(ns\:f\]\\[2]:output)");
  EXPECT_THROW_WITH(ParseMarker("f:input\\"), MarkerNotFoundError,
                    "a '\\' ends the marker");
  EXPECT_THROW_WITH(ParseMarker("f[1\\]:input"), MarkerNotFoundError,
                    "'[' must be closed");
}

TEST(ShortMarkerString, EscapesTheFuncName) {
  EXPECT_EQ(ShortMarkerString("a,b", 0, "input"), R"(a\,b:input)");
  EXPECT_EQ(ShortMarkerString("x[y", 1, "output"), R"(x\[y[1]:output)");
  for (const char* func : {"a,b", "x[y", "p:q", "]", "\\", "a\\,"}) {
    SCOPED_TRACE(func);
    EXPECT_EQ(ParseMarker(ShortMarkerString(func, 3, "input")).func, func);
  }
}

}  // namespace
}  // namespace mmdeploy::partition
