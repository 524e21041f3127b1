// bpnet serve from the outside: every endpoint and every error status, over
// HTTP on 127.0.0.1, against the real command with a model trained here.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>

#include "bpnet/image.hpp"
#include "test_support.hpp"

namespace bpnet {
namespace {

class Serve : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::ScratchDir;
    testing::write_synthetic_split_files(dir_->path(), 300, 50, 8, 8);
    const std::string model = (dir_->path() / "m.bpn").string();
    const std::string train = std::string(BPNET_CLI_PATH) + " train --data " + dir_->path().string() +
                              " --layers 64,16,10 --epochs 1 --threads 1 --quiet-progress --save " + model +
                              " --run-dir " + (dir_->path() / "run").string() + " > /dev/null 2>&1";
    ASSERT_EQ(std::system(train.c_str()), 0);
    // Started directly (no shell), its output read for the port it chose.
    int out[2];
    ASSERT_EQ(pipe(out), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      execl(BPNET_CLI_PATH, "bpnet", "serve", "--model", model.c_str(), "--port", "0", "--threads", "2", nullptr);
      _exit(127);
    }
    close(out[1]);
    output_ = fdopen(out[0], "r");
    char line[512] = {};
    ASSERT_NE(std::fgets(line, sizeof line, output_), nullptr);
    const std::string text = line;
    const auto colon = text.find("127.0.0.1:");
    ASSERT_NE(colon, std::string::npos) << text;
    port_ = std::stoi(text.substr(colon + 10));
  }
  static void TearDownTestSuite() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    if (output_) fclose(output_);
    delete dir_;
  }
  static httplib::Client client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10);
    return c;
  }
  static std::string png_of_a_stroke() {
    GreyImage image{60, 60, std::vector<std::uint8_t>(3600, 255)};
    for (std::size_t r = 10; r < 50; ++r) {
      for (std::size_t c = 26; c < 34; ++c) image.pixels[r * 60 + c] = 20;  // a dark "1" on white
    }
    const auto bytes = encode_png(image);
    return std::string(bytes.begin(), bytes.end());
  }

  static inline testing::ScratchDir* dir_ = nullptr;
  static inline pid_t pid_ = -1;
  static inline FILE* output_ = nullptr;
  static inline int port_ = 0;
};

void expect_error(const httplib::Result& res, int status, const std::string& fragment) {
  ASSERT_TRUE(res) << "no response";
  EXPECT_EQ(res->status, status) << res->body;
  const auto j = nlohmann::json::parse(res->body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << res->body;
  EXPECT_NE(j.value("error", "").find(fragment), std::string::npos) << res->body;
}

TEST_F(Serve, PageHealthAndModel) {
  auto c = client();
  const auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<canvas id=\"canvas\""), std::string::npos);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  const auto health = c.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(nlohmann::json::parse(health->body)["status"], "ok");
  const auto model = c.Get("/api/model");
  ASSERT_TRUE(model);
  const auto m = nlohmann::json::parse(model->body);
  EXPECT_EQ(m["architecture"], "64 -> Linear(16) -> ReLU -> Linear(10) -> LogSoftmax");
  EXPECT_EQ(m["parameters"], 64 * 16 + 16 + 16 * 10 + 10);
  EXPECT_EQ(m["image_shape"], nlohmann::json::array({8, 8}));
  EXPECT_EQ(m["normalize"], "torch");
  EXPECT_TRUE(m["test_accuracy"].is_null());  // the model file has no run folder beside it
}

TEST_F(Serve, PredictsAPngAndPixelsAsJson) {
  auto c = client();
  const auto res = c.Post("/api/predict", png_of_a_stroke(), "image/png");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const auto j = nlohmann::json::parse(res->body);
  const auto p = j["probabilities"].get<std::vector<double>>();
  ASSERT_EQ(p.size(), 10u);
  EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-6);
  EXPECT_EQ(j["label"].get<std::size_t>(), static_cast<std::size_t>(std::max_element(p.begin(), p.end()) - p.begin()));
  EXPECT_EQ(j["input"].size(), 64u);
  EXPECT_TRUE(j["inverted"].get<bool>());
  std::vector<int> pixels(64, 0);
  for (int r = 1; r < 7; ++r) pixels[r * 8 + 4] = 255;
  const auto json = c.Post("/api/predict", nlohmann::json{{"pixels", pixels}}.dump(), "application/json");
  ASSERT_TRUE(json);
  EXPECT_EQ(json->status, 200) << json->body;
}

TEST_F(Serve, EveryBadRequestGetsItsStatusAndAJsonError) {
  auto c = client();
  expect_error(c.Post("/api/predict", "hello", "text/plain"), 415, "is not image/png");
  expect_error(c.Post("/api/predict", "not a png", "image/png"), 400, "not a PNG or JPEG image");
  expect_error(c.Post("/api/predict", std::string("\x89PNG\r\n\x1a\n", 8) + "broken", "image/png"), 400, "PNG");
  expect_error(c.Post("/api/predict", "{\"pixels\": [1, 2", "application/json"), 400, "not valid JSON");
  expect_error(c.Post("/api/predict", "{\"pixels\": [1, 2]}", "application/json"), 400, "expected 64 pixels (8x8), got 2");
  expect_error(c.Post("/api/predict", "{\"pixels\": \"x\"}", "application/json"), 400, "expected {\"pixels\"");
  std::vector<double> bad(64, 0);
  bad[3] = 300;
  expect_error(c.Post("/api/predict", nlohmann::json{{"pixels", bad}}.dump(), "application/json"), 400, "pixel 3");
  const GreyImage blank{40, 40, std::vector<std::uint8_t>(1600, 255)};
  const auto blank_png = encode_png(blank);
  expect_error(c.Post("/api/predict", std::string(blank_png.begin(), blank_png.end()), "image/png"), 400, "no digit found");
  expect_error(c.Post("/api/predict", std::string(9u << 20, 'x'), "image/png"), 413, "over 8 MiB");
  expect_error(c.Get("/nope"), 404, "no such page");
  // After all that, good requests are still answered.
  const auto ok = c.Post("/api/predict", png_of_a_stroke(), "image/png");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(Serve, ASilentClientDoesNotHoldUpOthers) {
  // A connection that sends half a request and waits: the others are served meanwhile.
  httplib::Client slow("127.0.0.1", port_);
  std::thread stalled([&] {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port_));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
      const char partial[] = "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc";
      (void)!write(fd, partial, sizeof partial - 1);
      std::this_thread::sleep_for(std::chrono::seconds(2));
    }
    close(fd);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto c = client();
  for (int i = 0; i < 5; ++i) {
    const auto res = c.Get("/healthz");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
  }
  stalled.join();
}

TEST_F(Serve, SigtermStopsTheServerCleanly) {
  // A second server, stopped here: exit status 0 and its last word.
  const std::string model = (dir_->path() / "m.bpn").string();
  const std::string command = std::string(BPNET_CLI_PATH) + " serve --model " + model + " --port 0 2>&1";
  FILE* out = popen(command.c_str(), "r");
  char line[512] = {};
  ASSERT_NE(std::fgets(line, sizeof line, out), nullptr);
  ASSERT_EQ(std::system(("pkill -TERM -f '" + model + " --port 0$' || true").c_str()), 0);
  std::string rest;
  while (std::fgets(line, sizeof line, out)) rest += line;
  EXPECT_EQ(pclose(out), 0);
  EXPECT_NE(rest.find("bpnet serve: stopped"), std::string::npos) << rest;
}

}  // namespace
}  // namespace bpnet
