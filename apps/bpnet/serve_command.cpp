// bpnet serve: the draw-a-digit page and a JSON API over cpp-httplib. The
// model is loaded once; each worker thread takes a Predictor from a pool, so
// requests run in parallel without locks around the model. Every request is
// bounded: its body size (413), its content type (415), its content (400),
// and the time the server waits for it.
#include <fmt/format.h>
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "bpnet/error.hpp"
#include "bpnet/image.hpp"
#include "bpnet/model_file.hpp"
#include "bpnet/recognise.hpp"
#include "bpnet/version.hpp"
#include "cli_checks.hpp"
#include "commands.hpp"
#include "web_page.hpp"

namespace bpnet::cli {
namespace {

constexpr std::size_t kMaxBodyBytes = std::size_t{8} << 20;

struct ServeFlags {
  std::string model;
  std::string host = "127.0.0.1";
  int port = 8080;
  // cpp-httplib gives each connection a thread for as long as it stays open
  // (keep-alive), so there are more threads than cores: the connections
  // served at once. The arithmetic runs on the cores as they come free.
  int threads = 64;
};

// Predictors for the worker threads: taken for one request, then returned.
class PredictorPool {
 public:
  explicit PredictorPool(const Model<float>& model) : model_(model) {}
  std::unique_ptr<Predictor> take() {
    std::lock_guard lock(mutex_);
    if (free_.empty()) return std::make_unique<Predictor>(model_);
    auto p = std::move(free_.back());
    free_.pop_back();
    return p;
  }
  void give_back(std::unique_ptr<Predictor> p) {
    std::lock_guard lock(mutex_);
    free_.push_back(std::move(p));
  }

 private:
  const Model<float>& model_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Predictor>> free_;
};

void reply_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", message}}.dump(), "application/json");
}

// The test accuracy of the run the model came from, if its history.json lies beside it.
std::optional<double> known_test_accuracy(const std::filesystem::path& model) {
  std::ifstream in(model.parent_path() / "history.json");
  if (!in) return std::nullopt;
  try {
    const nlohmann::json history = nlohmann::json::parse(in);
    if (history.contains("test") && history["test"].is_object()) return history["test"]["accuracy"].get<double>();
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

// {"pixels": [rows * cols numbers 0..255]}: an image already at the model's
// size, grey, preprocessed like any other.
GreyImage pixels_from_json(const std::string& body, std::size_t rows, std::size_t cols) {
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) throw DataError("request", "the body is not valid JSON");
  if (!j.is_object() || !j.contains("pixels") || !j["pixels"].is_array()) {
    throw DataError("request", "expected {\"pixels\": [...]}");
  }
  const auto& pixels = j["pixels"];
  if (pixels.size() != rows * cols) {
    throw DataError("request", fmt::format("expected {} pixels ({}x{}), got {}", rows * cols, rows, cols, pixels.size()));
  }
  GreyImage image{rows, cols, std::vector<std::uint8_t>(rows * cols)};
  for (std::size_t i = 0; i < pixels.size(); ++i) {
    if (!pixels[i].is_number() || !(pixels[i].get<double>() >= 0 && pixels[i].get<double>() <= 255)) {
      throw DataError("request", fmt::format("pixel {} is not a number in 0..255", i));
    }
    image.pixels[i] = static_cast<std::uint8_t>(std::lround(pixels[i].get<double>()));
  }
  return image;
}

nlohmann::json answer(const Recognition& r) {
  return {{"label", r.label}, {"probabilities", r.probabilities}, {"input", r.input.pixels}, {"inverted", r.input.inverted}};
}

// Ctrl-C and SIGTERM raise a flag (the handler does nothing else); a watcher
// thread sees it and stops the server. Installed with sigaction, so a server
// started in the background (where the shell ignores SIGINT) stops too.
std::atomic<bool> stop_requested{false};
extern "C" void request_stop(int) { stop_requested = true; }

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = request_stop;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int run_serve(const ServeFlags& flags) {
  if (flags.port < 0 || flags.port > 65535) throw ConfigError(fmt::format("--port {} is not a port (0..65535)", flags.port));
  if (flags.threads < 1 || flags.threads > 1024) throw ConfigError(fmt::format("--threads must be in [1, 1024] (got {})", flags.threads));
  const auto model = load_model(flags.model);
  const auto [rows, cols] = image_shape(*model);
  const auto threads = static_cast<std::size_t>(flags.threads);
  PredictorPool pool(*model);
  const std::optional<double> test_accuracy = known_test_accuracy(flags.model);
  const nlohmann::json model_info = {{"version", std::string(kVersion)},
                                     {"architecture", model->spec().describe()},
                                     {"parameters", model->spec().parameter_count()},
                                     {"normalize", std::string(name(model->spec().normalize))},
                                     {"image_shape", {rows, cols}},
                                     {"classes", model->classes()},
                                     {"test_accuracy", test_accuracy ? nlohmann::json(*test_accuracy) : nlohmann::json(nullptr)}};

  install_stop_handlers();
  httplib::Server server;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(kMaxBodyBytes);  // larger bodies: 413 before they are read
  server.set_read_timeout(5);                    // a client that stops sending is dropped
  server.set_write_timeout(5);
  server.set_tcp_nodelay(true);  // small answers go out at once, not after a delayed ACK (40 ms)
  server.set_keep_alive_max_count(100);
  server.set_keep_alive_timeout(5);

  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(kWebPage), "text/html; charset=utf-8");
  });
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  server.Get("/api/model", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(model_info.dump(), "application/json");
  });
  server.Post("/api/predict", [&, rows = rows, cols = cols](const httplib::Request& req, httplib::Response& res) {
    const std::string type = req.get_header_value("Content-Type");
    const std::string media = type.substr(0, type.find(';'));
    if (media != "image/png" && media != "image/jpeg" && media != "application/json") {
      return reply_error(res, 415, fmt::format("Content-Type '{}' is not image/png, image/jpeg or application/json", media));
    }
    auto predictor = pool.take();
    try {
      const GreyImage image = media == "application/json"
                                  ? pixels_from_json(req.body, rows, cols)
                                  : decode_image(std::span(reinterpret_cast<const std::uint8_t*>(req.body.data()), req.body.size()), "request");
      res.set_content(answer(recognise(*predictor, image, "request")).dump(), "application/json");
    } catch (const DataError& e) {
      reply_error(res, 400, e.what());
    }
    pool.give_back(std::move(predictor));
  });
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      const std::string message = res.status == 413   ? fmt::format("the body is over {} MiB", kMaxBodyBytes >> 20)
                                  : res.status == 404 ? "no such page"
                                                      : fmt::format("HTTP status {}", res.status);
      res.set_content(nlohmann::json{{"error", message}}.dump(), "application/json");
    }
  });
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    reply_error(res, 500, "internal error");
  });

  const int port = flags.port == 0 ? server.bind_to_any_port(flags.host) : (server.bind_to_port(flags.host, flags.port) ? flags.port : -1);
  if (port < 0) throw ConfigError(fmt::format("cannot listen on {}:{} (in use, or not an address of this machine)", flags.host, flags.port));
  std::atomic<bool> stopped{false};
  std::thread watcher([&server, &stopped] {
    // Until the server is down: a signal that came before it listened is acted on once it does.
    while (!stopped) {
      if (stop_requested) server.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  fmt::print("bpnet serve: http://{}:{}/  ({}, {} threads; Ctrl-C stops)\n", flags.host, port, model->spec().describe(), threads);
  std::fflush(stdout);
  server.listen_after_bind();
  stopped = true;
  watcher.join();
  fmt::print("bpnet serve: stopped\n");
  return 0;
}

}  // namespace

Command add_serve_command(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve the draw-a-digit page and a JSON API for a model");
  cmd->add_option("--model", flags->model, "Model file (.bpn)")->required();
  cmd->add_option("--host", flags->host, "Address to listen on (default: this machine only)")->capture_default_str();
  cmd->add_option("--port", flags->port, "Port (0: any free one, printed)")->capture_default_str();
  cmd->add_option("--threads", flags->threads, "Connections served at once (one thread each)")->capture_default_str();
  return [flags] { return run_serve(*flags); };
}

}  // namespace bpnet::cli
