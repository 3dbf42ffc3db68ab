#include "sim_app.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "sim_rng.h"

namespace coord::raft::sim {
namespace {

constexpr char kMagic[] = "SIMAPP1";
constexpr size_t kMagicLen = sizeof(kMagic) - 1;

void AppendU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint64_t ReadU64(const std::string& in, size_t pos) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(static_cast<uint8_t>(in[pos + i])) << (8 * i);
  return v;
}

// Filler bytes derived from the chain: its length (64..575) and content both
// depend on the state, so a misplaced or missing chunk changes the image.
std::string Filler(uint64_t chain) {
  uint64_t state = chain;
  const size_t len = 64 + SplitMix64(state) % 512;
  std::string out;
  out.reserve(len);
  while (out.size() < len) {
    const uint64_t word = SplitMix64(state);
    for (int i = 0; i < 8 && out.size() < len; ++i) {
      out.push_back(static_cast<char>((word >> (8 * i)) & 0xFF));
    }
  }
  return out;
}

void InsertSorted(google::protobuf::RepeatedField<uint64_t>* field, uint64_t id) {
  std::vector<uint64_t> v(field->begin(), field->end());
  if (std::find(v.begin(), v.end(), id) != v.end()) return;
  v.push_back(id);
  std::sort(v.begin(), v.end());
  field->Clear();
  for (uint64_t x : v) field->Add(x);
}

void Erase(google::protobuf::RepeatedField<uint64_t>* field, uint64_t id) {
  std::vector<uint64_t> v;
  for (uint64_t x : *field) {
    if (x != id) v.push_back(x);
  }
  field->Clear();
  for (uint64_t x : v) field->Add(x);
}

}  // namespace

uint64_t EntryHash(const pb::Entry& entry) {
  uint64_t h = MixHash(0x5EED, static_cast<uint64_t>(entry.type()));
  const std::string& d = entry.data();
  h = MixHash(h, d.size());
  size_t i = 0;
  for (; i + 8 <= d.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, d.data() + i, 8);
    h = MixHash(h, w);
  }
  uint64_t tail = 0;
  for (size_t k = 0; i < d.size(); ++i, ++k) {
    tail |= static_cast<uint64_t>(static_cast<uint8_t>(d[i])) << (8 * k);
  }
  return MixHash(h, tail);
}

void ApplyConfChange(const pb::ConfChange& change, pb::ConfState* conf) {
  const uint64_t id = change.node_id();
  switch (change.type()) {
    case pb::CONF_ADD_VOTER:
      Erase(conf->mutable_learners(), id);
      InsertSorted(conf->mutable_voters(), id);
      break;
    case pb::CONF_ADD_LEARNER:
      // A voter is never demoted by ADD_LEARNER in single-server changes.
      if (std::find(conf->voters().begin(), conf->voters().end(), id) == conf->voters().end()) {
        InsertSorted(conf->mutable_learners(), id);
      }
      break;
    case pb::CONF_REMOVE_NODE:
      Erase(conf->mutable_voters(), id);
      Erase(conf->mutable_learners(), id);
      break;
    default:
      break;
  }
}

uint64_t SimApp::NextChain(uint64_t prev_chain, const pb::Entry& entry) {
  return MixHash(MixHash(prev_chain, entry.term()), EntryHash(entry));
}

Status SimApp::Apply(const pb::Entry& entry) {
  if (entry.index() != applied_ + 1) {
    return Status::Internal("apply of index " + std::to_string(entry.index()) +
                            " after applied index " + std::to_string(applied_));
  }
  if (entry.type() == pb::ENTRY_CONF_CHANGE) {
    pb::ConfChange change;
    if (!change.ParseFromString(entry.data())) {
      return Status::Internal("conf change entry " + std::to_string(entry.index()) +
                              " does not parse");
    }
    ApplyConfChange(change, &conf_);
  }
  chain_ = NextChain(chain_, entry);
  applied_ = entry.index();
  applied_term_ = entry.term();
  return Status::Ok();
}

std::string SimApp::EncodeImage() const {
  std::string out(kMagic, kMagicLen);
  AppendU64(&out, applied_);
  AppendU64(&out, applied_term_);
  AppendU64(&out, chain_);
  std::string conf_bytes = conf_.SerializeAsString();
  AppendU64(&out, conf_bytes.size());
  out += conf_bytes;
  out += Filler(chain_);
  return out;
}

Status SimApp::Restore(const pb::Snapshot& snapshot) {
  const std::string& img = snapshot.data();
  const size_t header = kMagicLen + 4 * 8;
  if (img.size() < header || img.compare(0, kMagicLen, kMagic) != 0) {
    return Status::Corruption("snapshot image has a bad header (" + std::to_string(img.size()) +
                              " bytes)");
  }
  const Index index = ReadU64(img, kMagicLen);
  const Term term = ReadU64(img, kMagicLen + 8);
  const uint64_t chain = ReadU64(img, kMagicLen + 16);
  const uint64_t conf_len = ReadU64(img, kMagicLen + 24);
  if (conf_len > img.size() - header) return Status::Corruption("snapshot conf length");
  pb::ConfState conf;
  if (!conf.ParseFromString(img.substr(header, conf_len))) {
    return Status::Corruption("snapshot conf state does not parse");
  }
  if (img.substr(header + conf_len) != Filler(chain)) {
    return Status::Corruption("snapshot image filler mismatch (chunk lost or reordered?)");
  }
  const pb::SnapshotMetadata& meta = snapshot.metadata();
  if (index != meta.index() || term != meta.term()) {
    return Status::Corruption("snapshot image is of (" + std::to_string(index) + "," +
                              std::to_string(term) + ") but metadata says (" +
                              std::to_string(meta.index()) + "," + std::to_string(meta.term()) +
                              ")");
  }
  if (conf.SerializeAsString() != meta.conf_state().SerializeAsString()) {
    return Status::Corruption("snapshot metadata conf state differs from the image's");
  }
  applied_ = index;
  applied_term_ = term;
  chain_ = chain;
  conf_ = std::move(conf);
  return Status::Ok();
}

}  // namespace coord::raft::sim
