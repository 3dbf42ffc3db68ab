// coord::Consumer: the worker loop of one consumer-group instance.
//
// States: no session -> session, campaigning for the group lock -> active
// (reading, handling, committing) -> back to campaigning when the lock is lost or
// a commit is fenced. Only the worker thread touches the session, lock and watch.
#include "coord/client/consumer.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "backoff.h"
#include "background_worker.h"
#include "coord/client/lock.h"
#include "coord/client/session.h"
#include "coord/client/topic.h"
#include "coord/client/watch.h"

namespace coord {
namespace client_internal {

using coord::v1::TopicRecord;

class ConsumerState : public std::enable_shared_from_this<ConsumerState> {
 public:
  using Clock = std::chrono::steady_clock;
  using Duration = Consumer::Duration;

  ConsumerState(Client& client, Consumer::Options options, Consumer::Handler handler)
      : client_(client),
        options_(std::move(options)),
        handler_(std::move(handler)),
        topic_(client, options_.topic),
        lock_name_("/_coord/consumers/" + options_.topic + "/" + options_.group),
        retry_(options_.retry_initial, options_.retry_max, std::random_device{}()) {}

  void Start() {
    worker_.Start([this] { Work(); });
  }

  void Stop() { worker_.Stop(); }

  Consumer::Stats stats() const {
    std::lock_guard lock(mu_);
    return stats_;
  }

  bool WaitActive(Duration timeout) const {
    std::unique_lock lock(mu_);
    return state_cv_.wait_for(lock, timeout, [&] { return stats_.active; });
  }

  bool WaitCommitted(int64_t offset, Duration timeout) const {
    std::unique_lock lock(mu_);
    return state_cv_.wait_for(lock, timeout, [&] { return committed_ > offset; });
  }

  const Consumer::Options& options() const { return options_; }

 private:
  // How long one blocking step may take, so Stop() is honoured promptly.
  static constexpr Duration kStep{500};
  // Dead letters per commit txn: well inside the server's limits on txn ops
  // (128) and request bytes (1.5 MiB by default; one value may be 1 MiB).
  static constexpr size_t kMaxDeadLetters = 64;
  static constexpr size_t kMaxDeadLetterBytes = 256 * 1024;

  bool stopping() const { return worker_.stopping(); }
  bool Pause(Duration d) { return worker_.Pause(d); }

  void NoteError(const Status& s) {
    std::lock_guard lock(mu_);
    stats_.last_error = s;
  }

  void SetActive(bool active, int64_t token) {
    {
      std::lock_guard lock(mu_);
      stats_.active = active;
      if (active) {
        stats_.token = token;
        ++stats_.activations;
      }
    }
    state_cv_.notify_all();
  }

  void Work() {
    Backoff errors(Duration(50), Duration(1000), std::random_device{}());
    while (!stopping()) {
      if (session_ == nullptr || session_->lost()) {
        lock_.reset();
        session_.reset();
        Session::Options so;
        so.ttl = options_.session_ttl;
        so.on_lost = [weak = weak_from_this()] {
          if (auto self = weak.lock()) self->worker_.Wake();
        };
        auto s = Session::Create(client_, so, kStep * 4);
        if (!s.ok()) {
          NoteError(s.status());
          Pause(errors.Next());
          continue;
        }
        session_ = std::move(*s);
        lock_ = std::make_unique<Lock>(*session_, lock_name_);
      }
      auto token = lock_->Acquire(kStep * 2);
      if (!token.ok()) {
        if (token.status().code() != StatusCode::kTimeout) {
          NoteError(token.status());
          Pause(errors.Next());
        }
        continue;
      }
      errors.Reset();
      SetActive(true, *token);
      RunActive(*token);
      SetActive(false, 0);
      // Leave the lock so a standby takes over at once (best effort; the
      // session's end releases it anyway).
      if (lock_ != nullptr && lock_->held()) (void)lock_->Release();
    }
    watch_.reset();
    lock_.reset();
    if (session_ != nullptr) (void)session_->Close(kStep * 2);
    session_.reset();
  }

  bool StillActive() const { return !stopping() && lock_->held(); }

  // The group's cursor as stored: the next offset to read and the key's
  // mod_revision (0 when absent), which the next commit compares.
  struct StoredCursor {
    int64_t next = 0;
    int64_t mod_revision = 0;
  };

  Result<StoredCursor> ReadCursor() {
    auto kv = client_.Get(Topic::CursorKey(options_.topic, options_.group), kStep * 4);
    if (!kv.ok()) return kv.status();
    StoredCursor c;
    if (!kv->has_value()) return c;
    c.mod_revision = (*kv)->mod_revision();
    auto next = Topic::ParseCursor(Topic::CursorKey(options_.topic, options_.group), (*kv)->value());
    if (!next.ok()) return next.status();
    c.next = *next;
    return c;
  }

  // Delivers while this instance holds the lock.
  void RunActive(int64_t token) {
    StartWakeWatch();
    StoredCursor cursor;
    bool cursor_known = false;  // false until read from the store
    Backoff errors(Duration(50), Duration(1000), std::random_device{}());
    while (StillActive()) {
      if (!cursor_known) {
        auto c = ReadCursor();
        if (!c.ok()) {
          NoteError(c.status());
          Pause(errors.Next());
          continue;
        }
        cursor = *c;
        cursor_known = true;
        std::lock_guard lock(mu_);
        stats_.cursor = cursor.next;
        committed_ = std::max(committed_, cursor.next);
      }
      const uint64_t wake_seen = wakes_.load();
      auto read = topic_.Read(cursor.next, options_.batch_size, kStep * 4);
      if (!read.ok()) {
        NoteError(read.status());
        Pause(errors.Next());
        continue;
      }
      errors.Reset();
      {
        std::lock_guard lock(mu_);
        stats_.head = read->last_offset();
        stats_.lag = cursor.next == 0
                         ? read->last_offset()
                         : std::max<int64_t>(0, read->last_offset() - cursor.next + 1);
        if (read->truncated()) ++stats_.truncated;
      }
      // Nothing to read, unless records were trimmed under the cursor: then the
      // cursor moves past the gap.
      const bool gap = read->truncated() && read->next_offset() > cursor.next;
      if (read->records_size() == 0 && !gap) {
        if (watch_ == nullptr || watch_ended_.load()) StartWakeWatch();
        worker_.WaitUntil(options_.poll_interval, [&] { return wakes_.load() != wake_seen; });
        continue;
      }
      std::vector<const TopicRecord*> dead;
      int64_t next = 0;
      if (!HandleBatch(*read, &dead, &next)) return;  // stopped or deposed: not committed
      auto committed = Commit(token, cursor.mod_revision, next, dead);
      if (committed.ok()) {
        std::lock_guard lock(mu_);
        cursor = StoredCursor{next, *committed};
        stats_.cursor = next;
        stats_.lag = std::max<int64_t>(0, stats_.head - next + 1);
        ++stats_.batches;
        stats_.dead_lettered += dead.size();
        committed_ = std::max(committed_, next);
        state_cv_.notify_all();
        continue;
      }
      NoteError(committed.status());
      if (committed.status().code() == StatusCode::kConflict) {
        // Fenced: another instance holds the lock now, or someone moved the cursor.
        {
          std::lock_guard lock(mu_);
          ++stats_.fenced_commits;
        }
        return;
      }
      // Unknown outcome, not applied, or refused: learn the cursor again and
      // retry the batch after a back-off.
      cursor_known = false;
      Pause(errors.Next());
    }
  }

  // Calls the handler for each record in order; collects those that exhausted
  // their attempts and sets *next to the offset after the last record handled.
  // Stops early once the dead letters would make the commit txn too large
  // (kMaxDeadLetters records or kMaxDeadLetterBytes). False when stopped or
  // deposed before anything could be committed.
  bool HandleBatch(const coord::v1::TopicReadResponse& read, std::vector<const TopicRecord*>* dead,
                   int64_t* next) {
    *next = read.next_offset();  // also past a trimmed gap
    size_t dead_bytes = 0;
    for (const TopicRecord& record : read.records()) {
      retry_.Reset();
      for (int attempt = 1;; ++attempt) {
        if (!StillActive()) return false;
        Status s = CallHandler(record);
        if (s.ok()) {
          std::lock_guard lock(mu_);
          ++stats_.delivered;
          break;
        }
        {
          std::lock_guard lock(mu_);
          ++stats_.handler_failures;
          stats_.last_error = s;
        }
        if (attempt >= options_.max_attempts) {
          dead->push_back(&record);
          dead_bytes += record.value().size();
          break;
        }
        if (!PauseWhileActive(retry_.Next())) return false;
      }
      if (dead->size() >= kMaxDeadLetters || dead_bytes >= kMaxDeadLetterBytes) {
        *next = record.offset() + 1;  // commit up to here, then go on
        return true;
      }
    }
    return true;
  }

  // A retry back-off that ends early when the lock is lost or on Stop().
  bool PauseWhileActive(Duration d) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
      if (!StillActive()) return false;
      const auto left =
          std::chrono::duration_cast<Duration>(until - std::chrono::steady_clock::now());
      if (!Pause(std::min(left, Duration(100)))) return false;
    }
    return StillActive();
  }

  Status CallHandler(const TopicRecord& record) {
    try {
      return handler_(record);
    } catch (const std::exception& e) {
      return Status::Internal(std::string("handler threw: ") + e.what());
    } catch (...) {
      return Status::Internal("handler threw a non-standard exception");
    }
  }

  // Moves the cursor to `next` if this instance still holds the lock with
  // `token` and the cursor key is unchanged since `mod_revision` (0: absent),
  // appending the dead letters in the same txn. Returns the new mod_revision.
  Result<int64_t> Commit(int64_t token, int64_t mod_revision, int64_t next,
                         const std::vector<const TopicRecord*>& dead) {
    const std::string key = Topic::CursorKey(options_.topic, options_.group);
    coord::v1::TxnRequest txn;
    coord::v1::Compare* fence = txn.add_compare();
    fence->set_key(lock_name_);
    fence->set_target(coord::v1::Compare::LOCK_TOKEN);
    fence->set_op(coord::v1::Compare::EQUAL);
    fence->set_number(token);
    *txn.add_compare() = Topic::ModRevisionIs(key, mod_revision);
    coord::v1::PutRequest* put = txn.add_success()->mutable_put();
    put->set_key(key);
    put->set_value(std::to_string(next));
    for (const TopicRecord* record : dead) {
      coord::v1::AppendRequest* append = txn.add_success()->mutable_append();
      append->set_topic(options_.dead_letter_topic);
      append->set_value(record->value());
    }
    txn.set_conflict_on_failure(true);
    auto reply = client_.Txn(txn, kStep * 4);
    if (!reply.ok()) return reply.status();
    return reply->results(0).put().revision();
  }

  // A watch on the topic only to wake the worker; failing to start one leaves
  // it polling.
  void StartWakeWatch() {
    watch_.reset();
    Watch::Options wo;
    wo.key = options_.topic;
    wo.prefix = true;
    watch_ended_ = false;
    auto w = Watch::Create(
        client_, wo,
        [this](const coord::v1::WatchEvent&) {
          wakes_.fetch_add(1);
          worker_.Wake();
        },
        [this](const Status&) { watch_ended_ = true; }, kStep * 2);
    if (w.ok()) watch_ = std::move(*w);
  }

  Client& client_;
  const Consumer::Options options_;
  const Consumer::Handler handler_;
  const Topic topic_;
  const std::string lock_name_;
  Backoff retry_;  // worker thread only

  // Worker thread only.
  std::unique_ptr<Session> session_;
  std::unique_ptr<Lock> lock_;
  std::unique_ptr<Watch> watch_;
  std::atomic<uint64_t> wakes_{0};  // watch events seen
  std::atomic<bool> watch_ended_{false};

  mutable std::mutex mu_;
  mutable std::condition_variable state_cv_;  // wakes WaitActive / WaitCommitted
  int64_t committed_ = 0;
  Consumer::Stats stats_;
  BackgroundWorker worker_;  // last: joined before the members it uses go
};

}  // namespace client_internal

Result<std::unique_ptr<Consumer>> Consumer::Start(Client& client, Options options,
                                                  Handler handler) {
  if (options.topic.empty()) return Status::InvalidArgument("consumer topic must not be empty");
  if (options.group.empty() || options.group.find('/') != std::string::npos) {
    return Status::InvalidArgument("consumer group must be non-empty and without '/'");
  }
  if (options.batch_size < 1 || options.batch_size > 10'000) {
    return Status::InvalidArgument("batch_size must be in 1..10000");
  }
  if (options.max_attempts < 1) return Status::InvalidArgument("max_attempts must be >= 1");
  if (options.session_ttl.count() <= 0 || options.poll_interval.count() <= 0) {
    return Status::InvalidArgument("session_ttl and poll_interval must be positive");
  }
  if (!handler) return Status::InvalidArgument("consumer needs a handler");
  if (options.dead_letter_topic.empty()) {
    options.dead_letter_topic = options.topic + "dead/" + options.group + "/";
  }
  if (options.dead_letter_topic == options.topic) {
    return Status::InvalidArgument("the dead-letter topic must differ from the topic");
  }
  auto state = std::make_shared<client_internal::ConsumerState>(client, std::move(options),
                                                                std::move(handler));
  state->Start();
  return std::unique_ptr<Consumer>(new Consumer(std::move(state)));
}

Consumer::Consumer(std::shared_ptr<client_internal::ConsumerState> state)
    : state_(std::move(state)) {}

Consumer::~Consumer() { Stop(); }

void Consumer::Stop() { state_->Stop(); }

Consumer::Stats Consumer::stats() const { return state_->stats(); }

bool Consumer::WaitActive(Duration timeout) const { return state_->WaitActive(timeout); }

bool Consumer::WaitCommitted(int64_t offset, Duration timeout) const {
  return state_->WaitCommitted(offset, timeout);
}

const Consumer::Options& Consumer::options() const { return state_->options(); }

}  // namespace coord
