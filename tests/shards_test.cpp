// Batch shards: the thread team, the split of a batch, and what sharding
// promises - a seed and a shard count give the same model for any thread
// count, and sharding changes only the order of sums (not the mathematics),
// dropout included.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include "bpnet/error.hpp"
#include "bpnet/presets.hpp"
#include "bpnet/train.hpp"
#include "kernels/kernel_threads.hpp"
#include "parallel/thread_team.hpp"
#include "sharded_gradient.hpp"
#include "test_support.hpp"

namespace bpnet {
namespace {

TEST(ThreadTeam, EveryMemberRunsOnceInEveryRound) {
  for (const int size : {1, 2, 3, 5}) {
    ThreadTeam team(size);
    std::vector<std::atomic<int>> runs(static_cast<std::size_t>(size));
    constexpr int kRounds = 2000;  // rounds back to back: a lost wake-up would hang here
    for (int round = 0; round < kRounds; ++round) {
      team.run([&](int member) { runs[static_cast<std::size_t>(member)].fetch_add(1); });
    }
    for (int m = 0; m < size; ++m) EXPECT_EQ(runs[static_cast<std::size_t>(m)].load(), kRounds) << "member " << m;
  }
}

TEST(ThreadTeam, AMembersExceptionReachesTheCallerAndTheTeamGoesOn) {
  ThreadTeam team(3);
  EXPECT_THROW(team.run([](int member) {
    if (member == 2) throw std::runtime_error("member 2 failed");
  }),
               std::runtime_error);
  std::atomic<int> runs{0};
  team.run([&](int) { runs.fetch_add(1); });
  EXPECT_EQ(runs.load(), 3);
}

// Chunks of work that record who ran them and how many are left.
class CountedWork final : public IdleWork {
 public:
  explicit CountedWork(int chunks) : left_(chunks) {}
  bool run_chunk() noexcept override {
    if (left_.fetch_sub(1) <= 0) return false;
    if (std::this_thread::get_id() != caller_) by_members_.fetch_add(1);
    done_.fetch_add(1);
    return true;
  }
  int done() const { return done_.load(); }
  int by_members() const { return by_members_.load(); }

 private:
  std::atomic<int> left_, done_{0}, by_members_{0};
  const std::thread::id caller_ = std::this_thread::get_id();
};

// Waits up to 10 s for `work` to reach `chunks` done chunks.
void wait_until_done(const CountedWork& work, int chunks) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (work.done() < chunks && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
}

// Offered work is done by members waiting for a round, while the caller
// runs none; withdrawing it stops them; only one piece of work at a time.
TEST(ThreadTeam, WaitingMembersDoOfferedWorkUntilItIsWithdrawn) {
  ThreadTeam alone(1);
  CountedWork nothing(1);
  EXPECT_FALSE(alone.offer(nothing)) << "a team of one has no members to do it";

  ThreadTeam team(2);
  CountedWork work(200), other(1);
  ASSERT_TRUE(team.offer(work));
  EXPECT_FALSE(team.offer(other)) << "other work is on offer";
  team.run([](int) {});  // the member is awake, waiting for the next round
  wait_until_done(work, 200);
  team.withdraw(work);
  EXPECT_EQ(work.done(), 200);
  EXPECT_EQ(work.by_members(), 200) << "the caller ran no chunk";

  CountedWork later(1000000);
  ASSERT_TRUE(team.offer(later)) << "a withdrawn offer frees the team";
  team.run([](int) {});
  team.withdraw(later);
  const int when_withdrawn = later.done();
  team.run([](int) {});
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(later.done(), when_withdrawn) << "no chunk after withdraw() returned";
  EXPECT_LT(when_withdrawn, 1000000);
}

// One offer after another with no round between them (one image after
// another): a member that used up the first takes up the next. (Woken each
// time, in case this VM held the test's thread for longer than the spin.)
TEST(ThreadTeam, AWaitingMemberTakesUpEachNewOffer) {
  ThreadTeam team(2);
  team.run([](int) {});  // the member is awake, waiting for the next round
  for (int offer = 0; offer < 50; ++offer) {
    CountedWork work(3);
    ASSERT_TRUE(team.offer(work)) << "offer " << offer;
    team.wake_idle();
    wait_until_done(work, 3);
    team.withdraw(work);
    ASSERT_EQ(work.by_members(), 3) << "offer " << offer << ": the caller ran no chunk";
  }
}

// A member asleep (no round or chunk for long past its spin) does not see
// offered work until wake_idle() wakes it.
TEST(ThreadTeam, WakeIdleWakesASleepingMemberToDoOfferedWork) {
  ThreadTeam team(2);
  team.run([](int) {});
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // far past the spin: asleep
  CountedWork work(5);
  ASSERT_TRUE(team.offer(work));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(work.done(), 0) << "a sleeping member took offered work unwoken";
  team.wake_idle();
  wait_until_done(work, 5);
  team.withdraw(work);
  EXPECT_EQ(work.by_members(), 5);
}

// Work run on the kernel team finds the team busy from every member, the
// calling thread included, so its products compute alone; once it ends, the
// next caller gets the team again.
TEST(KernelThreads, WorkOnTheTeamComputesAloneFromEveryMember) {
  set_kernel_threads(2);
  std::atomic<int> members_alone{0};
  bool outer_had_team = false;
  with_kernel_team([&](ThreadTeam* team) {
    ASSERT_NE(team, nullptr);
    outer_had_team = true;
    with_kernel_team([](ThreadTeam* nested) { EXPECT_EQ(nested, nullptr) << "the holding thread itself"; });
    team->run([&](int) {
      with_kernel_team([&](ThreadTeam* nested) {
        if (nested == nullptr) ++members_alone;
      });
    });
  });
  EXPECT_TRUE(outer_had_team);
  EXPECT_EQ(members_alone.load(), 2);
  with_kernel_team([](ThreadTeam* team) { EXPECT_NE(team, nullptr) << "the team was not given back"; });
  set_kernel_threads(0);
}

// A child process made by fork() after the kernel team ran has none of its
// threads: its products must still finish (on a team of its own), not wait
// for the parent's members. The child is killed after 20 s if it hangs.
TEST(KernelThreads, AForkedChildRunsProductsOnATeamOfItsOwn) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "one core: no team";
  set_kernel_threads(2);
  auto members_in_a_round = [] {
    std::atomic<int> members{0};
    with_kernel_team([&](ThreadTeam* team) {
      if (team != nullptr) team->run([&](int) { members.fetch_add(1); });
    });
    return members.load();
  };
  ASSERT_EQ(members_in_a_round(), 2);
  const pid_t child = ::fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    ::alarm(20);
    const bool ok = kernel_threads() == 2 && members_in_a_round() == 2;
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status)) << "the child hung (killed by signal " << WTERMSIG(status) << ")";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child's team is not of 2 threads";
  EXPECT_EQ(members_in_a_round(), 2) << "the parent's team still works";
  set_kernel_threads(0);
}

TEST(Shards, SplitABatchIntoContiguousNearlyEqualParts) {
  // 10 rows in 4 shards: 3, 2, 3, 2.
  const std::vector<std::size_t> begins{0, 3, 5, 8, 10};
  for (std::size_t s = 0; s <= 4; ++s) EXPECT_EQ(shard_begin(s, 10, 4), begins[s]) << s;
  // Fewer rows than shards: shard 0 is never empty.
  EXPECT_EQ(shard_begin(1, 1, 3), 1u);
  EXPECT_EQ(shard_begin(3, 1, 3), 1u);
}

TrainConfig small_config() {
  TrainConfig config = preset("torch-seed");
  config.model = testing::mlp_spec({20, 12, 10});
  config.batch = 16;
  config.epochs = 3;
  return config;
}

std::vector<float> trained_parameters(const TrainConfig& config, const Dataset& train) {
  Trainer trainer(config, train);
  fit(trainer);
  return testing::values(trainer.model().parameters());
}

TEST(Shards, ASeedAndAShardCountGiveTheSameModelForAnyThreadCount) {
  const Dataset train = testing::synthetic_dataset(300, 1);
  for (const std::size_t shards : {2u, 3u, 4u}) {
    TrainConfig config = small_config();
    config.shards = shards;
    config.threads = 1;
    const std::vector<float> one_thread = trained_parameters(config, train);
    for (const int threads : {2, 3, 8}) {
      config.threads = threads;
      EXPECT_EQ(trained_parameters(config, train), one_thread) << shards << " shards, " << threads << " threads";
    }
  }
}

// One shard, its products split over the kernel threads (layers wide enough
// for the split to happen) and the optimizer's update cut between them: the
// model is the same bit for bit on 1, 2 and 3 threads (3 asks for more than
// a 2-core machine has: the kernel team stays at the cores).
TEST(Shards, OneShardGivesTheSameModelForAnyKernelThreadCount) {
  const Dataset train = testing::synthetic_dataset(256, 4);
  for (const OptimizerKind optimizer : {OptimizerKind::sgd, OptimizerKind::adam}) {
    TrainConfig config = small_config();
    config.model = testing::mlp_spec({20, 512, 256, 10});
    config.batch = 64;
    config.epochs = 2;
    config.optimizer.kind = optimizer;
    config.threads = 1;
    const std::vector<float> one_thread = trained_parameters(config, train);
    for (const int threads : {2, 3}) {
      config.threads = threads;
      EXPECT_EQ(trained_parameters(config, train), one_thread)
          << threads << " threads, optimizer " << static_cast<int>(optimizer);
    }
  }
}

TEST(Shards, RegularisedRecipeWithShardsDoesNotDependOnThreads) {
  // Dropout masks follow the whole batch's rows; BatchNorm1d uses each
  // shard's statistics and keeps shard 0's.
  Dataset train = testing::synthetic_dataset(320, 3);
  const Dataset validation = split_off_tail(train, 0.25);
  TrainConfig config = testing::regularised_config();
  config.epochs = 3;
  config.shards = 2;
  config.threads = 1;
  Trainer a(config, train, &validation);
  fit(a);
  config.threads = 2;
  Trainer b(config, train, &validation);
  fit(b);
  EXPECT_EQ(testing::values(a.model().parameters()), testing::values(b.model().parameters()));
  EXPECT_EQ(testing::values(a.model().buffers()), testing::values(b.model().buffers()));
}

// One step from the same start: the sharded gradient is the whole batch's
// gradient up to rounding, with dropout on (the masks do not move).
TEST(Shards, ShardedGradientIsTheWholeBatchGradient) {
  const Dataset train = testing::synthetic_dataset(64, 5);
  TrainConfig config = small_config();
  config.model = expand({{20, 24, 16, 10}, Activation::tanh, Output::log_softmax, 0.3, false}, LossKind::nll,
                        Normalize::unit);
  config.batch = 64;
  config.epochs = 1;
  config.optimizer.momentum = 0;
  config.optimizer.lr = 1.0;  // the step is the gradient itself
  std::vector<std::vector<float>> steps;
  for (const std::size_t shards : {1u, 3u, 7u}) {
    config.shards = shards;
    Trainer trainer(config, train);
    const std::vector<float> before = testing::values(trainer.model().parameters());
    fit(trainer);
    const std::vector<float> after = testing::values(trainer.model().parameters());
    std::vector<float> step(before.size());
    for (std::size_t i = 0; i < step.size(); ++i) step[i] = before[i] - after[i];
    steps.push_back(step);
  }
  double norm = 0;
  for (const float g : steps[0]) norm += static_cast<double>(g) * g;
  ASSERT_GT(norm, 1e-6) << "the gradient is trivially zero";
  for (std::size_t k = 1; k < steps.size(); ++k) {
    double worst = 0;
    for (std::size_t i = 0; i < steps[0].size(); ++i) worst = std::max(worst, std::abs(double(steps[k][i]) - steps[0][i]));
    EXPECT_LT(worst, 1e-5 * std::sqrt(norm)) << "shard set " << k;
  }
}

TEST(Shards, ImpossibleShardCountsAreRefusedBeforeTraining) {
  const Dataset train = testing::synthetic_dataset(100, 1);
  TrainConfig config = small_config();
  config.shards = 0;
  EXPECT_THROW(Trainer(config, train), ConfigError);
  config.shards = 17;  // more than the 16 images of a batch
  EXPECT_THROW(Trainer(config, train), ConfigError);
  config.shards = 257;
  EXPECT_THROW(Trainer(config, train), ConfigError);
  // BatchNorm1d: 8-image shards of a 16-image batch are fine, but 100 % 16
  // leaves a last batch of 4, and 4 / 4 shards leave one image alone.
  config = testing::regularised_config();
  config.validation_split = 0;
  config.early_stopping = {};
  config.shards = 4;
  EXPECT_THROW(Trainer(config, train), ConfigError);
  config.shards = 2;
  EXPECT_NO_THROW(Trainer(config, train));
}

}  // namespace
}  // namespace bpnet
