// Optimizer steps against values computed independently by
// tools/reference/optimizer_reference.py (plain Python doubles from the
// PyTorch update rules); its printed numbers are pasted below.
#include <gtest/gtest.h>

#include <vector>

#include "bpnet/error.hpp"
#include "bpnet/optim.hpp"

namespace bpnet {
namespace {

const std::vector<float> kStart{0.5f, -1.25f, 2.0f, 0.0f};
const std::vector<std::vector<float>> kGrads{
    {0.1f, -0.2f, 0.3f, -0.4f}, {-0.05f, 0.15f, 0.25f, 0.5f}, {0.2f, 0.0f, -0.1f, 0.3f}};

void expect_three_steps_reach(const OptimizerOptions& options, const std::vector<double>& expected) {
  auto optimizer = make_optimizer(options);
  std::vector<float> params = kStart;
  for (const auto& grad : kGrads) optimizer->step(params, grad, options.lr);
  ASSERT_EQ(params.size(), expected.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    EXPECT_NEAR(params[i], expected[i], 2e-6) << "parameter " << i;
  }
  EXPECT_EQ(optimizer->steps_taken(), 3u);
}

TEST(Optimizer, PlainSgd) {
  expect_three_steps_reach({.kind = OptimizerKind::sgd, .lr = 0.1},
                           {0.47499999999999998, -1.2449999999999999, 1.9550000000000001,
                            -0.039999999999999994});
}

TEST(Optimizer, SgdMomentumPyTorchSemantics) {
  expect_three_steps_reach({.kind = OptimizerKind::sgd, .lr = 0.1, .momentum = 0.9},
                           {0.46239999999999998, -1.2242999999999999, 1.8812, -0.01659999999999999});
}

TEST(Optimizer, SgdNesterov) {
  expect_three_steps_reach(
      {.kind = OptimizerKind::sgd, .lr = 0.1, .momentum = 0.9, .nesterov = true},
      {0.44116, -1.22187, 1.8480799999999999, -0.054939999999999989});
}

TEST(Optimizer, SgdWeightDecay) {
  expect_three_steps_reach(
      {.kind = OptimizerKind::sgd, .lr = 0.1, .momentum = 0.5, .weight_decay = 0.01},
      {0.4679019895, -1.2322374787499999, 1.9116229680000001, -0.035069959999999983});
}

TEST(Optimizer, AdamWithKerasEpsilon) {
  expect_three_steps_reach(
      {.kind = OptimizerKind::adam, .lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-7},
      {0.49807555319437008, -1.2488416271013654, 1.9974252224542424, 0.00045219169168054754});
}

TEST(Optimizer, AdamWithWeightDecay) {
  expect_three_steps_reach({.kind = OptimizerKind::adam,
                            .lr = 0.01,
                            .beta1 = 0.8,
                            .beta2 = 0.99,
                            .eps = 1e-8,
                            .weight_decay = 0.1},
                           {0.47536565451861085, -1.2279983194107367, 1.9719261652778224,
                            0.0033133461541191792});
}

TEST(Optimizer, RejectsAbsurdOptions) {
  EXPECT_THROW(make_optimizer({.lr = -1}), ConfigError);
  EXPECT_THROW(make_optimizer({.lr = 0}), ConfigError);
  EXPECT_THROW(make_optimizer({.momentum = 1.0}), ConfigError);
  EXPECT_THROW(make_optimizer({.nesterov = true}), ConfigError);
  EXPECT_THROW(make_optimizer({.kind = OptimizerKind::adam, .eps = 0}), ConfigError);
  EXPECT_THROW(make_optimizer({.kind = OptimizerKind::adam, .beta2 = 1.0}), ConfigError);
}

}  // namespace
}  // namespace bpnet
