// Training behaviour: reproducibility, the data pipeline's equivalences,
// full-batch GD's single step, divergence, and a short real-MNIST run.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <thread>

#include "batch_loader.hpp"
#include "bpnet/error.hpp"
#include "bpnet/evaluate.hpp"
#include "bpnet/history.hpp"
#include "bpnet/loss.hpp"
#include "bpnet/presets.hpp"
#include "bpnet/train.hpp"
#include "kernels/kernel_threads.hpp"
#include "test_support.hpp"

namespace bpnet {
namespace {

TrainConfig small_config() {
  TrainConfig config = preset("torch-seed");
  config.model = testing::mlp_spec({20, 12, 10});
  config.batch = 16;
  config.epochs = 3;
  config.threads = 1;
  return config;
}

std::vector<float> train_and_get_parameters(const TrainConfig& config, const Dataset& train) {
  Trainer trainer(config, train);
  while (!trainer.finished()) trainer.run_epoch();
  const auto params = trainer.model().parameters();
  return {params.begin(), params.end()};
}

TEST(Training, SameSeedGivesIdenticalWeights) {
  const Dataset train = testing::synthetic_dataset(200, 1);
  const TrainConfig config = small_config();
  EXPECT_EQ(train_and_get_parameters(config, train), train_and_get_parameters(config, train));
  TrainConfig other = config;
  other.seed = 2;
  EXPECT_NE(train_and_get_parameters(config, train), train_and_get_parameters(other, train));
}

TEST(Training, WorkerThreadsDoNotChangeTheResult) {
  const Dataset train = testing::synthetic_dataset(300, 1);
  TrainConfig config = small_config();
  const auto on_main_thread = train_and_get_parameters(config, train);
  config.workers = 3;
  EXPECT_EQ(train_and_get_parameters(config, train), on_main_thread);
}

TEST(Training, LearnsASeparableProblem) {
  const Dataset train = testing::synthetic_dataset(500, 1);
  const Dataset test = testing::synthetic_dataset(200, 2);
  TrainConfig config = small_config();
  config.epochs = 10;
  config.optimizer.lr = 0.05;
  Trainer trainer(config, train);
  const double before = evaluate(trainer.model(), test).accuracy;
  while (!trainer.finished()) trainer.run_epoch();
  const Evaluation after = evaluate(trainer.model(), test);
  EXPECT_LT(before, 0.5);
  EXPECT_GT(after.accuracy, 0.95);
  EXPECT_LT(trainer.history().back().loss, trainer.history().front().loss);
}

TEST(Training, FullBatchGdTakesOneExactStepPerEpoch) {
  // One GD epoch must equal one SGD step with a batch holding the whole set.
  const Dataset train = testing::synthetic_dataset(100, 1);
  TrainConfig gd = small_config();
  gd.optimizer.kind = OptimizerKind::gd;
  gd.optimizer.lr = 0.5;
  gd.optimizer.momentum = 0;
  gd.epochs = 1;
  gd.batch = 7;  // gradient gathered in uneven chunks
  gd.shuffle = false;
  TrainConfig sgd = gd;
  sgd.optimizer.kind = OptimizerKind::sgd;
  sgd.batch = 100;
  const auto a = train_and_get_parameters(gd, train);
  const auto b = train_and_get_parameters(sgd, train);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6) << i;
}

TEST(Training, DivergenceIsReportedWithEpochAndBatch) {
  const Dataset train = testing::synthetic_dataset(200, 1);
  TrainConfig config = small_config();
  config.model = testing::mlp_spec({20, 12, 10}, Activation::relu, Output::linear, LossKind::mse);
  config.optimizer.lr = 900;
  config.optimizer.momentum = 0.99;
  Trainer trainer(config, train);
  try {
    while (!trainer.finished()) trainer.run_epoch();
    FAIL() << "lr 900 did not diverge";
  } catch (const DivergenceError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("at epoch"), std::string::npos) << message;
    EXPECT_NE(message.find("lower --lr"), std::string::npos) << message;
  }
}

TEST(Training, LayersThatDoNotFitTheDataAreAConfigError) {
  const Dataset train = testing::synthetic_dataset(50, 1);
  TrainConfig config = small_config();
  config.model = testing::mlp_spec({784, 10});
  EXPECT_THROW(Trainer(config, train), ConfigError);
}

TEST(Batches, NormalisationsMatchTheTutorials) {
  const PixelScale unit = pixel_scale(Normalize::unit);
  const PixelScale torch = pixel_scale(Normalize::torch);
  EXPECT_FLOAT_EQ(unit(0), 0.0f);
  EXPECT_FLOAT_EQ(unit(255), 1.0f);
  EXPECT_FLOAT_EQ(unit(51), 0.2f);
  EXPECT_FLOAT_EQ(torch(0), -1.0f);
  EXPECT_FLOAT_EQ(torch(255), 1.0f);
  EXPECT_NEAR(torch(51), -0.6f, 1e-6);
}

TEST(Batches, LoaderServesTheOrderGivenWithAndWithoutWorkers) {
  const Dataset data = testing::synthetic_dataset(50, 1);
  std::vector<std::uint32_t> order(50);
  std::iota(order.rbegin(), order.rend(), 0u);  // 49, 48, ... 0
  for (int workers : {0, 1, 4}) {
    BatchLoader loader(data, Normalize::unit, 8, workers);
    for (int epoch = 0; epoch < 2; ++epoch) {
      loader.start_epoch(order);
      ASSERT_EQ(loader.batches_in_epoch(), 7u);
      std::size_t seen = 0;
      for (std::size_t b = 0; b < loader.batches_in_epoch(); ++b) {
        const Batch batch = loader.next();
        for (std::size_t r = 0; r < batch.x.rows; ++r, ++seen) {
          EXPECT_EQ(batch.labels[r], data.labels[order[seen]]);
          EXPECT_FLOAT_EQ(batch.x(r, 3), data.image(order[seen])[3] / 255.0f);
        }
      }
      EXPECT_EQ(seen, 50u) << "workers " << workers;
    }
  }
}

// With no workers, the kernel team's waiting member converts the next batch
// while the caller works alone (here: busy-waits after each batch): the
// batches are the same, across a short last batch, a new epoch's order and a
// resumed epoch.
TEST(Batches, TheBatchConvertedAheadIsTheBatchAskedFor) {
  set_kernel_threads(2);
  const Dataset data = testing::synthetic_dataset(50, 1);
  std::vector<std::uint32_t> backwards(50), forwards(50);
  std::iota(backwards.rbegin(), backwards.rend(), 0u);
  std::iota(forwards.begin(), forwards.end(), 0u);
  BatchLoader loader(data, Normalize::torch, 8, 0);
  const PixelScale torch = pixel_scale(Normalize::torch);
  for (const auto& [order, first] : {std::pair{backwards, 0u}, std::pair{forwards, 0u}, std::pair{backwards, 3u}}) {
    loader.start_epoch(order, first);
    for (std::size_t b = first; b < loader.batches_in_epoch(); ++b) {
      const Batch batch = loader.next();
      ASSERT_EQ(batch.x.rows, std::min<std::size_t>(8, 50 - 8 * b));
      for (std::size_t r = 0; r < batch.x.rows; ++r) {
        const std::uint32_t image = order[8 * b + r];
        ASSERT_EQ(batch.labels[r], data.labels[image]) << "batch " << b << " row " << r;
        for (std::size_t j = 0; j < data.features(); ++j) {
          ASSERT_EQ(batch.x(r, j), torch(data.image(image)[j])) << "batch " << b << " row " << r << " pixel " << j;
        }
      }
      // A round wakes the member; it then waits, converting the next batch.
      for_each_piece(2, 1, 0, [](std::size_t, std::size_t) {});
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
      while (std::chrono::steady_clock::now() < until) {
      }
    }
  }
}

TEST(RealMnist, OneEpochOfTorchSeedLearns) {
  const auto dir = testing::mnist_dir_required_in_ci();
  if (dir.empty()) GTEST_SKIP() << "MNIST not fetched (scripts/fetch-mnist.sh)";
  const Dataset train = load_dataset(dir, Split::train);
  const Dataset test = load_dataset(dir, Split::test);
  TrainConfig config = preset("torch-seed");
  config.epochs = 1;
  Trainer trainer(config, train);
  trainer.run_epoch();
  const Evaluation result = evaluate(trainer.model(), test);
  // PyTorch's tutorial network is at about 90% after its first epoch.
  EXPECT_GT(result.accuracy, 0.88);
  EXPECT_EQ(result.n, 10000u);
}

}  // namespace
}  // namespace bpnet

namespace bpnet {
namespace {

using testing::regularised_config;
using testing::values;

// Runs fit() and keeps a copy of the parameters after every epoch.
std::vector<std::vector<float>> fit_keeping_every_epoch(Trainer& trainer) {
  std::vector<std::vector<float>> after_epoch;
  FitCallbacks callbacks;
  callbacks.on_epoch = [&](const EpochRecord&) {
    after_epoch.push_back(values(trainer.model().parameters()));
  };
  fit(trainer, callbacks);
  return after_epoch;
}

TEST(EarlyStopping, RestoresExactlyTheBestEpochsParameters) {
  Dataset train = testing::synthetic_dataset(400, 3);
  const Dataset validation = split_off_tail(train, 0.25);
  TrainConfig config = regularised_config();
  config.validation_split = 0.25;
  Trainer trainer(config, train, &validation);
  const auto snapshots = fit_keeping_every_epoch(trainer);
  const auto& history = trainer.history();
  // The best epoch is the one with the lowest val_loss (min_delta 0)...
  std::size_t best = 0;
  for (std::size_t e = 0; e < history.size(); ++e) {
    if (*history[e].val_loss < *history[best].val_loss) best = e;
  }
  EXPECT_EQ(trainer.best_epoch(), best + 1);
  // ...and the model ends with that epoch's parameters, bit for bit.
  EXPECT_EQ(values(trainer.model().parameters()), snapshots[best]);
  if (trainer.stopped_early()) {
    EXPECT_EQ(history.size(), best + 1 + config.early_stopping.patience);
  }
}

TEST(EarlyStopping, StopsAfterPatienceEpochsWithoutImprovement) {
  Dataset train = testing::synthetic_dataset(400, 3);
  const Dataset validation = split_off_tail(train, 0.25);
  TrainConfig config = regularised_config();
  config.early_stopping.min_delta = 100;  // nothing after epoch 1 counts as better
  Trainer trainer(config, train, &validation);
  const auto snapshots = fit_keeping_every_epoch(trainer);
  EXPECT_TRUE(trainer.stopped_early());
  EXPECT_EQ(trainer.history().size(), 3u);
  EXPECT_EQ(trainer.best_epoch(), 1u);
  EXPECT_EQ(values(trainer.model().parameters()), snapshots[0]);
}

TEST(EarlyStopping, WithoutAValidationSplitIsAConfigError) {
  const Dataset train = testing::synthetic_dataset(100, 3);
  TrainConfig config = regularised_config();
  config.validation_split = 0;
  EXPECT_THROW(Trainer(config, train), ConfigError);
}

TEST(BatchNorm, ABatchOfOneIsRefusedBeforeTraining) {
  const Dataset train = testing::synthetic_dataset(97, 3);  // 97 = 6 * 16 + 1
  TrainConfig config = regularised_config();
  config.validation_split = 0;
  config.early_stopping = {};
  EXPECT_THROW(Trainer(config, train), ConfigError);
}

TEST(Training, DropoutAndBatchNormResultsDoNotDependOnWorkers) {
  Dataset train = testing::synthetic_dataset(320, 3);
  const Dataset validation = split_off_tail(train, 0.25);
  TrainConfig config = regularised_config();
  config.epochs = 3;
  Trainer a(config, train, &validation);
  fit(a);
  config.workers = 3;
  Trainer b(config, train, &validation);
  fit(b);
  EXPECT_EQ(values(a.model().parameters()),
            values(b.model().parameters()));
  EXPECT_EQ(values(a.model().buffers()),
            values(b.model().buffers()));
}

TEST(Predictor, EightThreadsPredictingWithOneModelAgreeWithOne) {
  Dataset train = testing::synthetic_dataset(320, 3);
  const Dataset validation = split_off_tail(train, 0.25);
  TrainConfig config = regularised_config();
  config.epochs = 2;
  Trainer trainer(config, train, &validation);
  fit(trainer);
  const Model<float>& model = trainer.model();  // shared, const: no locks
  const Dataset test = testing::synthetic_dataset(257, 8);
  const std::vector<Prediction> alone = predict_all(model, test, 7);
  std::vector<std::vector<Prediction>> results(8);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] { results[t] = predict_all(model, test, 7); });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) {
    ASSERT_EQ(result.size(), alone.size());
    for (std::size_t i = 0; i < alone.size(); ++i) {
      EXPECT_EQ(result[i].predicted, alone[i].predicted) << i;
      EXPECT_EQ(result[i].confidence, alone[i].confidence) << i;
    }
  }
}

// Batches shared out over the kernel threads, and cut into pieces, give what
// one thread going through whole batches in order gives: the same loss to the
// bit, the same counts, every prediction in its image's place.
void expect_evaluation_agrees_with_one_thread_in_order(const Model<float>& model, const Dataset& test,
                                                       std::size_t batch) {
  // The expected figures, computed here batch by batch on one thread.
  set_kernel_threads(1);
  const auto loss = make_loss<float>(model.spec().loss, 0.0f);
  BatchLoader loader(test, model.spec().normalize, batch, 0);
  std::vector<std::uint32_t> order(test.count);
  std::iota(order.begin(), order.end(), 0u);
  loader.start_epoch(order);
  Predictor predictor(model);
  double loss_sum = 0;
  std::vector<std::size_t> expected_class;
  for (std::size_t b = 0; b < loader.batches_in_epoch(); ++b) {
    const Batch chunk = loader.next();
    const ConstMatrixView<float> out = predictor.forward_to_loss(chunk.x);
    loss_sum += loss->sum(out, chunk.labels);
    for (std::size_t r = 0; r < out.rows; ++r) expected_class.push_back(argmax(out.row(r), out.cols));
  }
  std::size_t expected_correct = 0;
  for (std::size_t i = 0; i < test.count; ++i) expected_correct += expected_class[i] == test.labels[i];

  for (const int threads : {1, 2}) {
    set_kernel_threads(threads);
    const Evaluation result = evaluate(model, test, batch);
    EXPECT_EQ(result.loss, loss_sum / static_cast<double>(test.count)) << threads << " threads";
    EXPECT_EQ(result.accuracy, static_cast<double>(expected_correct) / static_cast<double>(test.count));
    std::size_t counted = 0;
    for (const auto& row : result.confusion) counted += std::accumulate(row.begin(), row.end(), std::size_t{0});
    EXPECT_EQ(counted, test.count);
    const std::vector<Prediction> predictions = predict_all(model, test, batch);
    ASSERT_EQ(predictions.size(), test.count);
    for (std::size_t i = 0; i < test.count; ++i) {
      ASSERT_EQ(predictions[i].index, i);
      ASSERT_EQ(predictions[i].label, test.labels[i]) << "image " << i << ", " << threads << " threads";
      ASSERT_EQ(predictions[i].predicted, expected_class[i]) << "image " << i << ", " << threads << " threads";
    }
  }
  set_kernel_threads(0);
}

TEST(Evaluation, ThreadsTakingBatchesInTurnAgreeWithOneThreadInOrder) {
  const Dataset train = testing::synthetic_dataset(200, 3);
  Trainer trainer(regularised_config(), train);
  fit(trainer);
  // 28 batches, the last of 8 rows.
  expect_evaluation_agrees_with_one_thread_in_order(trainer.model(), testing::synthetic_dataset(251, 6), 9);
}

TEST(Evaluation, BatchesCutIntoPiecesAgreeWithWholeBatches) {
  // MNIST-sized images: a batch of 1000 runs as pieces of about 250 rows.
  testing::SyntheticSet set = testing::synthetic_set(2105, 28, 28, 10, 4);
  Dataset test;
  test.name = "synthetic 28x28";
  test.count = 2105;
  test.rows = test.cols = 28;
  test.pixels = std::move(set.pixels);
  test.labels = std::move(set.labels);
  ModelSpec spec = testing::mlp_spec({784, 40, 10});
  Model<float> model(spec);
  Rng rng(5);
  model.initialize(Init::torch, rng);
  expect_evaluation_agrees_with_one_thread_in_order(model, test, 1000);  // 1000, 1000, 105
  expect_evaluation_agrees_with_one_thread_in_order(model, test, 2105);  // one batch: the team splits the products
}

TEST(Evaluation, TheFirstLayerOnPixelBytesGivesTheForwardsFloats) {
  // Digits on a black ground, as MNIST's (most pixels 0): pixels in [0, 1]
  // and a Linear first take the path that skips the zero pixels
  // (pixel_first_layer.hpp) on a CPU with AVX2 or AVX-512.
  Rng rng(21);
  Dataset test;
  test.name = "synthetic sparse 28x28";
  test.count = 1207;
  test.rows = test.cols = 28;
  for (std::size_t i = 0; i < test.count; ++i) {
    test.labels.push_back(static_cast<std::uint8_t>(i % 10));
    for (std::size_t j = 0; j < 784; ++j) {
      const bool stroke = (j / 78) == i % 10 && rng.uniform(0, 1) < 0.6;
      test.pixels.push_back(stroke ? static_cast<std::uint8_t>(1 + rng.below(255)) : 0);
    }
  }
  Model<float> model(testing::mlp_spec({784, 40, 10}));
  model.initialize(Init::torch, rng);
  expect_evaluation_agrees_with_one_thread_in_order(model, test, 1000);  // pieces of 250, then 207
  expect_evaluation_agrees_with_one_thread_in_order(model, test, 37);    // 33 batches, the last of 23
  expect_evaluation_agrees_with_one_thread_in_order(model, test, 5);     // the last of 2: the few-rows kernel
  set_kernel_threads(0);
}

TEST(Evaluation, AClassWithoutTestImagesIsNotApplicableNotZero) {
  const Dataset train = testing::synthetic_dataset(100, 3);
  Trainer trainer(small_config(), train);
  Dataset test = testing::synthetic_dataset(50, 4);
  for (auto& label : test.labels) {
    if (label == 3) label = 4;  // no image of class 3 left
  }
  const Evaluation result = evaluate(trainer.model(), test);
  ASSERT_EQ(result.per_class_accuracy.size(), 10u);
  EXPECT_FALSE(result.per_class_accuracy[3].has_value());
  EXPECT_TRUE(result.per_class_accuracy[4].has_value());
  EXPECT_NE(evaluation_json(result).find("null"), std::string::npos);
}

TEST(Training, InitFromCopiesParametersAndRefusesAnotherArchitecture) {
  const Dataset train = testing::synthetic_dataset(100, 3);
  TrainConfig config = small_config();
  Trainer source(config, train);
  source.run_epoch();
  config.seed = 99;
  Trainer tuned(config, train);
  tuned.start_from(source.model(), "source.bpn");
  EXPECT_EQ(values(tuned.model().parameters()),
            values(source.model().parameters()));
  config.model = testing::mlp_spec({20, 13, 10});
  Trainer other(config, train);
  try {
    other.start_from(source.model(), "source.bpn");
    FAIL() << "a 20-12-10 model was loaded into a 20-13-10 one";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--init-from source.bpn: its architecture"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace bpnet
