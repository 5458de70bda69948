#include "cloze/distributed/world.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "cloze/core/error.h"

namespace cloze {

namespace {

const char* variable(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : nullptr;
}

// The variable's integer value in [low, high], `fallback` when it is unset.
int64_t integer_variable(const char* name, int64_t low, int64_t high, int64_t fallback) {
  const char* text = variable(name);
  if (text == nullptr) return fallback;
  char* end = nullptr;
  const long long value = std::strtoll(text, &end, 10);
  if (*end != '\0' || value < low || value > high)
    throw Error(std::string("environment variable ") + name + "=" + text + ": expected an integer in [" +
                std::to_string(low) + ", " + std::to_string(high) + "]");
  return value;
}

}  // namespace

World World::from_environment() {
  World world;
  world.size = static_cast<int>(integer_variable("WORLD_SIZE", 1, std::numeric_limits<int>::max(), 1));
  if (!world.distributed()) return world;
  if (variable("RANK") == nullptr)
    throw Error("environment variable RANK is not set, but WORLD_SIZE=" + std::to_string(world.size) +
                " says the run is distributed; launch with torchrun or cloze train --nproc");
  world.rank = static_cast<int>(integer_variable("RANK", 0, world.size - 1, 0));
  world.local_size = static_cast<int>(integer_variable("LOCAL_WORLD_SIZE", 1, world.size, 1));
  world.local_rank = static_cast<int>(integer_variable("LOCAL_RANK", 0, world.size - 1, 0));
  if (const char* address = variable("MASTER_ADDR")) world.master_addr = address;
  world.master_port = static_cast<uint16_t>(integer_variable("MASTER_PORT", 1, 65535, world.master_port));
  return world;
}

uint16_t free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(std::string("cannot open a socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);  // port 0: the kernel picks one
  socklen_t length = sizeof address;
  const bool found = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  const int error = errno;
  ::close(fd);
  if (!found) throw Error(std::string("cannot find a free port on 127.0.0.1: ") + std::strerror(error));
  return ntohs(address.sin_port);
}

}  // namespace cloze
