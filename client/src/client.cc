#include "coord/client/client.h"

#include <charconv>

#include "core.h"
#include "tls.h"
#include "wire_rules.h"

namespace coord {

using coord::v1::Request;
using coord::v1::Response;

Result<std::vector<std::string>> ParseEndpoints(const std::string& endpoints) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= endpoints.size()) {
    size_t comma = endpoints.find(',', pos);
    if (comma == std::string::npos) comma = endpoints.size();
    std::string item = endpoints.substr(pos, comma - pos);
    // Tolerate spaces around items ("a:1, b:2").
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    pos = comma + 1;
    if (item.empty()) {
      if (comma == endpoints.size() && !out.empty()) break;  // trailing comma
      return Status::InvalidArgument("empty endpoint in \"" + endpoints + "\"");
    }
    const size_t colon = item.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == item.size()) {
      return Status::InvalidArgument("endpoint \"" + item + "\" is not host:port");
    }
    int port = 0;
    const char* first = item.data() + colon + 1;
    const char* last = item.data() + item.size();
    auto [ptr, ec] = std::from_chars(first, last, port);
    if (ec != std::errc() || ptr != last || port <= 0 || port > 65535) {
      return Status::InvalidArgument("endpoint \"" + item + "\" has a bad port");
    }
    out.push_back(std::move(item));
  }
  if (out.empty()) return Status::InvalidArgument("no endpoints given");
  return out;
}

Result<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  auto endpoints = ParseEndpoints(options.endpoints);
  if (!endpoints.ok()) return endpoints.status();
  if (options.write_lanes < 1 || options.write_lanes > 1024) {
    return Status::InvalidArgument("write_lanes must be in [1, 1024]");
  }
  if (options.default_timeout.count() <= 0 || options.connect_timeout.count() <= 0 ||
      options.idle_timeout.count() <= 0) {
    return Status::InvalidArgument("timeouts must be positive");
  }
  if (options.backoff_initial.count() <= 0 || options.backoff_max < options.backoff_initial) {
    return Status::InvalidArgument("backoff_initial must be positive and <= backoff_max");
  }
  auto tls = client_internal::MakeClientTlsContext(options);
  if (!tls.ok()) return tls.status();
  return std::unique_ptr<Client>(
      new Client(std::move(options), std::move(*endpoints), std::move(*tls)));
}

Client::Client(ClientOptions options, std::vector<std::string> endpoints,
               std::shared_ptr<boost::asio::ssl::context> tls)
    : options_(std::move(options)),
      endpoints_(std::move(endpoints)),
      executor_(std::make_unique<Executor>()) {
  core_ = std::make_shared<client_internal::Core>(options_, endpoints_, executor_.get(),
                                                  std::move(tls));
  core_->Start();
}

Client::~Client() {
  core_->Shutdown();
  executor_.reset();  // runs the callbacks already queued (e.g. kAborted outcomes)
}

bool Client::IsWrite(const Request& request) {
  return coord::v1::IsWriteRequest(request.body_case());
}

Result<Response> Client::Call(Request request, Duration timeout) {
  return core_->CallSync(std::move(request), core_->DeadlineFor(timeout));
}

void Client::CallAsync(Request request, ResponseCallback done, Duration timeout) {
  Executor* executor = executor_.get();
  core_->Submit(std::move(request), core_->DeadlineFor(timeout),
                [executor, done = std::move(done)](Result<Response> r, uint64_t) mutable {
                  executor->Post([done = std::move(done), r = std::move(r)]() mutable {
                    if (done) done(std::move(r));
                  });
                });
}

Result<coord::v1::PutResponse> Client::Put(const std::string& key, const std::string& value,
                                           int64_t session, Duration timeout) {
  coord::v1::PutRequest put;
  put.set_key(key);
  put.set_value(value);
  put.set_session(session);
  return Put(put, timeout);
}

Result<coord::v1::PutResponse> Client::Put(const coord::v1::PutRequest& put, Duration timeout) {
  Request r;
  *r.mutable_put() = put;
  auto resp = Call(std::move(r), timeout);
  if (!resp.ok()) return resp.status();
  return std::move(*resp->mutable_put());
}

Result<std::optional<coord::v1::KeyValue>> Client::Get(const std::string& key, Duration timeout) {
  coord::v1::RangeRequest range;
  range.set_key(key);
  auto r = Range(range, timeout);
  if (!r.ok()) return r.status();
  if (r->range.kvs_size() == 0) return std::optional<coord::v1::KeyValue>();
  return std::optional<coord::v1::KeyValue>(r->range.kvs(0));
}

Result<Client::RangeResult> Client::Range(const coord::v1::RangeRequest& range, Duration timeout) {
  Request r;
  *r.mutable_range() = range;
  auto resp = Call(std::move(r), timeout);
  if (!resp.ok()) return resp.status();
  RangeResult out;
  out.range = std::move(*resp->mutable_range());
  out.header = resp->header();
  return out;
}

Result<coord::v1::DeleteResponse> Client::Delete(const coord::v1::DeleteRequest& del,
                                                 Duration timeout) {
  Request r;
  *r.mutable_delete_() = del;
  auto resp = Call(std::move(r), timeout);
  if (!resp.ok()) return resp.status();
  return std::move(*resp->mutable_delete_());
}

Result<coord::v1::DeleteResponse> Client::Delete(const std::string& key, bool prefix,
                                                 Duration timeout) {
  coord::v1::DeleteRequest del;
  del.set_key(key);
  del.set_prefix(prefix);
  return Delete(del, timeout);
}

Result<coord::v1::TxnResponse> Client::Txn(const coord::v1::TxnRequest& txn, Duration timeout) {
  Request r;
  *r.mutable_txn() = txn;
  auto resp = Call(std::move(r), timeout);
  if (!resp.ok()) return resp.status();
  return std::move(*resp->mutable_txn());
}

Result<coord::v1::CompactResponse> Client::Compact(int64_t revision, Duration timeout) {
  Request r;
  r.mutable_compact()->set_revision(revision);
  auto resp = Call(std::move(r), timeout);
  if (!resp.ok()) return resp.status();
  return std::move(*resp->mutable_compact());
}

int Client::connected_endpoint() const { return core_->connected_endpoint(); }

Status Client::WaitConnected(Duration timeout) {
  return core_->WaitConnected(core_->DeadlineFor(timeout));
}

uint64_t Client::connection_count() const { return core_->connection_count(); }

void Client::TEST_DropNextWriteReply() { core_->TEST_DropNextWriteReply(); }
void Client::TEST_BreakAfterNextWriteSend() { core_->TEST_BreakAfterNextWriteSend(); }
void Client::TEST_StallIo(bool stall) { core_->TEST_StallIo(stall); }
void Client::TEST_BreakConnection() { core_->TEST_BreakConnection(); }
void Client::TEST_LoseNextWrite(coord::v1::Request::BodyCase body, bool reply) {
  core_->TEST_LoseNextWrite(body, reply);
}

}  // namespace coord
