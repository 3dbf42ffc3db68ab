// SimRng: the one seeded random source of a simulation run.
//
// Every random decision of a run (which event happens next, message delays,
// drops, crash points, each member's Config::seed) is drawn from one SimRng
// seeded with the run seed, so a seed replays exactly. Never seed from time or
// std::random_device. splitmix64 expands the seed into xoshiro256** state.
//
// Thread-safety: none; one run owns one SimRng.
#pragma once

#include <cstdint>

namespace coord::raft::sim {

// splitmix64 step: a good 64-bit mixer, also used to hash values in the checker.
inline uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Mixes `value` into `hash` (order-sensitive). Not cryptographic; enough to
// tell entries apart in a simulation.
inline uint64_t MixHash(uint64_t hash, uint64_t value) {
  uint64_t state = hash ^ (value * 0xD6E8FEB86659FD93ULL);
  return SplitMix64(state);
}

class SimRng {
 public:
  explicit SimRng(uint64_t seed) {
    uint64_t sm = seed;
    for (uint64_t& word : s_) word = SplitMix64(sm);
  }

  // xoshiro256**.
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n); 0 when n == 0. The modulo bias is irrelevant here.
  uint64_t Uniform(uint64_t n) { return n == 0 ? 0 : Next() % n; }
  // Uniform in [lo, hi] (inclusive).
  uint64_t Range(uint64_t lo, uint64_t hi) { return lo + Uniform(hi - lo + 1); }
  // Uniform in [0, 1).
  double Real() { return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0); }
  // True with probability p.
  bool Chance(double p) { return Real() < p; }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace coord::raft::sim
