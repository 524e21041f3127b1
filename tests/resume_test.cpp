// Checkpoints and resuming: a run stopped in the middle of an epoch and
// continued from its checkpoint file ends bit-identical to one never stopped.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>

#include "bpnet/checkpoint.hpp"
#include "bpnet/error.hpp"
#include "bpnet/presets.hpp"
#include "bpnet/train.hpp"
#include "test_support.hpp"

namespace bpnet {
namespace {

TrainConfig config_for(OptimizerKind kind) {
  TrainConfig config = preset(kind == OptimizerKind::adam ? "keras-seed" : "torch-seed");
  config.model = testing::mlp_spec({20, 12, 10}, Activation::relu,
                                   kind == OptimizerKind::adam ? Output::softmax : Output::log_softmax,
                                   kind == OptimizerKind::adam ? LossKind::cross_entropy : LossKind::nll);
  config.optimizer.kind = kind;
  config.batch = 16;
  config.epochs = 4;
  config.threads = 1;
  config.validation_split = 0;
  return config;
}

std::vector<float> parameters_of(Trainer& trainer) {
  const auto p = trainer.model().parameters();
  return {p.begin(), p.end()};
}

class Resume : public ::testing::TestWithParam<OptimizerKind> {};

TEST_P(Resume, StoppedMidEpochAndResumedFromFileIsBitIdentical) {
  const Dataset train = testing::synthetic_dataset(200, 9);
  const TrainConfig config = config_for(GetParam());

  Trainer uninterrupted(config, train);
  while (!uninterrupted.finished()) ASSERT_TRUE(uninterrupted.run_epoch());

  // Stop in epoch 2 after its 3rd batch, as Ctrl-C would.
  std::atomic<bool> stop{false};
  Trainer first(config, train);
  first.set_stop_flag(&stop);
  ASSERT_TRUE(first.run_epoch());
  const auto stopped = first.run_epoch([&](std::size_t done, std::size_t, double, double) {
    if (done == 3) stop = true;
  });
  ASSERT_FALSE(stopped.has_value());
  EXPECT_EQ(first.state().steps_done, 3u);

  testing::ScratchDir dir;
  save_checkpoint(dir / "c.bpck",
                  {.config = config, .state = first.state(), .data = "data/x", .preset = "kept", .train_seconds = 1.5});
  const Checkpoint loaded = load_checkpoint(dir / "c.bpck");
  EXPECT_EQ(loaded.preset, "kept");
  EXPECT_EQ(loaded.data, "data/x");
  EXPECT_EQ(loaded.train_seconds, 1.5);
  EXPECT_EQ(loaded.state.history.size(), 1u);

  Trainer second(loaded.config, train);
  second.restore(loaded.state);
  while (!second.finished()) ASSERT_TRUE(second.run_epoch());

  EXPECT_EQ(parameters_of(second), parameters_of(uninterrupted));
  ASSERT_EQ(second.history().size(), 4u);
  for (std::size_t e = 0; e < 4; ++e) {
    EXPECT_EQ(second.history()[e].loss, uninterrupted.history()[e].loss) << "epoch " << e + 1;
  }
}

INSTANTIATE_TEST_SUITE_P(Optimizers, Resume,
                         ::testing::Values(OptimizerKind::sgd, OptimizerKind::adam, OptimizerKind::gd));

TEST(ResumeWithDistortions, StoppedMidEpochAndResumedOnOtherWorkersIsBitIdentical) {
  const Dataset train = testing::synthetic_dataset(200, 9);
  TrainConfig config = config_for(OptimizerKind::adam);
  config.augment.kind = AugmentKind::both;
  config.augment.translate = 1;
  config.augment.elastic_sigma = 1;  // 4x5 images: a field smoother than the image is small would do nothing
  config.augment.elastic_alpha = 2;
  config.label_smoothing = 0.1;
  config.workers = 0;

  Trainer uninterrupted(config, train);
  while (!uninterrupted.finished()) ASSERT_TRUE(uninterrupted.run_epoch());
  TrainConfig plain = config;
  plain.augment.kind = AugmentKind::none;
  Trainer undistorted(plain, train);
  while (!undistorted.finished()) ASSERT_TRUE(undistorted.run_epoch());
  ASSERT_NE(parameters_of(uninterrupted), parameters_of(undistorted)) << "the distortions changed nothing";

  std::atomic<bool> stop{false};
  Trainer first(config, train);
  first.set_stop_flag(&stop);
  ASSERT_TRUE(first.run_epoch());
  ASSERT_FALSE(first.run_epoch([&](std::size_t done, std::size_t, double, double) {
    if (done == 5) stop = true;
  }));
  testing::ScratchDir dir;
  save_checkpoint(dir / "c.bpck", {.config = config, .state = first.state(), .data = "data/x", .preset = "p"});
  Checkpoint loaded = load_checkpoint(dir / "c.bpck");
  EXPECT_EQ(loaded.config.augment, config.augment);
  EXPECT_EQ(loaded.config.label_smoothing, 0.1);
  loaded.config.workers = 3;  // the distortions do not depend on who draws them
  Trainer second(loaded.config, train);
  second.restore(loaded.state);
  while (!second.finished()) ASSERT_TRUE(second.run_epoch());
  EXPECT_EQ(parameters_of(second), parameters_of(uninterrupted));
}

TEST(Checkpoint, DamageIsDetected) {
  const Dataset train = testing::synthetic_dataset(50, 9);
  const TrainConfig config = config_for(OptimizerKind::sgd);
  Trainer trainer(config, train);
  trainer.run_epoch();
  testing::ScratchDir dir;
  save_checkpoint(dir / "c.bpck", {.config = config, .state = trainer.state()});
  testing::Bytes bytes = testing::read_bytes(dir / "c.bpck");
  bytes[bytes.size() / 2] ^= 0x40;
  testing::write_bytes(dir / "bad.bpck", bytes);
  EXPECT_THROW(load_checkpoint(dir / "bad.bpck"), ModelFileError);
  bytes.resize(10);
  testing::write_bytes(dir / "short.bpck", bytes);
  EXPECT_THROW(load_checkpoint(dir / "short.bpck"), ModelFileError);
  EXPECT_THROW(load_checkpoint(dir / "absent.bpck"), ModelFileError);
}

TEST(Checkpoint, StateOfAnotherNetworkIsRefused) {
  const Dataset train = testing::synthetic_dataset(50, 9);
  const TrainConfig config = config_for(OptimizerKind::sgd);
  Trainer trainer(config, train);
  TrainerState state = trainer.state();
  state.parameters.pop_back();
  EXPECT_THROW(trainer.restore(state), ConfigError);
}

TEST(Resume, DropoutBatchNormScheduleAndEarlyStoppingResumeBitIdentical) {
  Dataset train = testing::synthetic_dataset(400, 9);
  const Dataset validation = split_off_tail(train, 0.25);
  TrainConfig config = testing::regularised_config();
  config.epochs = 6;
  config.schedule = {.kind = ScheduleKind::plateau, .warmup_epochs = 1, .gamma = 0.5, .plateau_patience = 0};
  config.early_stopping = {.patience = 3, .monitor = Monitor::val_accuracy};

  Trainer uninterrupted(config, train, &validation);
  fit(uninterrupted);

  // Stop in epoch 3 after its 5th batch, write and read the checkpoint.
  std::atomic<bool> stop{false};
  Trainer first(config, train, &validation);
  first.set_stop_flag(&stop);
  fit(first, {.on_step = [&](std::size_t done, std::size_t, double, double) {
                if (first.history().size() == 2 && done == 5) stop = true;
              }});
  ASSERT_EQ(first.state().steps_done, 5u);
  testing::ScratchDir dir;
  save_checkpoint(dir / "c.bpck", {.config = first.config(), .state = first.state()});
  const Checkpoint loaded = load_checkpoint(dir / "c.bpck");
  Trainer second(loaded.config, train, &validation);
  second.restore(loaded.state);
  fit(second);

  using testing::values;
  EXPECT_EQ(values(second.model().parameters()), values(uninterrupted.model().parameters()));
  EXPECT_EQ(values(second.model().buffers()), values(uninterrupted.model().buffers()));
  EXPECT_EQ(second.best_epoch(), uninterrupted.best_epoch());
  ASSERT_EQ(second.history().size(), uninterrupted.history().size());
  for (std::size_t e = 0; e < second.history().size(); ++e) {
    EXPECT_EQ(second.history()[e].loss, uninterrupted.history()[e].loss) << "epoch " << e + 1;
    EXPECT_EQ(second.history()[e].lr, uninterrupted.history()[e].lr) << "epoch " << e + 1;
  }
}

}  // namespace
}  // namespace bpnet
