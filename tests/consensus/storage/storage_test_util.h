// Helpers shared by the storage tests: a self-cleaning temporary directory and
// builders for entries, hard states and snapshot metadata.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <vector>

#include "coord/consensus/types.h"

namespace coord::raft::testing_util {

// A fresh directory under testing::TempDir(), removed with its contents on
// destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir();
    if (tmpl.empty() || tmpl.back() != '/') tmpl += '/';
    tmpl += "coord_storage_XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    char* made = ::mkdtemp(buf.data());
    EXPECT_NE(made, nullptr) << "mkdtemp failed for " << tmpl;
    path_ = made != nullptr ? made : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline pb::Entry MakeEntry(Index index, Term term, std::string data = "") {
  pb::Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_type(pb::ENTRY_NORMAL);
  e.set_data(data.empty() ? "entry-" + std::to_string(index) : std::move(data));
  return e;
}

// Entries first, first + 1, ... with the given terms.
inline std::vector<pb::Entry> MakeEntries(Index first, std::initializer_list<Term> terms) {
  std::vector<pb::Entry> out;
  Index i = first;
  for (Term t : terms) out.push_back(MakeEntry(i++, t));
  return out;
}

inline pb::HardState MakeHardState(Term term, NodeId vote, Index commit) {
  pb::HardState hs;
  hs.set_term(term);
  hs.set_vote(vote);
  hs.set_commit(commit);
  return hs;
}

inline pb::SnapshotMetadata MakeSnapshotMeta(Index index, Term term,
                                             std::initializer_list<NodeId> voters = {1, 2, 3}) {
  pb::SnapshotMetadata m;
  m.set_index(index);
  m.set_term(term);
  for (NodeId v : voters) m.mutable_conf_state()->add_voters(v);
  return m;
}

inline std::vector<Term> TermsOf(const std::vector<pb::Entry>& entries) {
  std::vector<Term> out;
  for (const pb::Entry& e : entries) out.push_back(e.term());
  return out;
}

inline std::vector<Index> IndexesOf(const std::vector<pb::Entry>& entries) {
  std::vector<Index> out;
  for (const pb::Entry& e : entries) out.push_back(e.index());
  return out;
}

inline bool SameEntry(const pb::Entry& a, const pb::Entry& b) {
  return a.index() == b.index() && a.term() == b.term() && a.type() == b.type() &&
         a.data() == b.data();
}

}  // namespace coord::raft::testing_util
