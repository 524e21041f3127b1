// Every picture bpnet draws, produced through the command line as a user
// would, decoded back and checked for size and real content.
#include <cairo.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <string>

#include "test_support.hpp"

namespace bpnet {
namespace {

int run_bpnet(const std::string& arguments) {
  const std::string command = std::string(BPNET_CLI_PATH) + " " + arguments + " > /dev/null 2>&1";
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A decoded PNG; pixel() returns 0xRRGGBB.
class Picture {
 public:
  explicit Picture(const std::filesystem::path& path)
      : surface_(cairo_image_surface_create_from_png(path.c_str())) {}
  ~Picture() { cairo_surface_destroy(surface_); }
  bool ok() const { return cairo_surface_status(surface_) == CAIRO_STATUS_SUCCESS; }
  int width() const { return cairo_image_surface_get_width(surface_); }
  int height() const { return cairo_image_surface_get_height(surface_); }
  std::uint32_t pixel(int x, int y) const {
    const unsigned char* data = cairo_image_surface_get_data(surface_);
    const int stride = cairo_image_surface_get_stride(surface_);
    return reinterpret_cast<const std::uint32_t*>(data + y * stride)[x] & 0xFFFFFFu;
  }
  // How many pixels in [x0, x1) x [y0, y1) satisfy `test`.
  template <typename Test>
  int count(int x0, int y0, int x1, int y1, Test test) const {
    int n = 0;
    for (int y = y0; y < y1; ++y) {
      for (int x = x0; x < x1; ++x) n += test(pixel(x, y)) ? 1 : 0;
    }
    return n;
  }

 private:
  cairo_surface_t* surface_;
};

int red(std::uint32_t p) { return static_cast<int>((p >> 16) & 0xFF); }
int green(std::uint32_t p) { return static_cast<int>((p >> 8) & 0xFF); }
int blue(std::uint32_t p) { return static_cast<int>(p & 0xFF); }
bool is_bluish(std::uint32_t p) { return blue(p) > 150 && red(p) < 90 && green(p) < 140; }
bool is_reddish(std::uint32_t p) { return red(p) > 170 && green(p) < 80 && blue(p) < 80; }
bool is_dark(std::uint32_t p) { return red(p) < 100 && green(p) < 100 && blue(p) < 100; }

class Pictures : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::ScratchDir;
    testing::write_synthetic_split_files(dir_->path(), 400, 120, 8, 8);
    run_ = dir_->path() / "run";
    // A validation split, so the curves carry both colours.
    train_exit_ = run_bpnet("train --data " + dir_->path().string() +
                            " --layers 64,16,10 --epochs 8 --validation-split 0.25 --lr 0.05 --threads 1"
                            " --quiet-progress --run-dir " + run_.string());
  }
  static void TearDownTestSuite() { delete dir_; }

  static inline testing::ScratchDir* dir_ = nullptr;
  static inline std::filesystem::path run_;
  static inline int train_exit_ = -1;
};

TEST_F(Pictures, RunFolderHoldsEveryFile) {
  ASSERT_EQ(train_exit_, 0);
  for (const char* name : {"model.bpn", "history.json", "history.csv", "config.json", "curves.png", "curves.svg",
                           "samples.png", "confusion.png", "report.html"}) {
    EXPECT_TRUE(std::filesystem::is_regular_file(run_ / name)) << name;
    EXPECT_GT(std::filesystem::file_size(run_ / name), 100u) << name;
  }
}

TEST_F(Pictures, CurvesShowTrainingBlueAndValidationRedInBothPanels) {
  ASSERT_EQ(train_exit_, 0);
  const Picture curves(run_ / "curves.png");
  ASSERT_TRUE(curves.ok());
  EXPECT_EQ(curves.width(), 1200);
  EXPECT_EQ(curves.height(), 480);
  for (int panel = 0; panel < 2; ++panel) {
    const int x0 = panel * 600 + 75, x1 = panel * 600 + 575;  // inside the plot frame
    EXPECT_GT(curves.count(x0, 85, x1, 420, is_bluish), 200) << "panel " << panel;
    EXPECT_GT(curves.count(x0, 85, x1, 420, is_reddish), 200) << "panel " << panel;
    EXPECT_GT(curves.count(x0 - 70, 40, x0, 440, is_dark), 50) << "tick labels, panel " << panel;
  }
  std::ifstream svg(run_ / "curves.svg");
  const std::string text((std::istreambuf_iterator<char>(svg)), {});
  EXPECT_NE(text.find("<svg"), std::string::npos);
}

TEST_F(Pictures, SampleGridHasTenNonEmptyCells) {
  ASSERT_EQ(train_exit_, 0);
  const Picture samples(run_ / "samples.png");
  ASSERT_TRUE(samples.ok());
  EXPECT_EQ(samples.width(), 5 * 168);
  for (int cell = 0; cell < 10; ++cell) {
    const int x = (cell % 5) * 168 + 14, y = 46 + (cell / 5) * 188 + 34;
    // Synthetic digits: a bright band drawn as dark ink on paper.
    EXPECT_GT(samples.count(x, y, x + 140, y + 140, is_dark), 300) << "cell " << cell;
    // ...and a caption above the image.
    EXPECT_GT(samples.count(x, y - 30, x + 140, y - 4, [](std::uint32_t p) { return p != 0xFFFFFF; }), 30)
        << "caption " << cell;
  }
}

TEST_F(Pictures, ConfusionMatrixIsAHeatMap) {
  ASSERT_EQ(train_exit_, 0);
  const Picture confusion(run_ / "confusion.png");
  ASSERT_TRUE(confusion.ok());
  EXPECT_EQ(confusion.width(), 90 + 520 + 40);
  // The diagonal cells of a trained model are the darkest blue.
  int dark_diagonal = 0;
  for (int c = 0; c < 10; ++c) {
    const std::uint32_t p = confusion.pixel(90 + c * 52 + 4, 96 + c * 52 + 4);
    dark_diagonal += blue(p) > 150 && red(p) < 150 ? 1 : 0;
  }
  EXPECT_GE(dark_diagonal, 8);
}

TEST_F(Pictures, ReportReferencesFilesThatExist) {
  ASSERT_EQ(train_exit_, 0);
  std::ifstream in(run_ / "report.html");
  const std::string html((std::istreambuf_iterator<char>(in)), {});
  std::set<std::string> referenced;
  for (const std::string attribute : {"src=\"", "href=\""}) {
    for (std::size_t at = html.find(attribute); at != std::string::npos; at = html.find(attribute, at + 1)) {
      const std::size_t start = at + attribute.size();
      referenced.insert(html.substr(start, html.find('"', start) - start));
    }
  }
  EXPECT_TRUE(referenced.count("curves.png"));
  EXPECT_TRUE(referenced.count("samples.png"));
  for (const auto& file : referenced) EXPECT_TRUE(std::filesystem::exists(run_ / file)) << file;
  EXPECT_NE(html.find("test accuracy"), std::string::npos);
}

TEST_F(Pictures, CompareChartLabelsEachRun) {
  ASSERT_EQ(train_exit_, 0);
  const auto out = dir_->path() / "compare.png";
  const std::string history = (run_ / "history.json").string();
  ASSERT_EQ(run_bpnet("plot --history " + history + " --history " + history + " --label first --label second --out " +
                      out.string()),
            0);
  const Picture chart(out);
  ASSERT_TRUE(chart.ok());
  EXPECT_EQ(chart.width(), 1300);
  EXPECT_GT(chart.count(75, 85, 640, 460, [](std::uint32_t p) { return p != 0xFFFFFF && !is_dark(p); }), 300);
  EXPECT_EQ(run_bpnet("plot --history " + (dir_->path() / "absent.json").string() + " --out " + out.string()), 1);
}

TEST_F(Pictures, ShowDrawsOneDigitEnlarged) {
  const auto out = dir_->path() / "digit.png";
  ASSERT_EQ(run_bpnet("show --data " + dir_->path().string() + " --index 3 --out " + out.string()), 0);
  const Picture digit(out);
  ASSERT_TRUE(digit.ok());
  EXPECT_EQ(digit.width(), 376);
  EXPECT_GT(digit.count(20, 44, 356, 380, is_dark), 2000);
  EXPECT_EQ(run_bpnet("show --data " + dir_->path().string() + " --index 999 --out " + out.string()), 2);
}

TEST_F(Pictures, AugmentShowsEachImageBesideItsDistortedVersions) {
  const auto out = dir_->path() / "augment.png";
  // Affine only: elastic fields of the default width would sweep 8x8 images empty.
  ASSERT_EQ(run_bpnet("augment --data " + dir_->path().string() + " --index 0,1,2 --versions 4 --augment affine --out " +
                      out.string()),
            0);
  const Picture grid(out);
  ASSERT_TRUE(grid.ok());
  // A 120-pixel label column, then 5 columns (original + 4) of 84-pixel cells 10 apart; 3 rows below a 72-pixel head.
  EXPECT_EQ(grid.width(), 120 + 5 * 94 + 10);
  EXPECT_EQ(grid.height(), 72 + 3 * 94 + 10);
  for (int row = 0; row < 3; ++row) {
    const int y = 72 + row * 94;
    const auto inked = [&](int column) {
      const int x = 120 + column * 94;
      return grid.count(x, y, x + 84, y + 84, [](std::uint32_t p) { return red(p) < 240; });
    };
    EXPECT_GT(grid.count(120, y, 120 + 84, y + 84, is_dark), 200) << "row " << row;
    for (int column = 1; column <= 4; ++column) {
      // Moved, turned and stretched, but still an image with ink in it.
      EXPECT_GT(inked(column), 84 * 84 / 4) << "row " << row << " column " << column;
      // A distorted version is not the original drawn again.
      int differing = 0;
      for (int dy = 0; dy < 84; ++dy) {
        for (int dx = 0; dx < 84; ++dx) differing += grid.pixel(120 + dx, y + dy) != grid.pixel(120 + column * 94 + dx, y + dy);
      }
      EXPECT_GT(differing, 100) << "row " << row << " column " << column;
    }
  }
}

TEST_F(Pictures, ConfusionMatrixHasNoEmptyBandBelow) {
  ASSERT_EQ(train_exit_, 0);
  const Picture confusion(run_ / "confusion.png");
  ASSERT_TRUE(confusion.ok());
  // The last row of cells ends 24 pixels above the bottom edge.
  EXPECT_EQ(confusion.height(), 96 + 520 + 24);
}

TEST_F(Pictures, ExtremeAndNonFiniteHistoriesDrawInBoundedTime) {
  // Values near 1e17 a few apart once made tick placement loop until memory
  // ran out; 1e300 made labels run off the image; null is a diverged epoch.
  const auto history = dir_->path() / "extreme.json";
  const std::string text = R"({"epochs": [
      {"epoch": 1, "loss": 1e17, "accuracy": 0.1, "val_loss": null, "val_accuracy": null},
      {"epoch": 2, "loss": 100000000000000064, "accuracy": 1e300, "val_loss": null, "val_accuracy": null},
      {"epoch": 3, "loss": -1e300, "accuracy": 1e-300, "val_loss": null, "val_accuracy": null}]})";
  testing::write_bytes(history, testing::Bytes(text.begin(), text.end()));
  const auto out = dir_->path() / "extreme.png";
  // A watchdog: the old code never returned here.
  const std::string command = "timeout 30 " + std::string(BPNET_CLI_PATH) + " plot --history " + history.string() +
                              " --out " + out.string() + " > /dev/null 2>&1";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "124 means it hung";
  const Picture chart(out);
  ASSERT_TRUE(chart.ok());
  EXPECT_EQ(chart.width(), 1300);
}

TEST_F(Pictures, OneEpochIsADotInsideThePlotNotOnItsEdge) {
  const auto history = dir_->path() / "one.json";
  const std::string text = R"({"epochs": [{"epoch": 1, "loss": 0.5, "accuracy": 0.8}]})";
  testing::write_bytes(history, testing::Bytes(text.begin(), text.end()));
  const auto out = dir_->path() / "one.png";
  ASSERT_EQ(run_bpnet("plot --history " + history.string() + " --out " + out.string()), 0);
  const Picture chart(out);
  ASSERT_TRUE(chart.ok());
  // The loss panel's plot area spans x = 84..630; its middle third holds the
  // whole marker (a coloured disc of about 7 px), the edges none of it.
  const auto coloured = [](std::uint32_t p) { return p != 0xFFFFFF && !is_dark(p) && blue(p) != green(p); };
  EXPECT_GT(chart.count(250, 80, 450, 480, coloured), 20);
  EXPECT_EQ(chart.count(66, 80, 80, 480, coloured), 0);
}

TEST_F(Pictures, OutputNamesAreCheckedNotOverwrittenOrMislabelled) {
  ASSERT_EQ(train_exit_, 0);
  const std::string history = (run_ / "history.json").string();
  EXPECT_EQ(run_bpnet("show --data " + dir_->path().string() + " --index 3 --out " + (dir_->path() / "x.jpg").string()),
            2);
  EXPECT_FALSE(std::filesystem::exists(dir_->path() / "x.jpg"));
  // plot --out must never replace one of its inputs.
  const auto before = testing::read_bytes(run_ / "history.json");
  EXPECT_EQ(run_bpnet("plot --history " + history + " --out " + history), 2);
  EXPECT_EQ(testing::read_bytes(run_ / "history.json"), before);
}

}  // namespace
}  // namespace bpnet

namespace bpnet {
namespace {

bool is_coloured(std::uint32_t p) {
  const int hi = std::max({red(p), green(p), blue(p)}), lo = std::min({red(p), green(p), blue(p)});
  return hi - lo > 60;
}

TEST_F(Pictures, DiagnosticsChartHasALinePerLayerInEachPanel) {
  ASSERT_EQ(train_exit_, 0);
  const Picture chart(run_ / "diagnostics.png");
  ASSERT_TRUE(chart.ok());
  EXPECT_EQ(chart.width(), 1500);
  EXPECT_EQ(chart.height(), 500);
  for (int panel = 0; panel < 3; ++panel) {
    const int x0 = panel * 500 + 90, x1 = panel * 500 + 475;
    EXPECT_GT(chart.count(x0, 85, x1, 440, is_coloured), 150) << "panel " << panel;
  }
  std::ifstream report(run_ / "report.html");
  const std::string html((std::istreambuf_iterator<char>(report)), {});
  EXPECT_NE(html.find("diagnostics.png"), std::string::npos);
  std::ifstream history(run_ / "history.json");
  const std::string json((std::istreambuf_iterator<char>(history)), {});
  EXPECT_NE(json.find("\"gradient_norm\""), std::string::npos);
  EXPECT_NE(json.find("\"histograms\""), std::string::npos);
}

TEST_F(Pictures, LrFindDrawsTheCurveOnALogAxisWithTheSuggestionMarked) {
  const std::filesystem::path png = dir_->path() / "lr.png";
  ASSERT_EQ(run_bpnet("lr-find --data " + dir_->path().string() +
                      " --layers 64,16,10 --threads 1 --lr-min 1e-5 --lr-max 100 --steps 60 --batch 16 --out " +
                      png.string()),
            0);
  const Picture chart(png);
  ASSERT_TRUE(chart.ok());
  EXPECT_EQ(chart.width(), 900);
  EXPECT_GT(chart.count(90, 85, 880, 480, is_bluish), 200) << "the loss curve";
  EXPECT_GT(chart.count(90, 85, 880, 480, is_reddish), 40) << "the suggestion's mark";
  EXPECT_GT(chart.count(60, 490, 880, 520, is_dark), 60) << "the decade labels";
}

}  // namespace
}  // namespace bpnet
