// Where this process stands in a data-parallel run, read from the variables
// that torchrun sets (and that Slurm or mpirun scripts set the same way):
// RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT.
// Without WORLD_SIZE (or with WORLD_SIZE=1) the run is a single process.
#pragma once

#include <cstdint>
#include <string>

namespace cloze {

struct World {
  int rank = 0;
  int size = 1;
  int local_rank = 0;
  int local_size = 1;            // processes on this machine; they share its cores
  std::string master_addr = "127.0.0.1";
  uint16_t master_port = 29500;  // torchrun's default

  bool distributed() const { return size > 1; }
  bool leader() const { return rank == 0; }  // writes metrics, previews and checkpoints

  // Reads the environment; throws cloze::Error naming the variable that is
  // missing or malformed when WORLD_SIZE says the run is distributed.
  static World from_environment();
};

// A TCP port on 127.0.0.1 that no one listens on now, for a store about to be
// served there. (Another program could take it first; torchrun's standalone
// mode takes the same chance.)
uint16_t free_local_port();

}  // namespace cloze
