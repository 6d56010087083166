#include "metrics/build_info.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "metrics/exposition.h"

namespace messaging::metrics {
namespace {

std::string Collect(const Collector& collector) {
  Exposition out;
  collector.Collect(&out);
  return std::move(out).Text();
}

TEST(BuildInfoTest, IsOneWithTheLabelsGiven) {
  std::string version = "1.2.0";
  const std::unique_ptr<Collector> info =
      BuildInfo("consumer", {{"version", version}, {"grpc_version", "1.51.1"}});
  version = "changed";  // The labels were copied.
  EXPECT_EQ(Collect(*info),
            "# HELP consumer_build_info Always 1; the labels describe this "
            "build.\n"
            "# TYPE consumer_build_info gauge\n"
            "consumer_build_info{version=\"1.2.0\",grpc_version=\"1.51.1\"} "
            "1\n");
}

TEST(BuildInfoTest, EscapesLabelValues) {
  EXPECT_EQ(Collect(*BuildInfo("app", {{"revision", "a\"b\\c"}})),
            "# HELP app_build_info Always 1; the labels describe this build.\n"
            "# TYPE app_build_info gauge\n"
            "app_build_info{revision=\"a\\\"b\\\\c\"} 1\n");
}

TEST(BuildInfoDeathTest, RejectsNamesWhenMade) {
  EXPECT_DEATH(BuildInfo("my-app", {}),
               "'my-app_build_info' is not a valid metric name");
  EXPECT_DEATH(BuildInfo("app", {{"grpc version", "1"}}),
               "'grpc version' is not a valid label name");
}

}  // namespace
}  // namespace messaging::metrics
