// A small deterministic random number generator (SplitMix64) for the core.
//
// The core never uses global or hardware randomness: every decision that needs a
// random number (the election timeout) draws from an Rng seeded by Config::seed,
// so two cores fed the same inputs decide the same way.
#pragma once

#include <cstdint>

namespace coord::raft {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform in [0, n); n must be > 0. The modulo bias is negligible for the small
  // ranges the core uses.
  uint64_t Uniform(uint64_t n) { return Next() % n; }

 private:
  uint64_t state_;
};

}  // namespace coord::raft
