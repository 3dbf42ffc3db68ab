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

  // Delivers while this instance holds the lock.
  void RunActive(int64_t token) {
    StartWakeWatch();
    int64_t cursor = 0;
    bool cursor_known = false;  // false until read from the store
    Backoff errors(Duration(50), Duration(1000), std::random_device{}());
    while (StillActive()) {
      if (!cursor_known) {
        auto c = topic_.Cursor(options_.group, kStep * 4);
        if (!c.ok()) {
          NoteError(c.status());
          Pause(errors.Next());
          continue;
        }
        cursor = *c;
        cursor_known = true;
        std::lock_guard lock(mu_);
        stats_.cursor = cursor;
        committed_ = std::max(committed_, cursor);
      }
      const uint64_t wake_seen = wakes_.load();
      auto read = topic_.Read(cursor, options_.batch_size, kStep * 4);
      if (!read.ok()) {
        NoteError(read.status());
        Pause(errors.Next());
        continue;
      }
      errors.Reset();
      {
        std::lock_guard lock(mu_);
        stats_.head = read->last_offset();
        stats_.lag = cursor == 0 ? read->last_offset()
                                 : std::max<int64_t>(0, read->last_offset() - cursor + 1);
        if (read->truncated()) ++stats_.truncated;
      }
      if (read->records_size() == 0) {
        if (watch_ == nullptr) StartWakeWatch();
        worker_.WaitUntil(options_.poll_interval, [&] { return wakes_.load() != wake_seen; });
        continue;
      }
      std::vector<const TopicRecord*> dead;
      if (!HandleBatch(*read, &dead)) return;  // stopped or deposed: not committed
      const int64_t next = read->next_offset();
      const Status committed = Commit(token, cursor, next, dead);
      if (committed.ok()) {
        std::lock_guard lock(mu_);
        cursor = next;
        stats_.cursor = next;
        stats_.lag = std::max<int64_t>(0, stats_.head - next + 1);
        ++stats_.batches;
        stats_.dead_lettered += dead.size();
        committed_ = std::max(committed_, next);
        state_cv_.notify_all();
        continue;
      }
      NoteError(committed);
      if (committed.code() == StatusCode::kConflict) {
        // Fenced: another instance holds the lock now, or someone moved the cursor.
        {
          std::lock_guard lock(mu_);
          ++stats_.fenced_commits;
        }
        return;
      }
      // Unknown outcome or not applied: learn the cursor from the store again.
      cursor_known = false;
      Pause(errors.Next());
    }
  }

  // Calls the handler for each record; collects those that exhausted their
  // attempts. False when stopped or deposed before the batch was done.
  bool HandleBatch(const coord::v1::TopicReadResponse& read, std::vector<const TopicRecord*>* dead) {
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
          break;
        }
        if (!Pause(retry_.Next())) return false;
      }
    }
    return true;
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

  // Moves the cursor from `from` to `next` if this instance still holds the lock
  // with `token` and nobody moved it, appending the dead letters in the same txn.
  Status Commit(int64_t token, int64_t from, int64_t next,
                const std::vector<const TopicRecord*>& dead) {
    const std::string key = Topic::CursorKey(options_.topic, options_.group);
    coord::v1::TxnRequest txn;
    coord::v1::Compare* fence = txn.add_compare();
    fence->set_key(lock_name_);
    fence->set_target(coord::v1::Compare::LOCK_TOKEN);
    fence->set_op(coord::v1::Compare::EQUAL);
    fence->set_number(token);
    *txn.add_compare() =
        from == 0 ? Topic::Absent(key) : Topic::ValueIs(key, std::to_string(from));
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
    return reply.status();
  }

  // A watch on the topic only to wake the worker; failing to start one leaves
  // it polling.
  void StartWakeWatch() {
    watch_.reset();
    Watch::Options wo;
    wo.key = options_.topic;
    wo.prefix = true;
    auto w = Watch::Create(
        client_, wo,
        [this](const coord::v1::WatchEvent&) {
          wakes_.fetch_add(1);
          worker_.Wake();
        },
        {}, kStep * 2);
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
