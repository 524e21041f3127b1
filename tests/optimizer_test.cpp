// Optimizer steps against values computed independently by
// tools/reference/optimizer_reference.py (plain Python doubles from the
// PyTorch update rules); its printed numbers are pasted below.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
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

// A weight whose gradient was non-zero once and zero since: its momentum
// decays into the denormal range, where the update flushes it to zero (the
// slow microcode path is what the flush avoids) and the weight no longer
// moves, as it would not have: the step it would take is far below the
// weight's rounding. Large models take the threaded path (32 Ki parameters
// and more), so both sizes are checked.
TEST(Optimizer, MomentsThatDecayBelowTheNormalRangeBecomeZero) {
  for (const std::size_t n : {std::size_t{4}, std::size_t{40000}}) {
    for (const OptimizerKind kind : {OptimizerKind::sgd, OptimizerKind::adam}) {
      OptimizerOptions options{.kind = kind, .lr = 0.01, .momentum = kind == OptimizerKind::sgd ? 0.5 : 0.0};
      options.beta1 = 0.5;
      auto optimizer = make_optimizer(options);
      std::vector<float> params(n, 0.25f), grads(n, 0.0f);
      grads[0] = 1.0f;
      optimizer->step(params, grads, options.lr);
      grads[0] = 0.0f;
      const float moved = params[0];
      // 130 halvings from 0.5 or 1 leave 2^-130 or 2^-131: a denormal (the
      // normal range ends at 2^-126), which the flush makes 0.
      for (int i = 0; i < 130; ++i) optimizer->step(params, grads, options.lr);
      EXPECT_EQ(optimizer->state()[0], 0.0f) << "n " << n << " optimizer " << static_cast<int>(kind);
      EXPECT_NE(params[0], 0.25f);
      EXPECT_LT(std::abs(params[0] - moved), 0.05f) << "the decaying momentum still moved the weight a little";
      EXPECT_EQ(params[1], 0.25f);
    }
  }
}

TEST(Optimizer, RejectsAbsurdOptions) {
  EXPECT_THROW(make_optimizer({.lr = -1}), ConfigError);
  EXPECT_THROW(make_optimizer({.lr = 0}), ConfigError);
  EXPECT_THROW(make_optimizer({.momentum = 1.0}), ConfigError);
  EXPECT_THROW(make_optimizer({.nesterov = true}), ConfigError);
  EXPECT_THROW(make_optimizer({.kind = OptimizerKind::adam, .eps = 0}), ConfigError);
  EXPECT_THROW(make_optimizer({.kind = OptimizerKind::adam, .beta2 = 1.0}), ConfigError);
}

// step() reports a parameter that is no longer finite (the trainer's
// divergence check relies on it): one overflowing gradient anywhere, in a
// small model and in one large enough to be cut over the kernel threads, and
// a parameter that was NaN before the step. Finite steps report true.
TEST(Optimizer, StepReportsWhetherEveryParameterIsStillFinite) {
  const std::vector<OptimizerOptions> kinds = {{.kind = OptimizerKind::sgd, .lr = 0.1},
                                               {.kind = OptimizerKind::sgd, .lr = 0.1, .momentum = 0.9},
                                               {.kind = OptimizerKind::adam, .lr = 0.1}};
  for (const OptimizerOptions& options : kinds) {
    for (const std::size_t n : {std::size_t{5}, std::size_t{100'000}}) {
      for (const std::size_t bad : {std::size_t{0}, n - 1, n / 2}) {
        auto optimizer = make_optimizer(options);
        std::vector<float> params(n, 0.5f), grads(n, 0.25f);
        EXPECT_TRUE(optimizer->step(params, grads, options.lr)) << "n " << n;
        grads[bad] = std::numeric_limits<float>::infinity();
        EXPECT_FALSE(optimizer->step(params, grads, options.lr)) << "n " << n << " infinite gradient at " << bad;
        auto fresh = make_optimizer(options);
        std::vector<float> nan_params(n, 0.5f), finite_grads(n, 0.25f);
        nan_params[bad] = std::nanf("");
        EXPECT_FALSE(fresh->step(nan_params, finite_grads, options.lr)) << "n " << n << " NaN parameter at " << bad;
      }
    }
  }
}

}  // namespace
}  // namespace bpnet
