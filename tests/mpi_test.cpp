// bpnet train under mpirun on this one machine (shared memory and loopback):
// K processes give the model one process gives with the same shard count;
// a stopped run resumes bit-identically; a signal to any process stops all
// with a checkpoint; a dead or hung process ends the job with an error
// within a bounded time instead of a silent hang.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace bpnet {
namespace {

using Clock = std::chrono::steady_clock;

struct Outcome {
  int exit_code = -1;
  std::string output;
  double seconds = 0;
};

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The process that mpirun `parent` started as rank `rank` (0 if none yet).
pid_t rank_pid(pid_t parent, int rank) {
  const std::string wanted = "OMPI_COMM_WORLD_RANK=" + std::to_string(rank);
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = read_file(entry.path() / "stat");
    const std::size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    int ppid = 0;
    char state = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) != 2 || ppid != parent) continue;
    const std::string environ = read_file(entry.path() / "environ");
    std::size_t at = 0;
    for (std::size_t end; (end = environ.find('\0', at)) != std::string::npos; at = end + 1) {
      if (environ.compare(at, end - at, wanted) == 0) return static_cast<pid_t>(std::stoi(name));
    }
  }
  return 0;
}

// Runs `processes` bpnet processes under mpirun (1: bpnet alone). When
// `trigger` appears in the output, sends `signal` to rank `target`.
Outcome run(int processes, const std::vector<std::string>& bpnet_args, const std::string& trigger = "",
            int signal = 0, int target = 1) {
  std::vector<std::string> args;
  if (processes > 1) {
    args = {MPIEXEC_PATH, "-np", std::to_string(processes), "--oversubscribe"};
    if (::geteuid() == 0) args.push_back("--allow-run-as-root");
  }
  args.push_back(BPNET_CLI_PATH);
  args.insert(args.end(), bpnet_args.begin(), bpnet_args.end());
  int out[2];
  if (::pipe(out) != 0) return {};
  const auto start = Clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(out[1], STDERR_FILENO);
    ::close(out[0]);
    // Containers forbid the cross-memory attach Open MPI tries first.
    ::setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  Outcome outcome;
  bool sent = trigger.empty();
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(out[0], buffer, sizeof buffer)) > 0) {
    outcome.output.append(buffer, static_cast<std::size_t>(n));
    if (!sent && outcome.output.find(trigger) != std::string::npos) {
      const pid_t victim = processes > 1 ? rank_pid(pid, target) : pid;
      if (victim > 0) {
        ::kill(victim, signal);
        sent = true;
      }
    }
  }
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  outcome.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return outcome;
}

class Mpi : public ::testing::Test {
 protected:
  void SetUp() override { testing::write_synthetic_split_files(dir_.path(), 1200, 100, 28, 28); }

  // A small recipe with dropout and batch norm, so masks and running
  // statistics are covered too.
  std::vector<std::string> recipe(const std::string& run, std::vector<std::string> extra) const {
    std::vector<std::string> args{"train", "--data", dir_.path().string(), "--layers", "784,24,10", "--dropout", "0.2",
                                  "--batchnorm", "--batch", "32", "--run-dir", (dir_ / run).string(),
                                  "--quiet-progress", "--no-diagnostics"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  testing::ScratchDir dir_;
};

TEST_F(Mpi, TwoAndFourProcessesTrainTheModelOneProcessTrainsWithTheSameShards) {
  const Outcome one = run(1, recipe("one", {"--epochs", "2", "--shards", "4", "--threads", "1"}));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const std::string model = read_file(dir_ / "one" / "model.bpn");
  ASSERT_FALSE(model.empty());
  for (const int processes : {2, 4}) {
    const std::string name = "np" + std::to_string(processes);
    const Outcome many = run(processes, recipe(name, {"--epochs", "2", "--shards", "4"}));
    ASSERT_EQ(many.exit_code, 0) << many.output;
    EXPECT_NE(many.output.find(std::to_string(processes) + " processes (MPI), 4 shards"), std::string::npos)
        << many.output;
    EXPECT_EQ(read_file(dir_ / name / "model.bpn"), model) << processes << " processes";
    // Only process 0 speaks: one line per epoch, not one per process.
    std::size_t lines = 0;
    for (std::size_t at = 0; (at = many.output.find("epoch 1/2", at)) != std::string::npos; ++at) ++lines;
    EXPECT_EQ(lines, 1u) << many.output;
  }
}

TEST_F(Mpi, SignalToOneProcessStopsAllWithACheckpointAndResumeIsBitIdentical) {
  // Enough epochs that the signal, sent when epoch 2 is reported, arrives
  // well before the end: an epoch of this recipe takes about 2 ms.
  const Outcome straight = run(1, recipe("straight", {"--epochs", "200", "--shards", "2", "--threads", "1"}));
  ASSERT_EQ(straight.exit_code, 0) << straight.output;
  const Outcome stopped = run(2, recipe("stopped", {"--epochs", "200"}), "2/200  loss", SIGTERM, 1);
  EXPECT_NE(stopped.exit_code, 0) << stopped.output;
  ASSERT_NE(stopped.output.find("checkpoint written"), std::string::npos) << stopped.output;
  const Outcome resumed = run(2, {"train", "--resume", (dir_ / "stopped").string(), "--quiet-progress"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(read_file(dir_ / "stopped" / "model.bpn"), read_file(dir_ / "straight" / "model.bpn"));
}

TEST_F(Mpi, AKilledProcessEndsTheJobWithAnError) {
  const Outcome outcome = run(2, recipe("killed", {"--epochs", "200"}), "1/200  loss", SIGKILL, 1);
  EXPECT_NE(outcome.exit_code, 0) << outcome.output;
  EXPECT_LT(outcome.seconds, 60) << outcome.output;
  EXPECT_EQ(outcome.output.find("epoch 200/200"), std::string::npos) << outcome.output;
}

TEST_F(Mpi, AHungProcessMakesTheOthersStopAfterTheTimeout) {
  const Outcome outcome =
      run(2, recipe("hung", {"--epochs", "200", "--mpi-timeout", "3"}), "1/200  loss", SIGSTOP, 1);
  EXPECT_NE(outcome.exit_code, 0) << outcome.output;
  EXPECT_NE(outcome.output.find("no answer from the other processes for 3 s"), std::string::npos) << outcome.output;
  EXPECT_LT(outcome.seconds, 60) << outcome.output;
}

TEST_F(Mpi, AShardCountThatIsNotAMultipleOfTheProcessesIsRefused) {
  const Outcome outcome = run(2, recipe("odd", {"--epochs", "1", "--shards", "3"}));
  EXPECT_NE(outcome.exit_code, 0) << outcome.output;
  EXPECT_NE(outcome.output.find("--shards (3) must be a multiple of the number of processes (2)"), std::string::npos)
      << outcome.output;
}

}  // namespace
}  // namespace bpnet
