#include "workload.h"

#include <cstdio>

namespace coord::bench {

std::string MakeValue(int size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string v(static_cast<size_t>(size), 'x');
  for (char& c : v) c = static_cast<char>('a' + rng() % 26);
  return v;
}

std::string IndexedKey(const std::string& prefix, int64_t i) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%010lld", static_cast<long long>(i));
  return prefix + "/" + buf;
}

bool WriteWorkload::Next(ClientContext& client, coord::v1::Request* request) {
  coord::v1::PutRequest* put = request->mutable_put();
  put->set_key(prefix_ + "/" + std::to_string(client.index) + "/" + std::to_string(client.issued));
  put->set_value(value_);
  return true;
}

bool ReadWorkload::Next(ClientContext& client, coord::v1::Request* request) {
  coord::v1::RangeRequest* range = request->mutable_range();
  range->set_key(IndexedKey(prefix_, static_cast<int64_t>(client.rng() % keys_)));
  range->set_serializable(serializable_);
  return true;
}

bool FillWorkload::Next(ClientContext& client, coord::v1::Request* request) {
  int64_t index = -1;
  {
    std::lock_guard lock(mu_);
    if (!retry_.empty()) {
      index = retry_.front();
      retry_.pop_front();
    }
  }
  if (index < 0) {
    index = next_.fetch_add(1);
    if (index >= count_) return false;
  }
  client.pending = index;
  coord::v1::PutRequest* put = request->mutable_put();
  put->set_key(IndexedKey(prefix_, index));
  put->set_value(value_);
  return true;
}

void FillWorkload::Done(ClientContext& client, bool ok) {
  if (client.pending < 0) return;
  if (ok) {
    succeeded_.fetch_add(1);
  } else {
    // Re-queued before this client's next Next(), so someone always picks it up.
    std::lock_guard lock(mu_);
    retry_.push_back(client.pending);
  }
  client.pending = -1;
}

}  // namespace coord::bench
