// bpnet train under mpirun: the processes of one run, how they agree on
// their data, and which of them speaks (process 0 prints and writes files).
#pragma once

#include <memory>
#include <string>

#include "bpnet/communicator.hpp"
#include "bpnet/train.hpp"

namespace bpnet::cli {

// Over MPI when launched by mpirun with several processes, else this
// process alone. Throws ConfigError if mpirun started us but this bpnet was
// built without MPI.
std::unique_ptr<Communicator> connect_processes(double timeout_seconds);

// Throws ConfigError on every process unless all of them loaded the same
// data (the fingerprints agree): each reads its own copy from --data.
void check_same_data(Communicator& comm, const std::string& fingerprint);

// Under several processes, unless the flags say otherwise: one shard per
// process, and the cores shared among the processes on this machine.
void fit_to_processes(TrainConfig& config, const Communicator& comm, bool shards_given, bool threads_given);

// The processes other than 0 print nothing (errors still go to stderr).
void silence_stdout();

}  // namespace bpnet::cli
