// Memory and size bounds of the client port (issue 9, defects 6 and 13), against
// a real ensemble started with small limits.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <thread>

#include "test_util.h"

namespace coord::test {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using boost::asio::ip::tcp;

constexpr size_t kOutboundBound = 1 << 20;   // --max-outbound-bytes-per-connection
constexpr size_t kResponseLimit = 512 << 10;  // --max-response-bytes

std::vector<std::string> SmallLimits() {
  return {"--max-outbound-bytes-per-connection", std::to_string(kOutboundBound),
          "--max-response-bytes", std::to_string(kResponseLimit)};
}

// A WebSocket client that sends requests and never reads a byte of the replies.
class NeverReadingClient {
 public:
  explicit NeverReadingClient(const std::string& address) : ws_(io_) {
    const size_t colon = address.rfind(':');
    tcp::socket& socket = ws_.next_layer();
    socket.open(tcp::v4());
    socket.set_option(boost::asio::socket_base::receive_buffer_size(4096));
    socket.connect(tcp::endpoint(boost::asio::ip::make_address(address.substr(0, colon)),
                                 static_cast<uint16_t>(std::stoi(address.substr(colon + 1)))));
    ws_.binary(true);
    ws_.handshake(address, "/v1/ws");
  }
  // Sends one request unless the member has closed the connection (which is what
  // the test waits for: it may come while requests are still being sent).
  void Send(const Request& r) {
    if (closed_) return;
    beast::error_code ec;
    ws_.write(boost::asio::buffer(r.SerializeAsString()), ec);
    if (ec) closed_ = true;
  }

 private:
  boost::asio::io_context io_;
  websocket::stream<tcp::socket> ws_;
  bool closed_ = false;
};

Request RangeOf(const std::string& key, bool serializable, uint64_t id) {
  Request r;
  r.set_id(id);
  r.mutable_range()->set_key(key);
  r.mutable_range()->set_serializable(serializable);
  return r;
}

void PutValue(WsClient& c, const std::string& key, size_t bytes) {
  ASSERT_TRUE(Ok(Put(c, key, std::string(bytes, 'x'))));
}

// Defect 6: replies queued for a client that never reads used to grow without
// limit. 2,000 reads of a 300 KB value would be 600 MB; the member stops reading
// at the bound and closes the connection, for serializable reads (answered at once:
// the queue stays past the bound, closed after the grace period) and linearizable
// ones (answered later: the queue passes twice the bound, closed at once).
TEST(Limits, AClientThatNeverReadsIsClosedAndCostsBoundedMemory) {
  Ensemble e(3, 30);
  e.set_extra_args(SmallLimits());
  ASSERT_TRUE(e.StartAll().ok());
  auto leader = e.WaitStableLeader(20s);
  ASSERT_TRUE(leader.ok()) << leader.status();
  const int member = (*leader + 1) % 3;
  auto c = WsClient::Connect(e.member(member).client_address);
  ASSERT_TRUE(c.ok()) << c.status();
  PutValue(**c, "/limits/big", 300 << 10);
  const uint64_t rss_before = ResidentBytes(e.member(member).pid);

  NeverReadingClient serializable(e.member(member).client_address);
  NeverReadingClient linearizable(e.member(member).client_address);
  for (uint64_t i = 1; i <= 2000; ++i) {
    serializable.Send(RangeOf("/limits/big", true, i));
    linearizable.Send(RangeOf("/limits/big", false, i));
  }
  EXPECT_TRUE(WaitFor([&] { return Metric(e, member, "coord_client_slow_closes_total") >= 2; },
                      30s))
      << "closes: " << Metric(e, member, "coord_client_slow_closes_total");
  EXPECT_GE(Metric(e, member, "coord_client_read_pauses_total"), 2);
  const uint64_t rss_after = ResidentBytes(e.member(member).pid);
  EXPECT_LT(rss_after, rss_before + (100u << 20))
      << "before " << rss_before << " after " << rss_after;
  // The member still serves everyone else.
  EXPECT_TRUE(Ok(Get(**c, "/limits/big", true)));
}

// Defect 13: a reply over the limit is refused with TOO_LARGE and a hint to
// paginate (a range and a read-only txn, through a follower too); paging works; a
// read-only txn is served without the log; a write txn whose reads are huge is
// refused before it writes, and one whose reply is over the limit says it was applied.
TEST(Limits, RepliesOverTheLimitAreTooLargeWithAHint) {
  Ensemble e(3, 30);
  e.set_extra_args(SmallLimits());
  ASSERT_TRUE(e.StartAll().ok());
  auto leader = e.WaitStableLeader(20s);
  ASSERT_TRUE(leader.ok()) << leader.status();
  const int follower = (*leader + 1) % 3;
  auto c = WsClient::Connect(e.member(follower).client_address);
  ASSERT_TRUE(c.ok()) << c.status();
  for (int i = 0; i < 12; ++i) PutValue(**c, "/tl/" + std::to_string(10 + i), 100 << 10);

  Response whole = Get(**c, "/tl/", false, true);
  ASSERT_TRUE(whole.has_error()) << "1.2 MB in one reply";
  EXPECT_EQ(whole.error().code(), coord::v1::TOO_LARGE);
  EXPECT_NE(whole.error().message().find("pages"), std::string::npos) << whole.error().message();
  EXPECT_FALSE(whole.error().applied());

  Request page;
  page.mutable_range()->set_key("/tl/");
  page.mutable_range()->set_prefix(true);
  page.mutable_range()->set_limit(3);
  auto first = (*c)->Call(page);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(Ok(*first)) << first->DebugString();
  EXPECT_EQ(first->range().kvs_size(), 3);
  EXPECT_TRUE(first->range().more());

  // A read-only txn of many prefix ranges: answered at once, not through the log.
  Request txn;
  for (int i = 0; i < 100; ++i) {
    auto* range = txn.mutable_txn()->add_success()->mutable_range();
    range->set_key("/tl/");
    range->set_prefix(true);
  }
  const double applied_before = Metric(e, follower, "coord_raft_applied_index");
  const auto start = std::chrono::steady_clock::now();
  auto big = (*c)->Call(txn);
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  ASSERT_TRUE(big->has_error());
  EXPECT_EQ(big->error().code(), coord::v1::TOO_LARGE) << big->DebugString();
  EXPECT_FALSE(big->error().applied());
  EXPECT_EQ(Metric(e, follower, "coord_raft_applied_index"), applied_before)
      << "a read-only txn must not be logged";

  Request small;
  small.mutable_txn()->add_success()->mutable_range()->set_key("/tl/10");
  auto one = (*c)->Call(small);
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_TRUE(Ok(*one)) << one->DebugString();
  ASSERT_EQ(one->txn().results_size(), 1);
  EXPECT_EQ(one->txn().results(0).range().kvs_size(), 1);

  // A write txn whose reads would be huge: refused before anything is written
  // (every member would otherwise compute them when applying it).
  Request huge = txn;
  auto* put = huge.mutable_txn()->add_success()->mutable_put();
  put->set_key("/tl-huge");
  put->set_value("no");
  auto refused = (*c)->Call(huge);
  ASSERT_TRUE(refused.ok()) << refused.status();
  ASSERT_TRUE(refused->has_error());
  EXPECT_EQ(refused->error().code(), coord::v1::TOO_LARGE) << refused->DebugString();
  EXPECT_FALSE(refused->error().applied());
  EXPECT_EQ(Get(**c, "/tl-huge").range().kvs_size(), 0);

  // A write txn whose reads fit the txn bound (4 MiB) but not this member's reply
  // limit: applied, and the error says so.
  Request write;
  auto* range = write.mutable_txn()->add_success()->mutable_range();
  range->set_key("/tl/");
  range->set_prefix(true);
  put = write.mutable_txn()->add_success()->mutable_put();
  put->set_key("/tl-written");
  put->set_value("yes");
  auto written = (*c)->Call(write);
  ASSERT_TRUE(written.ok()) << written.status();
  ASSERT_TRUE(written->has_error());
  EXPECT_EQ(written->error().code(), coord::v1::TOO_LARGE) << written->DebugString();
  EXPECT_TRUE(written->error().applied()) << written->error().message();
  EXPECT_GT(written->header().revision(), 0);
  Response after = Get(**c, "/tl-written");
  ASSERT_TRUE(Ok(after));
  ASSERT_EQ(after.range().kvs_size(), 1);
  EXPECT_EQ(after.range().kvs(0).mod_revision(), written->header().revision());
}

}  // namespace
}  // namespace coord::test
