// The exit-code table every tool shares: its rows and its help text.
#include <gtest/gtest.h>
#include <mmdeploy/partition/exit_codes.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace mmdeploy::partition {
namespace {

TEST(ExitCodeTable, HoldsTheProjectsCodesInOrder) {
  std::vector<std::pair<int, std::string>> rows;
  for (const auto& row : ExitCodeTable()) {
    rows.emplace_back(ToInt(row.code), row.name);
  }
  const std::vector<std::pair<int, std::string>> expected = {
      {0, "ok"},        {1, "verify"},    {2, "usage"},
      {3, "input"},     {4, "marker"},    {5, "partition"},
      {6, "write"},     {7, "environment"}, {130, "interrupted"}};
  EXPECT_EQ(rows, expected);
}

TEST(ExitCodeTable, CodesAndNamesAreDistinctAndEveryMeaningIsOneLine) {
  std::set<int> codes;
  std::set<std::string> names;
  for (const auto& row : ExitCodeTable()) {
    EXPECT_TRUE(codes.insert(ToInt(row.code)).second) << row.name;
    EXPECT_TRUE(names.insert(row.name).second) << row.name;
    const std::string meaning = row.meaning;
    EXPECT_FALSE(meaning.empty()) << row.name;
    EXPECT_EQ(meaning.find('\n'), std::string::npos) << row.name;
  }
}

TEST(ExitCodeTable, MeaningsSayWhatTheToolsPromise) {
  std::map<std::string, std::string> meaning;
  for (const auto& row : ExitCodeTable()) meaning[row.name] = row.meaning;
  EXPECT_EQ(meaning["ok"], "success");
  EXPECT_NE(meaning["verify"].find("--check"), std::string::npos);
  EXPECT_NE(meaning["verify"].find("--verify"), std::string::npos);
  EXPECT_NE(meaning["marker"].find("lists the model's markers"),
            std::string::npos);
  EXPECT_NE(meaning["write"].find("nothing was written"), std::string::npos);
  EXPECT_EQ(meaning["interrupted"],
            "interrupted (Ctrl-C); nothing was published");
}

TEST(ExitCodeHelp, ListsEveryCodeWithItsMeaningOneALine) {
  std::istringstream help(ExitCodeHelp());
  std::string line;
  ASSERT_TRUE(std::getline(help, line));
  EXPECT_EQ(line, "Exit codes:");
  for (const auto& row : ExitCodeTable()) {
    ASSERT_TRUE(std::getline(help, line)) << row.name;
    EXPECT_EQ(line,
              "  " + std::to_string(ToInt(row.code)) + "  " + row.meaning);
  }
  EXPECT_FALSE(std::getline(help, line)) << "extra line: " << line;
  EXPECT_EQ(ExitCodeHelp().substr(0, 24), "Exit codes:\n  0  success");
}

}  // namespace
}  // namespace mmdeploy::partition
