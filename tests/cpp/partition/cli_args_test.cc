// mmdeploy-partition's command line: what ParseArgs accepts, what it
// rejects (always a usage error, exit code 2, naming the option), and the
// help text.
#include <gtest/gtest.h>
#include <mmdeploy/partition/exit_codes.h>

#include <string>
#include <vector>

#include "cli_args.h"
#include "test_models.h"

namespace mmdeploy::partition::cli {
namespace {

using test::Contains;

Args Parse(std::vector<std::string> words) {
  words.insert(words.begin(), "mmdeploy-partition");
  std::vector<char*> argv;
  for (auto& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  return ParseArgs(static_cast<int>(words.size()), argv.data());
}

// The usage error ParseArgs throws for `words`, or a failure naming what
// happened instead.
::testing::AssertionResult UsageError(const std::vector<std::string>& words,
                                      const std::string& fragment) {
  try {
    Parse(words);
  } catch (const CliError& error) {
    if (error.code != ExitCode::kUsage) {
      return ::testing::AssertionFailure()
             << "exit code " << ToInt(error.code) << ": " << error.message;
    }
    return Contains(error.message, fragment);
  }
  return ::testing::AssertionFailure() << "was accepted";
}

TEST(ParseArgs, CutTakesRepeatedCommaListsAndEveryOption) {
  Args args = Parse({"m.onnx", "--start", "a:input,b:input", "--end",
                     "c:output", "--start=d[1]:input", "-o", "out.onnx",
                     "--output-names", "x,y", "--dynamic-axes",
                     "in:put:0:batch", "--dynamic-axes=x:1:n",
                     "--expose-uncovered-inputs", "--no-infer-shapes",
                     "--check", "-q"});
  EXPECT_EQ(args.model, "m.onnx");
  EXPECT_EQ(args.start,
            (std::vector<std::string>{"a:input", "b:input", "d[1]:input"}));
  EXPECT_EQ(args.end, std::vector<std::string>{"c:output"});
  EXPECT_EQ(args.output, "out.onnx");
  EXPECT_EQ(args.output_names, (std::vector<std::string>{"x", "y"}));
  ASSERT_TRUE(args.has_output_names && args.has_dynamic_axes);
  // The tensor name may hold ':'; axis and dim are the last two parts.
  EXPECT_EQ(args.dynamic_axes.at("in:put").at(0), "batch");
  EXPECT_EQ(args.dynamic_axes.at("x").at(1), "n");
  EXPECT_TRUE(args.options.expose_uncovered_inputs);
  EXPECT_FALSE(args.options.infer_shapes);
  EXPECT_TRUE(args.check && args.quiet);
  EXPECT_FALSE(args.list || args.strip || args.help || args.version);
}

TEST(ParseArgs, OtherModes) {
  EXPECT_TRUE(Parse({"m.onnx", "--list"}).list);
  Args strip = Parse({"--strip", "-ostripped.onnx", "m.onnx"});
  EXPECT_TRUE(strip.strip);
  EXPECT_EQ(strip.output, "stripped.onnx");
  Args config = Parse({"m.onnx", "--config", "c.json", "--work-dir", "out",
                       "--visualize", "map.svg"});
  EXPECT_EQ(config.config, "c.json");
  EXPECT_EQ(config.work_dir, "out");
  EXPECT_EQ(config.visualize, "map.svg");
  EXPECT_EQ(Parse({"m.onnx", "--inputs", "x", "-o", "p.onnx",
                   "--visualize=map.svg"})
                .visualize,
            "map.svg");
  EXPECT_TRUE(config.options.infer_shapes);
  // After "--" a word that looks like an option is the MODEL.
  EXPECT_EQ(Parse({"--list", "--", "-odd.onnx"}).model, "-odd.onnx");
}

TEST(ParseArgs, HelpAndVersionNeedNoModel) {
  EXPECT_TRUE(Parse({"--help"}).help);
  EXPECT_TRUE(Parse({"-h", "-h"}).help);
  EXPECT_TRUE(Parse({"--version"}).version);
  // ... but the options given with them must still parse.
  EXPECT_TRUE(UsageError({"--help", "--bogus"}, "unknown option '--bogus'"));
}

TEST(ParseArgs, RejectsWhatCli11Rejects) {
  EXPECT_TRUE(UsageError({"m.onnx", "--bogus"},
                         "unknown option '--bogus' (see --help)"));
  EXPECT_TRUE(UsageError({"m.onnx", "--list", "-z"}, "unknown option '-z'"));
  EXPECT_TRUE(UsageError({"m.onnx", "--start"}, "--start: missing value"));
  EXPECT_TRUE(
      UsageError({"m.onnx", "--strip", "-o"}, "--output: missing value"));
  EXPECT_TRUE(UsageError({"m.onnx", "--list=yes"}, "--list: takes no value"));
  EXPECT_TRUE(UsageError({"a.onnx", "b.onnx", "--list"},
                         "expected one MODEL, got 'a.onnx' and 'b.onnx'"));
}

TEST(ParseArgs, RejectsRepeatedOrEmptyValues) {
  EXPECT_TRUE(UsageError({"m.onnx", "--strip", "-o", "a.onnx", "--output",
                          "b.onnx"},
                         "--output: given more than once"));
  EXPECT_TRUE(UsageError({"m.onnx", "--list", "--list"},
                         "--list: given more than once"));
  EXPECT_TRUE(UsageError({"m.onnx", "--strip", "-o", ""},
                         "--output: empty value"));
  EXPECT_TRUE(UsageError({"m.onnx", "--start", "a:input,,b:input", "--end",
                          "c:output", "-o", "x.onnx"},
                         "--start: empty item in 'a:input,,b:input'"));
  EXPECT_TRUE(UsageError({"m.onnx", "--start", "a:input", "--end", "c:output",
                          "-o", "x.onnx", "--dynamic-axes", "input:batch"},
                         "expected NAME:AXIS:DIM"));
}

TEST(ParseArgs, RejectsModesAndOptionsThatDoNotFit) {
  EXPECT_TRUE(UsageError({}, "missing MODEL"));
  EXPECT_TRUE(UsageError({"m.onnx"}, "nothing to do"));
  EXPECT_TRUE(UsageError({"m.onnx", "--list", "--strip", "-o", "x.onnx"},
                         "give only one of"));
  EXPECT_TRUE(UsageError({"m.onnx", "--start", "a:input", "-o", "x.onnx"},
                         "--end is missing"));
  EXPECT_TRUE(UsageError({"m.onnx", "--start", "a:input", "--end",
                          "b:output"},
                         "--start/--end needs -o OUT"));
  EXPECT_TRUE(UsageError({"m.onnx", "--list", "-o", "x.onnx"},
                         "-o is only used with"));
  EXPECT_TRUE(UsageError({"m.onnx", "--config", "c.json"},
                         "--config needs --work-dir"));
  EXPECT_TRUE(UsageError({"m.onnx", "--list", "--work-dir", "d"},
                         "--work-dir is only used with --config"));
  EXPECT_TRUE(UsageError({"m.onnx", "--list", "--output-names", "a"},
                         "--output-names is only used with --start/--end"));
  EXPECT_TRUE(UsageError({"m.onnx", "--strip", "-o", "x.onnx",
                          "--no-infer-shapes"},
                         "only used with --start/--end or --config"));
  EXPECT_TRUE(UsageError({"m.onnx", "--list", "--check"},
                         "--check is not used with --list"));
  EXPECT_TRUE(UsageError({"m.onnx", "--strip", "-o", "x.onnx", "--visualize",
                          "map.svg"},
                         "--visualize draws a cut"));
  EXPECT_TRUE(UsageError({"m.onnx", "--start", "a:input", "--end", "b:output",
                          "-o", "x.onnx", "--visualize", ""},
                         "--visualize: empty value"));
}

TEST(HelpText, StartsWithTheSynopsisAndExplainsEveryOption) {
  const std::string help = HelpText();
  EXPECT_EQ(help.rfind(kUsage, 0), 0u) << help;
  for (const char* part :
       {"Modes (exactly one):", "Options:", "MODEL", "--list",
        "--start M[,M...]", "--end M[,M...]", "--config FILE", "--strip",
        "-o, --output FILE", "--work-dir DIR", "--output-names A,B",
        "--dynamic-axes N:A:D,...", "--expose-uncovered-inputs",
        "--no-infer-shapes", "--visualize FILE", "--check", "-q, --quiet",
        "-h, --help",
        "--version", "Output:", "Examples:"}) {
    EXPECT_TRUE(Contains(help, part));
  }
}

TEST(HelpText, PrintsTheSharedExitCodeTable) {
  const std::string help = HelpText();
  EXPECT_TRUE(Contains(help, ExitCodeHelp()));
  for (const auto& row : ExitCodeTable()) {
    EXPECT_TRUE(Contains(help, "\n  " + std::to_string(ToInt(row.code)) +
                                   "  " + row.meaning + "\n"));
  }
}

}  // namespace
}  // namespace mmdeploy::partition::cli
