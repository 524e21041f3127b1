// Every preset runs as a user would start it: one short epoch on a subset of
// real MNIST (the full-length runs are documented benchmarks, see README).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <fstream>
#include <string>

#include "bpnet/presets.hpp"
#include "cli_runner.hpp"
#include "test_support.hpp"

namespace bpnet {
namespace {

TEST(Presets, EachTrainsOneShortEpochOnASubsetOfMnist) {
  const auto dir = testing::mnist_dir_required_in_ci();
  if (dir.empty()) GTEST_SKIP() << "MNIST not fetched (scripts/fetch-mnist.sh)";
  for (const std::string_view name : preset_names()) {
    testing::ScratchDir scratch;
    const std::string run = (scratch / "run").string();
    const Outcome trained = run_bpnet("train --preset " + std::string(name) + " --data " + dir.string() +
                                      " --epochs 1 --train-images 3000 --quiet-progress --no-diagnostics --run-dir " +
                                      run);
    ASSERT_EQ(trained.exit_code, 0) << name << "\n" << trained.output;
    std::ifstream history_file(scratch / "run" / "history.json");
    const auto history = nlohmann::json::parse(history_file);
    EXPECT_EQ(history["config"]["preset"], name);
    EXPECT_EQ(history["config"]["train_images"], 3000u);
    // The command builds the preset's own network (BatchNorm1d included).
    EXPECT_EQ(history["config"]["layers"].size(), preset(name).model.layers.size()) << name;
    EXPECT_EQ(history["epochs"].size(), 1u) << name;
    // One epoch on 3000 images beats chance (10%); the tutorials' slow SGD learns least (about 30%).
    EXPECT_GT(history["test"]["accuracy"].get<double>(), 0.2) << name << "\n" << trained.output;
    const AugmentOptions expected = preset(name).augment;
    EXPECT_EQ(history["config"]["augment"]["kind"], std::string(bpnet::name(expected.kind))) << name;
  }
}

}  // namespace
}  // namespace bpnet
