// The bpnet command as a user meets it: exit codes (0 ok, 1 runtime error,
// 2 usage error) and one-line messages that name the problem.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_runner.hpp"
#include "kernels/isa.hpp"
#include "test_support.hpp"

namespace bpnet {
namespace {

class Cli : public ::testing::Test {
 protected:
  void SetUp() override { testing::write_synthetic_split_files(dir_.path(), 300, 100, 4, 5); }
  std::string data() const { return "--data " + dir_.path().string(); }
  std::string small() const {
    return data() + " --layers 20,16,10 --threads 1 --run-dir " + (dir_ / "run").string();
  }
  testing::ScratchDir dir_;
};

TEST_F(Cli, HelpAndVersionSucceed) {
  EXPECT_EQ(run_bpnet("--help").exit_code, 0);
  EXPECT_EQ(run_bpnet("train --help").exit_code, 0);
  EXPECT_EQ(run_bpnet("--version").exit_code, 0);
}

TEST_F(Cli, UsageErrorsExitTwo) {
  expect_failure("", 2, "subcommand");
  expect_failure("frobnicate", 2, "unknown command 'frobnicate'");
  expect_failure("train " + small() + " --batch 0", 2, "--batch must be at least 1");
  expect_failure("train " + small() + " --lr -1", 2, "--lr must be in (0, 1000]");
  expect_failure("train " + small() + " --validation-split 1.0", 2, "--validation-split must be in [0, 1)");
  expect_failure("train " + small() + " --epochs 0", 2, "--epochs must be in");
  expect_failure("train " + small() + " --preset nope", 2, "unknown preset 'nope'");
  expect_failure("train " + small() + " --activation swish", 2, "unknown activation 'swish'");
  expect_failure("train " + small() + " --loss nll --output softmax", 2, "must be LogSoftmax (--output log-softmax)");
  expect_failure("train " + data() + " --layers 784,10", 2, "the model takes 784 inputs but the images in");
  expect_failure("train " + data() + " --layers 20,x,10", 2, "--layers '20,x,10'");
  expect_failure("train " + small() + " --batch abc", 2, "--batch");
  expect_failure("train " + small() + " --workers 99", 2, "--workers must be in [0, 16]");
  expect_failure("train " + small() + " --augment wobble", 2, "--augment must be none, affine, elastic or both");
  expect_failure("train " + small() + " --augment affine --rotate 500", 2, "--rotate must be in [0, 180]");
  expect_failure("train " + small() + " --augment elastic --elastic-sigma 0", 2, "--elastic-sigma must be in");
  expect_failure("train " + small() + " --label-smoothing 1", 2, "--label-smoothing must be in [0, 1)");
  expect_failure("train " + small() + " --loss mse --output softmax --label-smoothing 0.1", 2,
                 "--label-smoothing needs the nll or cross-entropy loss");
  expect_failure("train " + small() + " --train-images 301", 2, "--train-images 301 is more than the 300 images in");
  expect_failure("augment " + data() + " --index 0 --versions 0", 2, "--versions must be in [1, 12]");
  expect_failure("augment " + data() + " --index 300", 2, "--index 300 is out of range");
  expect_failure("augment " + data() + " --index 0 --out grid.jpg", 2, "--out");
}

TEST_F(Cli, DistortionsAndLabelSmoothingTrainAndAreRecorded) {
  const Outcome trained = run_bpnet("train " + small() + " --epochs 2 --augment both --translate 1 --workers 2"
                                    " --label-smoothing 0.1 --output linear --loss cross-entropy --quiet-progress");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  EXPECT_NE(trained.output.find("label smoothing 0.1 | affine rotate 15 scale 0.15 shear 15 translate 1 + elastic "
                                "sigma 4 alpha 34"),
            std::string::npos)
      << trained.output;
  std::ifstream config_file(dir_ / "run" / "config.json");
  const auto config = nlohmann::json::parse(config_file);
  EXPECT_EQ(config["augment"]["kind"], "both");
  EXPECT_EQ(config["augment"]["translate"], 1.0);
  EXPECT_EQ(config["label_smoothing"], 0.1);
}

TEST_F(Cli, ParseErrorsAreOneLineWithThePrefixAndASuggestion) {
  const auto expect_one_line = [&](const std::string& arguments, const std::string& part) {
    const Outcome outcome = run_bpnet(arguments);
    EXPECT_EQ(outcome.exit_code, 2) << outcome.output;
    EXPECT_EQ(outcome.output.rfind("bpnet: error: ", 0), 0u) << outcome.output;
    EXPECT_EQ(std::count(outcome.output.begin(), outcome.output.end(), '\n'), 1) << outcome.output;
    EXPECT_NE(outcome.output.find(part), std::string::npos) << outcome.output;
  };
  expect_one_line("train --epohcs 3", "unknown flag '--epohcs' for 'bpnet train'; did you mean '--epochs'?");
  expect_one_line("trian", "unknown command 'trian'; did you mean 'train'?");
  expect_one_line("train --batch abc", "--batch");
  // Negative values for unsigned options echo what was typed, never wrap.
  expect_one_line("train --batch -1", "--batch: must not be negative (got -1)");
  expect_one_line("train --seed -1", "--seed: must not be negative (got -1)");
  expect_one_line("train --checkpoint-every -1", "--checkpoint-every: must not be negative (got -1)");
  expect_one_line("predict --model m.bpn --index -1", "--index: must not be negative (got -1)");
}

TEST_F(Cli, ARepeatedFlagTakesItsLastValue) {
  const Outcome outcome = run_bpnet("train " + small() + " --epochs 5 --epochs 1");
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  EXPECT_NE(outcome.output.find("epoch 1/1"), std::string::npos) << outcome.output;
}

TEST_F(Cli, MoreThreadsThanCoresIsWarnedAbout) {
  const Outcome outcome = run_bpnet("train " + small() + " --epochs 1 --threads 1024");
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  EXPECT_NE(outcome.output.find("bpnet: warning: --threads 1024 is more than the"), std::string::npos)
      << outcome.output;
  EXPECT_NE(run_bpnet("train --help").output.find("--threads"), std::string::npos);
  EXPECT_NE(run_bpnet("train --help").output.find("in [0, 1024]"), std::string::npos);
}

// Runs bpnet with BPNET_MAX_ISA set to `isa` (the tests run one a process).
Outcome run_bpnet_with_isa(const std::string& isa, const std::string& arguments) {
  ::setenv("BPNET_MAX_ISA", isa.c_str(), 1);
  const Outcome outcome = run_bpnet(arguments);
  ::unsetenv("BPNET_MAX_ISA");
  return outcome;
}

TEST_F(Cli, ABadMaxIsaStopsTheCommandBeforeAnyWork) {
  const Outcome outcome = run_bpnet_with_isa("avx3", "train " + small() + " --epochs 1");
  EXPECT_EQ(outcome.exit_code, 2) << outcome.output;
  EXPECT_EQ(outcome.output,
            "bpnet: error: BPNET_MAX_ISA is 'avx3'; it must be plain, avx2 or avx512 (or unset: the widest this CPU "
            "runs)\n");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "run"));
}

// What lets a run be repeated on the other kind of machine: the AVX2 and the
// AVX-512 kernels train the same model, byte for byte (full and partial
// tiles of both: 40 outputs are 32 + 8 and 16 + 16 + 8; batches of 24 rows
// are 8 + 8 + 8 and 6 x 4), on one thread and on two.
TEST_F(Cli, Avx2AndAvx512KernelsTrainTheSameModel) {
  if (!cpu_runs(Isa::avx512)) GTEST_SKIP() << "this CPU has no AVX-512";
  for (const char* threads : {"1", "2"}) {
    std::map<std::string, testing::Bytes> models;
    for (const std::string isa : {"avx2", "avx512"}) {
      const std::string model = (dir_ / (isa + threads + ".bpn")).string();
      const Outcome trained = run_bpnet_with_isa(
          isa, "train " + data() + " --layers 20,40,10 --batch 24 --epochs 2 --threads " + threads +
                   " --overwrite --run-dir " + (dir_ / "run").string() + " --save " + model);
      ASSERT_EQ(trained.exit_code, 0) << trained.output;
      EXPECT_NE(trained.output.find(isa == "avx2" ? "| AVX2 kernels |" : "| AVX-512 kernels |"), std::string::npos)
          << trained.output;
      models[isa] = testing::read_bytes(model);
    }
    EXPECT_EQ(models["avx2"], models["avx512"]) << threads << " threads";
  }
}

TEST_F(Cli, RuntimeErrorsExitOneWithOneLine) {
  expect_failure("train --data /nonexistent/folder", 1, "no such data folder");
  const auto truncated = testing::idx_bytes({100}, testing::Bytes(100, 1));
  testing::write_bytes(dir_ / "t10k-labels-idx1-ubyte", testing::Bytes(truncated.begin(), truncated.end() - 10));
  expect_failure("train " + small(), 1, "t10k-labels-idx1-ubyte");
}

TEST_F(Cli, LabelsBeyondTheModelsClassesBlameTheModel) {
  // Labels 0..9 and a model with 5 outputs: the data is fine, the model is not.
  const std::string labels = (dir_ / "train-labels-idx1-ubyte").string();
  const Outcome outcome = run_bpnet("train " + data() + " --layers 20,16,5 --run-dir " + (dir_ / "run").string());
  EXPECT_EQ(outcome.exit_code, 2) << outcome.output;
  EXPECT_NE(outcome.output.find("the model has 5 classes (labels 0 to 4) but the labels in " + labels +
                                " go up to 9"),
            std::string::npos)
      << outcome.output;
  EXPECT_NE(outcome.output.find("--layers ...,10"), std::string::npos) << outcome.output;
  EXPECT_EQ(outcome.output.find("epoch 1"), std::string::npos) << outcome.output;
}

TEST_F(Cli, TrainSaveEvalPredictSummary) {
  const std::string model = (dir_ / "m.bpn").string();
  const std::string history = (dir_ / "h.json").string();
  const Outcome trained =
      run_bpnet("train " + small() + " --epochs 3 --save " + model + " --history " + history);
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  EXPECT_NE(trained.output.find("epoch 3/3"), std::string::npos) << trained.output;

  // eval reproduces the accuracy that training printed and recorded.
  const Outcome evaluated = run_bpnet("eval --json --model " + model + " " + data());
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;
  const auto eval_json = nlohmann::json::parse(evaluated.output);
  const auto history_json = nlohmann::json::parse(testing::read_bytes(history));
  EXPECT_EQ(eval_json["accuracy"], history_json["test"]["accuracy"]);
  EXPECT_EQ(eval_json["n"], 100);
  EXPECT_EQ(eval_json["confusion"].size(), 10u);
  EXPECT_EQ(eval_json["per_class"].size(), 10u);
  EXPECT_EQ(history_json["epochs"].size(), 3u);
  EXPECT_TRUE(history_json["epochs"][0]["val_loss"].is_null());
  EXPECT_EQ(history_json["config"]["inputs"], 20);
  EXPECT_EQ(history_json["config"]["layers"],
            nlohmann::json::parse(R"([{"type":"Linear","out":16},{"type":"ReLU"},{"type":"Linear","out":10},)"
                                  R"({"type":"LogSoftmax"}])"));

  const Outcome predicted = run_bpnet("predict --model " + model + " " + data() + " --index 0 7");
  ASSERT_EQ(predicted.exit_code, 0) << predicted.output;
  EXPECT_NE(predicted.output.find("image 7: label 7"), std::string::npos) << predicted.output;
  expect_failure("predict --model " + model + " " + data() + " --index 100", 2, "out of range");
  const Outcome as_json = run_bpnet("predict --json --model " + model + " " + data() + " --index 0 7");
  ASSERT_EQ(as_json.exit_code, 0) << as_json.output;
  const auto second = nlohmann::json::parse(as_json.output.substr(as_json.output.find('\n') + 1));
  EXPECT_EQ(second["index"], 7);
  EXPECT_EQ(second["label"], 7);
  EXPECT_EQ(second["probabilities"].size(), 10u);
  EXPECT_NEAR(second["probabilities"][second["predicted"].get<std::size_t>()].get<double>(),
              second["confidence"].get<double>(), 1e-12);
  // With no --data, $BPNET_DATA is the data folder, as for scripts/fetch-mnist.sh.
  ::setenv("BPNET_DATA", dir_.path().c_str(), 1);
  const Outcome from_environment = run_bpnet("eval --json --model " + model);
  ::unsetenv("BPNET_DATA");
  ASSERT_EQ(from_environment.exit_code, 0) << from_environment.output;
  EXPECT_EQ(nlohmann::json::parse(from_environment.output)["accuracy"], eval_json["accuracy"]);
  // history and config record where the run came from.
  EXPECT_EQ(history_json["config"]["preset"], "torch-seed");
  EXPECT_EQ(history_json["config"]["data"], dir_.path().string());
  EXPECT_TRUE(history_json["config"]["bpnet_version"].is_string());

  const Outcome summary = run_bpnet("summary --model " + model);
  ASSERT_EQ(summary.exit_code, 0) << summary.output;
  EXPECT_NE(summary.output.find("Total params: 506"), std::string::npos) << summary.output;
}

TEST_F(Cli, ValidationSplitFillsValidationFields) {
  const std::string history = (dir_ / "h.json").string();
  const Outcome trained = run_bpnet("train " + small() +
                                    " --epochs 2 --validation-split 0.2 --history " + history);
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  EXPECT_NE(trained.output.find("val_accuracy"), std::string::npos) << trained.output;
  const auto json = nlohmann::json::parse(testing::read_bytes(history));
  EXPECT_TRUE(json["epochs"][1]["val_accuracy"].is_number());
}

TEST_F(Cli, ArchFileBatchNormDropoutEarlyStoppingAndSummary) {
  const std::string arch = (dir_ / "arch.json").string();
  const std::string text = R"([{"type":"Linear","out":12},{"type":"BatchNorm1d"},{"type":"GELU"},)"
                           R"({"type":"Dropout","p":0.2},{"type":"Linear","out":10},{"type":"LogSoftmax"}])";
  testing::write_bytes(arch, testing::Bytes(text.begin(), text.end()));
  const std::string model = (dir_ / "m.bpn").string();
  const std::string history = (dir_ / "h.json").string();
  // Batches of 25 divide both 225 and 300 training images: BatchNorm1d never sees a batch of one.
  const Outcome trained = run_bpnet("train " + data() + " --arch " + arch + " --threads 1 --batch 25 --epochs 4 " +
                                    "--validation-split 0.25 --early-stopping 2 --lr-schedule cosine --optimizer adam " +
                                    "--run-dir " + (dir_ / "run").string() + " --save " + model + " --history " + history);
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  EXPECT_NE(trained.output.find("20 -> Linear(12) -> BatchNorm1d -> GELU -> Dropout(p=0.2) -> Linear(10)"),
            std::string::npos) << trained.output;
  EXPECT_NE(trained.output.find("the model has the weights of epoch"), std::string::npos) << trained.output;
  const auto json = nlohmann::json::parse(testing::read_bytes(history));
  EXPECT_TRUE(json["best_epoch"].is_number()) << json.dump();
  EXPECT_TRUE(json["stopped_by"] == "completed" || json["stopped_by"] == "early_stopping") << json.dump();
  EXPECT_TRUE(json["epochs"][0]["lr"].is_number());

  // Keras counts BatchNorm's running mean and variance as non-trainable.
  const Outcome summary = run_bpnet("summary --model " + model);
  ASSERT_EQ(summary.exit_code, 0) << summary.output;
  EXPECT_NE(summary.output.find("layer_2 (BatchNorm1d)"), std::string::npos) << summary.output;
  EXPECT_NE(summary.output.find("layer_4 (Dropout) p=0.2"), std::string::npos) << summary.output;
  // 20*12+12 + 2*12 + 12*10+10 = 406 trainable, 2*12 = 24 non-trainable.
  EXPECT_NE(summary.output.find("Total params: 430"), std::string::npos) << summary.output;
  EXPECT_NE(summary.output.find("Trainable params: 406"), std::string::npos) << summary.output;
  EXPECT_NE(summary.output.find("Non-trainable params: 24"), std::string::npos) << summary.output;

  // Fine-tuning starts from it; another architecture is refused.
  const Outcome tuned = run_bpnet("train " + data() + " --arch " + arch + " --threads 1 --batch 25 --epochs 1 " +
                                  "--init-from " + model + " --run-dir " + (dir_ / "run2").string());
  ASSERT_EQ(tuned.exit_code, 0) << tuned.output;
  EXPECT_NE(tuned.output.find("starting from the parameters of " + model), std::string::npos) << tuned.output;
  expect_failure("train " + small() + " --overwrite --init-from " + model, 2, "its architecture (20 -> Linear(12)");
}

TEST_F(Cli, SwitchingOptimizerFamilyTakesItsUsualRate) {
  const auto lr_of = [&](const std::string& flags) {
    const std::string history = (dir_ / "h.json").string();
    const Outcome outcome = run_bpnet("train " + small() + " --overwrite --epochs 1 --history " + history + " " + flags);
    EXPECT_EQ(outcome.exit_code, 0) << outcome.output;
    return nlohmann::json::parse(testing::read_bytes(history))["config"]["lr"].get<double>();
  };
  EXPECT_EQ(lr_of(""), 0.003);                          // torch-seed's SGD rate
  EXPECT_EQ(lr_of("--optimizer adam"), 0.001);          // not SGD's 0.003
  EXPECT_EQ(lr_of("--optimizer gd"), 0.003);            // same family: carried over
  EXPECT_EQ(lr_of("--optimizer adam --lr 0.02"), 0.02);  // a given rate always wins
}

TEST_F(Cli, NewFlagsRejectNonsenseBeforeTraining) {
  expect_failure("train " + small() + " --early-stopping 3", 2, "--early-stopping watches the validation set");
  expect_failure("train " + small() + " --dropout 1.5", 2, "--dropout must be in [0, 1)");
  expect_failure("train " + small() + " --lr-schedule sometimes", 2, "unknown --lr-schedule 'sometimes'");
  expect_failure("train " + small() + " --warmup-epochs 9 --epochs 3", 2, "--warmup-epochs must be less than");
  expect_failure("train " + small() + " --monitor accuracy --validation-split 0.2 --early-stopping 2", 2,
                 "unknown --monitor 'accuracy'");
  expect_failure("train " + small() + " --arch x.json", 2, "--arch gives the whole layer list");
  expect_failure("train " + data() + " --arch " + (dir_ / "none.json").string(), 2, "none.json: no such file");
}

TEST_F(Cli, TestImagesOfAnotherSizeAreFoundBeforeTraining) {
  testing::ScratchDir other;
  testing::write_synthetic_split_files(other.path(), 50, 20, 28, 28);
  for (const char* file : {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
    std::filesystem::copy_file(other / file, dir_ / file, std::filesystem::copy_options::overwrite_existing);
  }
  const Outcome outcome = run_bpnet("train " + small());
  EXPECT_EQ(outcome.exit_code, 2) << outcome.output;
  EXPECT_NE(outcome.output.find("the test images in " + dir_.path().string() + " are 28x28 but the training images are 4x5"),
            std::string::npos) << outcome.output;
  EXPECT_EQ(outcome.output.find("epoch 1"), std::string::npos) << "trained before failing:\n" << outcome.output;
}

TEST_F(Cli, PredictRefusesAModelOfAnotherImageSize) {
  // A model for 20-pixel images on 28x28 images: refused, not read past the end.
  const std::string model = (dir_ / "m.bpn").string();
  ASSERT_EQ(run_bpnet("train " + small() + " --epochs 1 --save " + model).exit_code, 0);
  testing::ScratchDir other;
  testing::write_synthetic_split_files(other.path(), 50, 20, 28, 28);
  expect_failure("predict --model " + model + " --data " + other.path().string() + " --index 0", 2,
                 "takes 4x5 images but the test images in " + other.path().string() + " are 28x28");
}

TEST_F(Cli, BadHistoryFilesAreNamedWithoutLibraryText) {
  const auto write = [&](const std::string& name, const std::string& text) {
    testing::write_bytes(dir_ / name, testing::Bytes(text.begin(), text.end()));
    return (dir_ / name).string();
  };
  const std::string out = " --out " + (dir_ / "p.png").string();
  const std::vector<std::pair<std::string, std::string>> cases{
      {write("cut.json", R"({"epochs": [)"), "cut.json: not a bpnet history file: not valid JSON at byte"},
      {write("none.json", R"({"x": 1})"), "none.json: not a bpnet history file: key 'epochs' not found"},
      {write("type.json", R"({"epochs": [{"epoch": "a"}]})"), "type.json: not a bpnet history file: type must be"},
      {dir_.path().string(), dir_.path().string() + ": not a regular file"}};
  for (const auto& [file, message] : cases) {
    const Outcome outcome = run_bpnet("plot --history " + file + out);
    EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
    EXPECT_NE(outcome.output.find(message), std::string::npos) << outcome.output;
    EXPECT_EQ(outcome.output.find("json.exception"), std::string::npos) << outcome.output;
    EXPECT_EQ(outcome.output.find("basic_filebuf"), std::string::npos) << outcome.output;
  }
}

TEST_F(Cli, ExportAndImportRoundTripAndRefuseNonsenseBeforeWork) {
  const std::string model = (dir_ / "m.bpn").string();
  ASSERT_EQ(run_bpnet("train " + small() + " --epochs 1 --save " + model).exit_code, 0);
  const std::string onnx = (dir_ / "m.onnx").string(), back = (dir_ / "back.bpn").string();
  ASSERT_EQ(run_bpnet("export --model " + model + " --out " + onnx).exit_code, 0);
  // bpnet's own file says how its pixels are scaled: no --normalize needed.
  const Outcome imported = run_bpnet("import --onnx " + onnx + " --out " + back);
  ASSERT_EQ(imported.exit_code, 0) << imported.output;
  EXPECT_EQ(run_bpnet("eval --model " + back + " " + data()).output.substr(back.size()),
            run_bpnet("eval --model " + model + " " + data()).output.substr(model.size()));

  expect_failure("export --model " + model + " --out " + (dir_ / "m.txt").string(), 2,
                 "give --format onnx or --format c");
  expect_failure("export --model " + model + " --format c --out " + onnx, 2, "give a name ending in .c");
  expect_failure("export --model " + model + " --format c --out " + (dir_ / "m.c").string() + " --raw-pixels", 2,
                 "--raw-pixels applies to ONNX files");
  expect_failure("export --model " + model + " --format tflite --out x.tflite", 2, "--format");
  std::filesystem::create_directory(dir_ / "folder.onnx");
  expect_failure("export --model " + model + " --out " + (dir_ / "folder.onnx").string(), 1, "it is a folder");
  expect_failure("import --onnx " + onnx + " --out " + (dir_ / "x.onnx").string(), 2, "give a name ending in .bpn");
  expect_failure("import --onnx " + model + " --out " + back, 1, "m.bpn: it is not an ONNX model");
  expect_failure("import --onnx " + onnx + " --out " + back + " --normalize z", 2, "--normalize");
}

TEST_F(Cli, LrFindSuggestsARateAndRefusesFlagsThatKeepARun) {
  const Outcome found = run_bpnet("lr-find " + data() + " --layers 20,16,10 --threads 1 --steps 40 --out " +
                                  (dir_ / "lr.png").string());
  ASSERT_EQ(found.exit_code, 0) << found.output;
  EXPECT_NE(found.output.find("suggested: --lr "), std::string::npos) << found.output;
  EXPECT_TRUE(std::filesystem::is_regular_file(dir_ / "lr.png"));
  expect_failure("lr-find " + data() + " --save m.bpn", 2, "--save does not apply to lr-find");
  expect_failure("lr-find " + data() + " --lr-min 1 --lr-max 0.1", 2, "0 < lr-min < lr-max");
  expect_failure("lr-find " + data() + " --out lr.jpg", 2, "give a name ending in .png");
}

TEST_F(Cli, DiagnosticsWatchWithoutChangingTheModel) {
  const std::string with = (dir_ / "with.bpn").string(), without = (dir_ / "without.bpn").string();
  ASSERT_EQ(run_bpnet("train " + small() + " --epochs 2 --save " + with).exit_code, 0);
  ASSERT_EQ(run_bpnet("train " + small() + " --overwrite --epochs 2 --no-diagnostics --save " + without).exit_code, 0);
  EXPECT_EQ(testing::read_bytes(with), testing::read_bytes(without));
}

TEST_F(Cli, DamagedModelFileExitsOne) {
  testing::write_bytes(dir_ / "bad.bpn", testing::Bytes{'B', 'P', 'N', 'E', 'T', 'M', 'D', 'L', 1, 0});
  expect_failure("eval --model " + (dir_ / "bad.bpn").string() + " " + data(), 1, "bad.bpn: not a bpnet model file");
  expect_failure("eval --model " + (dir_ / "none.bpn").string() + " " + data(), 1, "none.bpn: no such file");
}

}  // namespace
}  // namespace bpnet

namespace bpnet {
namespace {

// Runs bpnet with stdout on a pipe; sends `signal` once a line containing
// `trigger` has been printed. Returns the exit code and all output.
Outcome run_and_interrupt(const std::vector<std::string>& args, const std::string& trigger, int signal = SIGINT,
                          const std::filesystem::path& cwd = {}) {
  int out[2];
  if (::pipe(out) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(out[1], STDERR_FILENO);
    ::close(out[0]);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    std::vector<char*> argv{const_cast<char*>(BPNET_CLI_PATH)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(BPNET_CLI_PATH, argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  Outcome outcome;
  bool sent = false;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(out[0], buffer, sizeof buffer)) > 0) {
    outcome.output.append(buffer, static_cast<std::size_t>(n));
    if (!sent && outcome.output.find(trigger) != std::string::npos) {
      ::kill(pid, signal);
      sent = true;
    }
  }
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return outcome;
}

class CliRobustness : public ::testing::Test {
 protected:
  void SetUp() override { testing::write_synthetic_split_files(dir_.path(), 3000, 100, 28, 28); }
  testing::ScratchDir dir_;
};

TEST_F(CliRobustness, CtrlCWritesACheckpointAndResumeEndsBitIdentical) {
  // Started with a relative --data from the data folder, resumed from "/":
  // the checkpoint keeps the data folder as an absolute path.
  const std::vector<std::string> recipe{"train", "--data", ".", "--layers", "784,32,10", "--epochs", "30",
                                        "--threads", "1", "--quiet-progress"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = recipe;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  const std::string stopped_dir = (dir_ / "stopped").string();
  const Outcome stopped = run_and_interrupt(with({"--run-dir", stopped_dir}), "epoch  1/30", SIGINT, dir_.path());
  if (stopped.exit_code == 0) GTEST_SKIP() << "training finished before the signal arrived";
  ASSERT_EQ(stopped.exit_code, 130) << stopped.output;
  EXPECT_NE(stopped.output.find("resume with: bpnet train --resume " + stopped_dir), std::string::npos)
      << stopped.output;
  // "stopped in epoch 2, after batch 17 of 94; checkpoint..." and later
  // "resuming in epoch 2, after batch 17 of 94": the same words for the same place.
  const std::size_t at = stopped.output.find("stopped ");
  ASSERT_NE(at, std::string::npos) << stopped.output;
  const std::string where = stopped.output.substr(at + 8, stopped.output.find(';', at) - at - 8);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "stopped" / "checkpoint.bpck"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "stopped" / "model.bpn"));

  expect_failure("train --resume " + stopped_dir + " --lr 0.5", 2, "--resume continues a run exactly");
  // Other data of the same shape is refused by its fingerprint.
  testing::ScratchDir other;
  testing::write_synthetic_split_files(other.path(), 3000, 100, 28, 28);
  std::filesystem::copy_file(dir_ / "t10k-images-idx3-ubyte", other / "t10k-images-idx3-ubyte",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(dir_ / "t10k-labels-idx1-ubyte", other / "t10k-labels-idx1-ubyte",
                             std::filesystem::copy_options::overwrite_existing);
  auto flipped = testing::read_bytes(dir_ / "train-images-idx3-ubyte");
  flipped[1000] ^= 1;  // one pixel differs
  testing::write_bytes(other / "train-images-idx3-ubyte", flipped);
  std::filesystem::copy_file(dir_ / "train-labels-idx1-ubyte", other / "train-labels-idx1-ubyte",
                             std::filesystem::copy_options::overwrite_existing);
  expect_failure("train --resume " + stopped_dir + " --data " + other.path().string(), 2,
                 "is not the data this run started with");
  const Outcome resumed = run_bpnet("train --quiet-progress --resume " + stopped_dir, "/");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming " + where + "\n"), std::string::npos) << where << "\n" << resumed.output;

  const std::string whole_dir = (dir_ / "whole").string();
  const Outcome whole = run_and_interrupt(with({"--run-dir", whole_dir}), "never printed", SIGINT, dir_.path());
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  EXPECT_EQ(testing::read_bytes(dir_ / "stopped" / "model.bpn"), testing::read_bytes(dir_ / "whole" / "model.bpn"));
}

TEST_F(CliRobustness, FullDiskKeepsThePreviousModelAndSaysWhy) {
  // A file-size limit stands in for a full disk: writes past 64 KiB fail.
  const auto model = dir_ / "m.bpn";
  testing::write_bytes(model, testing::Bytes{'o', 'l', 'd'});
  const std::string command = std::string("ulimit -f 64; trap '' XFSZ; exec ") + BPNET_CLI_PATH +
                              " train --data " + dir_.path().string() + " --layers 784,64,10 --epochs 1 --threads 1" +
                              " --quiet-progress --run-dir " + (dir_ / "run").string() + " --save " + model.string() +
                              " 2>&1";
  const Outcome outcome = [&] {
    Outcome o;
    FILE* pipe = ::popen(("bash -c \"" + command + "\"").c_str(), "r");
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) o.output.append(buffer, n);
    const int status = ::pclose(pipe);
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return o;
  }();
  EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
  // The run folder is written first; its model is what the full disk stops.
  EXPECT_NE(outcome.output.find("cannot write " + (dir_ / "run" / "model.bpn").string() +
                                ": write failed: File too large"),
            std::string::npos)
      << outcome.output;
  EXPECT_EQ(testing::read_bytes(model), (testing::Bytes{'o', 'l', 'd'}));
  for (const auto& folder : {dir_.path(), dir_ / "run"}) {
    for (const auto& entry : std::filesystem::directory_iterator(folder)) {
      EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
    }
  }
}

TEST_F(CliRobustness, CtrlCAfterTheLastBatchSaysTheResultsAreBeingWritten) {
  // The signal arrives once training has printed its test accuracy: nothing
  // is left to stop, so bpnet says so, finishes the results and exits 0.
  const std::string args = "--data " + dir_.path().string() + " --layers 784,8,10 --epochs 1 --threads 1 --quiet-progress";
  for (const int signal : {SIGINT, SIGTERM}) {
    const std::string folder = (dir_ / ("run" + std::to_string(signal))).string();
    const Outcome outcome = run_and_interrupt({"train", "--data", dir_.path().string(), "--layers", "784,8,10", "--epochs",
                                               "1", "--threads", "1", "--quiet-progress", "--run-dir", folder},
                                              "test: accuracy", signal);
    EXPECT_EQ(outcome.exit_code, 0) << outcome.output;
    EXPECT_EQ(outcome.output.find("stopping after this batch"), std::string::npos) << outcome.output;
    if (outcome.output.find("writing its results") == std::string::npos) continue;  // finished before the signal
    EXPECT_EQ(outcome.output.find("SIGTERM") != std::string::npos, signal == SIGTERM) << outcome.output;
    EXPECT_EQ(outcome.output.find("Ctrl-C") != std::string::npos, signal == SIGINT) << outcome.output;
  }
  (void)args;
}

TEST_F(CliRobustness, RefusesToSaveOverAFolderOrIntoAMissingOne) {
  std::filesystem::create_directory(dir_ / "folder");
  const std::string base = "train --data " + dir_.path().string() +
                           " --layers 784,8,10 --epochs 1 --threads 1 --quiet-progress --run-dir " +
                           (dir_ / "run").string();
  // Found before the first epoch, not after the run.
  for (const char* flag : {"--save", "--history"}) {
    const Outcome outcome = run_bpnet(base + " " + std::string(flag) + " " + (dir_ / "folder").string());
    EXPECT_EQ(outcome.exit_code, 1) << outcome.output;
    EXPECT_NE(outcome.output.find("cannot write " + (dir_ / "folder").string() + ": it is a folder; give a file name"),
              std::string::npos) << outcome.output;
    EXPECT_EQ(outcome.output.find("epoch 1/1"), std::string::npos) << "trained before failing:\n" << outcome.output;
  }
  testing::write_bytes(dir_ / "file", testing::Bytes{'x'});
  const Outcome blocked = run_bpnet(base + " --save " + (dir_ / "file" / "m.bpn").string());
  EXPECT_EQ(blocked.exit_code, 1) << blocked.output;
  EXPECT_NE(blocked.output.find("cannot create folder " + (dir_ / "file").string()), std::string::npos) << blocked.output;
  EXPECT_EQ(blocked.output.find("epoch 1/1"), std::string::npos) << blocked.output;
  // A missing parent folder is created (documented in docs/robustness.md).
  const Outcome made = run_bpnet(base + " --overwrite --save " + (dir_ / "new" / "m.bpn").string());
  EXPECT_EQ(made.exit_code, 0) << made.output;
  EXPECT_TRUE(std::filesystem::exists(dir_ / "new" / "m.bpn"));
}

TEST_F(CliRobustness, ARunFolderBelongsToOneRun) {
  const std::string base = "train --data " + dir_.path().string() +
                           " --layers 784,8,10 --epochs 1 --threads 1 --quiet-progress --run-dir " +
                           (dir_ / "run").string();
  ASSERT_EQ(run_bpnet(base).exit_code, 0);
  testing::write_bytes(dir_ / "run" / "checkpoint.bpck", testing::Bytes{'o', 'l', 'd'});
  testing::write_bytes(dir_ / "run" / "notes.txt", testing::Bytes{'m', 'i', 'n', 'e'});
  expect_failure(base, 2, "holds another run's files (model.bpn, history.json");
  const Outcome again = run_bpnet(base + " --overwrite");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  // bpnet's own files were replaced, the stale checkpoint is gone, the user's file stays.
  EXPECT_FALSE(std::filesystem::exists(dir_ / "run" / "checkpoint.bpck"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "run" / "model.bpn"));
  EXPECT_EQ(testing::read_bytes(dir_ / "run" / "notes.txt"), (testing::Bytes{'m', 'i', 'n', 'e'}));
}

}  // namespace
}  // namespace bpnet
