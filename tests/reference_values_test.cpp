// Layers, schedules and label smoothing against values computed
// independently with PyTorch (tools/reference/layers_reference.py and
// label_smoothing_reference.py, float64), in train and eval mode where they
// differ.
#include <gtest/gtest.h>

#include <vector>

#include "bpnet/layers.hpp"
#include "bpnet/loss.hpp"
#include "bpnet/schedule.hpp"

namespace bpnet {
namespace {

// Printed by /usr/bin/python3 tools/reference/layers_reference.py (PyTorch 1.13).
const std::vector<double> kInput{0.5, -1.25, 2, 0, -0.29999999999999999, 1.5, 0.75, -2.5, 0.20000000000000001, 0.90000000000000002, -0.69999999999999996, 0.10000000000000001, 0.40000000000000002, -1.1000000000000001, 2.2000000000000002, 0.050000000000000003, -0.59999999999999998, 1.3, 3, -1.8};
const std::vector<double> kLeakyRelu{0.5, -0.125, 2, 0, -0.029999999999999999, 1.5, 0.75, -0.25, 0.20000000000000001, 0.90000000000000002, -0.069999999999999993, 0.10000000000000001, 0.40000000000000002, -0.11000000000000001, 2.2000000000000002, 0.050000000000000003, -0.059999999999999998, 1.3, 3, -0.18000000000000002};
const std::vector<double> kGelu{0.34573123063700656, -0.13206221708356905, 1.9544997361036416, 0, -0.11462657334331421, 1.399789198096713, 0.58002948571734891, -0.015524163314440398, 0.11585194188782061, 0.73434588718791649, -0.16937455655615108, 0.053982783727702904, 0.26216869664412967, -0.14923266704102089, 2.1694124154703034, 0.025996940291918624, -0.16455187065004412, 1.1741593700387067, 2.9959503059051098, -0.064674574403266391};
const std::vector<double> kSigmoid{0.62245933120185459, 0.22270013882530884, 0.88079707797788231, 0.5, 0.42555748318834102, 0.81757447619364365, 0.67917869917539297, 0.075858180021243546, 0.54983399731247795, 0.71094950262500389, 0.33181222783183389, 0.52497918747894001, 0.59868766011245211, 0.24973989440488234, 0.9002495108803148, 0.51249739648421033, 0.35434369377420455, 0.78583498304255861, 0.95257412682243336, 0.14185106490048777};
const std::vector<double> kTanh{0.46211715726000974, -0.84828363995751288, 0.9640275800758169, 0, -0.2913126124515909, 0.9051482536448664, 0.6351489523872873, -0.98661429815143031, 0.19737532022490401, 0.71629787019902447, -0.6043677771171635, 0.099667994624955819, 0.3799489622552249, -0.8004990217606297, 0.97574313003145152, 0.049958374957879977, -0.5370495669980353, 0.86172315931330634, 0.99505475368673046, -0.94680601284626831};
const std::vector<double> kSoftmax{0.14900192614713398, 0.025892652288299459, 0.66778030387292986, 0.090374236564474256, 0.066950881127162479, 0.43252115851217976, 0.20430852863394833, 0.0079219013510460397, 0.11787576685447272, 0.23737264464835314, 0.039881675268353012, 0.088758300606565463, 0.11981117381925087, 0.026733486401860809, 0.72481536390396994, 0.041193661090379696, 0.021504976801557312, 0.14378000487887668, 0.78704418268925103, 0.0064771745399352454};
const std::vector<double> kLogSoftmax{-1.9037960459582599, -3.6537960459582601, -0.40379604595825996, -2.4037960459582601, -2.70379604595826, -0.83812403239137201, -1.5881240323913719, -4.8381240323913719, -2.1381240323913722, -1.438124032391372, -3.2218383270387783, -2.421838327038778, -2.1218383270387782, -3.6218383270387782, -0.32183832703877785, -3.1894708914934822, -3.8394708914934821, -1.9394708914934822, -0.23947089149348214, -5.0394708914934823};
const std::vector<double> kBatchNormTrain{0.20404708874134392, -0.56740269861142711, -2.1846051974945424, -0.22074894588751023, 0.90692681475525705, 1.4597214809957684, 0.76740269861142707, 3.0687615017557173, -0.022368395073220575, 1.109995582561969, -1.3027621819639654, 0.33359094451399951, -0.31674148220556131, -1.3118419753661035, 1.3299867476859069, -0.36100638777314709, -0.13359094451399947, -1.3674148220556133, 2.7549593163268344, 0.65309085499686725};
const std::vector<double> kBatchNormRunningMean{0.033750000000000002, -0.025000000000000001, 0.030000000000000006, 0.052499999999999991, 0.025000000000000008};
const std::vector<double> kBatchNormRunningVar{0.98456250000000001, 0.97483333333333333, 1.2913333333333332, 1.2049166666666666, 1.1910000000000001};
const std::vector<double> kBatchNormEval{0.46988869243202952, -0.52035270464380479, -3.6671717819594187, 0.22825853277105199, 0.92554983481327924, 1.4776928585060876, 0.49246803763179492, 4.2527637605874773, 0.50155936030990156, 1.2004427524257866, -0.73947630685683996, 0.16330129639222499, -0.85119470016496701, -1.2748960186926208, 1.4982434131726696, 0.016376817698703444, -0.19118596340423491, -2.4351818086743462, 4.3277709458537954, 0.58193368779764498};
const std::vector<double> kDropoutEval{0.5, -1.25, 2, 0, -0.29999999999999999, 1.5, 0.75, -2.5, 0.20000000000000001, 0.90000000000000002, -0.69999999999999996, 0.10000000000000001, 0.40000000000000002, -1.1000000000000001, 2.2000000000000002, 0.050000000000000003, -0.59999999999999998, 1.3, 3, -1.8};
const std::vector<double> kStepLr{0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.050000000000000003, 0.050000000000000003, 0.050000000000000003, 0.025000000000000001, 0.025000000000000001, 0.025000000000000001, 0.012500000000000001, 0.012500000000000001, 0.012500000000000001};
const std::vector<double> kExponentialLr{0.10000000000000001, 0.080000000000000016, 0.064000000000000015, 0.051200000000000016, 0.040960000000000017, 0.032768000000000012, 0.026214400000000013, 0.020971520000000011, 0.016777216000000008, 0.013421772800000007, 0.010737418240000006, 0.008589934592000005};
const std::vector<double> kCosineLr{0.10000000000000001, 0.098466662183008077, 0.093971143170299753, 0.086819805153394644, 0.077500000000000013, 0.066646857029613454, 0.055000000000000014, 0.043353142970386581, 0.032500000000000015, 0.023180194846605367, 0.016028856829700261, 0.011533337816991932};
const std::vector<double> kPlateauLosses{1, 0.80000000000000004, 0.69999999999999996, 0.69999999999999996, 0.70999999999999996, 0.69999999999999996, 0.71999999999999997, 0.59999999999999998, 0.59999999999999998, 0.59999999999999998, 0.59999999999999998, 0.59999999999999998};
const std::vector<double> kPlateauLr{0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.10000000000000001, 0.050000000000000003, 0.050000000000000003, 0.050000000000000003, 0.050000000000000003, 0.050000000000000003, 0.025000000000000001};

// Printed by /usr/bin/python3 tools/reference/label_smoothing_reference.py:
// CrossEntropyLoss(label_smoothing=0.1) on kInput as (4, 5), labels [0, 3, 1, 4].
constexpr double kSmoothedCrossEntropySum = 11.310229296881891;
const std::vector<double> kSmoothedCrossEntropyGrad{-0.19274951846321653, 0.0014731630720748639, 0.16194507596823246, 0.01759355914111856, 0.011737720281790615, 0.10313028962804492, 0.04607713215848709, -0.00301952466223849, -0.20053105828638185, 0.05434316116208828, 0.004970418817088251, -0.20781042484835865, 0.024952793454812716, 0.0016833716004652022, 0.17620384097599248, 0.005298415272594926, 0.00037624420038932967, 0.03094500121971917, 0.19176104567231275, -0.2283807063650162};

constexpr std::size_t kRows = 4, kCols = 5;
constexpr double kTolerance = 1e-12;

Matrix<double> input() {
  Matrix<double> x(kRows, kCols);
  std::copy(kInput.begin(), kInput.end(), x.data());
  return x;
}

void expect_values(const Matrix<double>& y, const std::vector<double>& expected, const char* what) {
  ASSERT_EQ(y.rows() * y.cols(), expected.size()) << what;
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(y.data()[i], expected[i], kTolerance) << what << " [" << i << "]";
}

Matrix<double> run(const Layer<double>& layer, Mode mode, std::vector<double>& scratch) {
  Matrix<double> y(kRows, kCols);
  layer.forward({mode, RandomStream(1, 0, 0), &scratch}, input(), y);
  return y;
}

Matrix<double> run(const Layer<double>& layer, Mode mode = Mode::eval) {
  std::vector<double> scratch;
  return run(layer, mode, scratch);
}

TEST(ReferenceValues, Activations) {
  expect_values(run(LeakyReLU<double>(kCols, 0.1)), kLeakyRelu, "LeakyReLU(0.1)");
  expect_values(run(GELU<double>(kCols)), kGelu, "GELU");
  expect_values(run(Sigmoid<double>(kCols)), kSigmoid, "Sigmoid");
  expect_values(run(Tanh<double>(kCols)), kTanh, "Tanh");
  expect_values(run(Softmax<double>(kCols)), kSoftmax, "Softmax");
  expect_values(run(LogSoftmax<double>(kCols)), kLogSoftmax, "LogSoftmax");
}

TEST(ReferenceValues, DropoutIsTheIdentityInEvalMode) {
  expect_values(run(Dropout<double>(kCols, 0.3), Mode::eval), kDropoutEval, "Dropout eval");
}

TEST(ReferenceValues, BatchNorm1dTrainThenEval) {
  BatchNorm1d<double> layer(kCols, 1e-5, 0.1);
  std::vector<double> params(2 * kCols), buffers(2 * kCols);
  layer.bind(params, buffers);
  Rng unused(0);
  layer.initialize(Init::torch, unused);
  const std::vector<double> weight{1.0, 0.5, -2.0, 1.5, 0.25}, bias{0.0, 0.1, -0.2, 0.3, 1.0};
  std::copy(weight.begin(), weight.end(), params.begin());
  std::copy(bias.begin(), bias.end(), params.begin() + kCols);

  std::vector<double> scratch;
  expect_values(run(layer, Mode::train, scratch), kBatchNormTrain, "BatchNorm1d train");
  layer.update_buffers({Mode::train, {}, &scratch});
  for (std::size_t j = 0; j < kCols; ++j) {
    EXPECT_NEAR(buffers[j], kBatchNormRunningMean[j], kTolerance) << "running_mean " << j;
    EXPECT_NEAR(buffers[kCols + j], kBatchNormRunningVar[j], kTolerance) << "running_var " << j;
  }
  expect_values(run(layer, Mode::eval), kBatchNormEval, "BatchNorm1d eval");
}

std::vector<double> rates(const ScheduleOptions& options, const std::vector<double>& losses = {}) {
  LrSchedule schedule(options, 0.1, 12, 1);
  std::vector<double> result;
  for (std::size_t epoch = 0; epoch < 12; ++epoch) {
    result.push_back(schedule.lr(epoch, 0));
    schedule.end_epoch(losses.empty() ? 1.0 : losses[epoch]);
  }
  return result;
}

void expect_rates(const std::vector<double>& got, const std::vector<double>& expected, const char* what) {
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t e = 0; e < got.size(); ++e) EXPECT_NEAR(got[e], expected[e], kTolerance) << what << " epoch " << e;
}

TEST(ReferenceValues, SchedulesMatchPyTorch) {
  expect_rates(rates({.kind = ScheduleKind::step, .step_epochs = 3, .gamma = 0.5}), kStepLr, "StepLR");
  expect_rates(rates({.kind = ScheduleKind::exponential, .gamma = 0.8}), kExponentialLr, "ExponentialLR");
  expect_rates(rates({.kind = ScheduleKind::cosine, .lr_min = 0.01}), kCosineLr, "CosineAnnealingLR");
  expect_rates(rates({.kind = ScheduleKind::plateau, .gamma = 0.5, .lr_min = 0.02, .plateau_patience = 2},
                     kPlateauLosses),
               kPlateauLr, "ReduceLROnPlateau");
}

TEST(ReferenceValues, LabelSmoothingMatchesPyTorch) {
  const std::vector<std::uint8_t> labels{0, 3, 1, 4};
  const auto cross_entropy = make_loss<double>(LossKind::cross_entropy, 0.1);
  Matrix<double> grad(kRows, kCols);
  EXPECT_NEAR(cross_entropy->sum_and_gradient(input(), labels, grad, 1.0 / kRows), kSmoothedCrossEntropySum, 1e-12);
  expect_values(grad, kSmoothedCrossEntropyGrad, "CrossEntropyLoss(label_smoothing=0.1) gradient");
  // NLLLoss on log-probabilities has the same target, so the same value.
  Matrix<double> log_probabilities(kRows, kCols);
  LogSoftmax<double>(kCols).forward({}, input(), log_probabilities);
  EXPECT_NEAR(make_loss<double>(LossKind::nll, 0.1)->sum(log_probabilities, labels), kSmoothedCrossEntropySum, 1e-12);
}

TEST(Schedules, WarmUpRisesLinearlyPerStepThenTheScheduleStartsAtItsEpochZero) {
  // 2 warm-up epochs of 5 steps: step k of the 10 has lr * (k + 1) / 10.
  LrSchedule schedule({.kind = ScheduleKind::cosine, .warmup_epochs = 2}, 0.1, 12, 5);
  EXPECT_DOUBLE_EQ(schedule.lr(0, 0), 0.01);
  EXPECT_DOUBLE_EQ(schedule.lr(0, 4), 0.05);
  EXPECT_DOUBLE_EQ(schedule.lr(1, 4), 0.1);
  // Then cosine over the remaining 10 epochs: epoch 2 is its epoch 0.
  EXPECT_DOUBLE_EQ(schedule.lr(2, 0), 0.1);
  EXPECT_NEAR(schedule.lr(7, 3), 0.05, 1e-15);  // halfway: cos(pi/2) = 0
  EXPECT_DOUBLE_EQ(schedule.lr(3, 0), schedule.lr(3, 4)) << "constant within an epoch after warm-up";
}

TEST(Schedules, AbsurdOptionsAreRejected) {
  EXPECT_THROW(ScheduleOptions({.warmup_epochs = 5}).validate(5, 0.1), std::exception);
  EXPECT_THROW(ScheduleOptions({.step_epochs = 0}).validate(5, 0.1), std::exception);
  EXPECT_THROW(ScheduleOptions({.gamma = 0}).validate(5, 0.1), std::exception);
  EXPECT_THROW(ScheduleOptions({.gamma = 1.5}).validate(5, 0.1), std::exception);
  EXPECT_THROW(ScheduleOptions({.lr_min = 0.2}).validate(5, 0.1), std::exception);
  EXPECT_NO_THROW(ScheduleOptions({.lr_min = 0.01}).validate(5, 0.1));
}

}  // namespace
}  // namespace bpnet
