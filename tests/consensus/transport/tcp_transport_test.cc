// TcpTransport between real transports on loopback: exchange, order, large
// messages, reconnect, queue limits, lifecycle.
#include "coord/consensus/tcp_transport.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "consensus/transport/transport_test_util.h"

namespace coord::raft::testing {
namespace {

TEST(TcpTransportTest, TwoMembersExchangeMessagesAndAppsBothWays) {
  auto a = StartNode(Options(1));
  auto b = StartNode(Options(2));
  ASSERT_NE(a->transport->port(), 0);
  a->transport->AddPeer(2, b->address());
  b->transport->AddPeer(1, a->address());

  a->transport->Send(MakeMessage(1, 2, 10, pb::MSG_VOTE));
  a->transport->SendApp(2, "to-b");
  b->transport->Send(MakeMessage(2, 1, 20, pb::MSG_VOTE_RESP));
  b->transport->SendApp(1, "to-a");

  ASSERT_TRUE(b->inbox.WaitMessages(1));
  ASSERT_TRUE(b->inbox.WaitApps(1));
  ASSERT_TRUE(a->inbox.WaitMessages(1));
  ASSERT_TRUE(a->inbox.WaitApps(1));

  pb::Message at_b = b->inbox.messages()[0];
  EXPECT_EQ(at_b.type(), pb::MSG_VOTE);
  EXPECT_EQ(at_b.from(), 1u);
  EXPECT_EQ(at_b.index(), 10u);
  EXPECT_EQ(b->inbox.apps()[0].from, 1u);
  EXPECT_EQ(b->inbox.apps()[0].payload, "to-b");
  EXPECT_EQ(a->inbox.messages()[0].type(), pb::MSG_VOTE_RESP);
  EXPECT_EQ(a->inbox.apps()[0].from, 2u);
  EXPECT_EQ(a->inbox.apps()[0].payload, "to-a");

  // The sender counts a frame when its write completes, which may be a moment
  // after the receiver has it.
  EXPECT_TRUE(PollUntil([&] { return a->transport->stats().frames_sent == 2; }));
  EXPECT_EQ(b->transport->stats().frames_received, 2u);
  EXPECT_EQ(a->transport->stats().connects, 1u);
  EXPECT_GT(a->transport->stats().bytes_sent, 8u);
  EXPECT_EQ(a->transport->stats().bytes_sent, b->transport->stats().bytes_received);
}

TEST(TcpTransportTest, ThreeMembersAllPairs) {
  std::vector<std::unique_ptr<Node>> nodes;
  for (NodeId id = 1; id <= 3; ++id) nodes.push_back(StartNode(Options(id)));
  for (NodeId i = 1; i <= 3; ++i) {
    for (NodeId j = 1; j <= 3; ++j) {
      if (i != j) nodes[i - 1]->transport->AddPeer(j, nodes[j - 1]->address());
    }
  }
  for (NodeId i = 1; i <= 3; ++i) {
    for (NodeId j = 1; j <= 3; ++j) {
      if (i == j) continue;
      nodes[i - 1]->transport->Send(MakeMessage(i, j, 100 * i + j));
      nodes[i - 1]->transport->SendApp(j, std::to_string(i) + "->" + std::to_string(j));
    }
  }
  for (NodeId j = 1; j <= 3; ++j) {
    Inbox& inbox = nodes[j - 1]->inbox;
    ASSERT_TRUE(inbox.WaitMessages(2)) << "member " << j;
    ASSERT_TRUE(inbox.WaitApps(2)) << "member " << j;
    std::set<uint64_t> indexes;
    for (const auto& m : inbox.messages()) {
      EXPECT_EQ(m.to(), j);
      indexes.insert(m.index());
    }
    std::set<std::string> payloads;
    for (const auto& app : inbox.apps()) {
      payloads.insert(app.payload);
      EXPECT_EQ(app.payload, std::to_string(app.from) + "->" + std::to_string(j));
    }
    EXPECT_EQ(indexes.size(), 2u);
    EXPECT_EQ(payloads.size(), 2u);
    for (NodeId i = 1; i <= 3; ++i) {
      if (i == j) continue;
      EXPECT_TRUE(indexes.count(100 * i + j)) << i << "->" << j;
    }
  }
}

TEST(TcpTransportTest, MessagesArriveInOrderPerPeer) {
  auto a = StartNode(Options(1));
  auto b = StartNode(Options(2));
  a->transport->AddPeer(2, b->address());
  b->transport->AddPeer(1, a->address());
  constexpr int kCount = 2000;
  for (int i = 1; i <= kCount; ++i) {
    if (i % 3 == 0) {
      a->transport->SendApp(2, std::to_string(i));
    } else {
      a->transport->Send(MakeMessage(1, 2, i));
    }
  }
  ASSERT_TRUE(b->inbox.WaitLog(kCount)) << b->inbox.log().size();
  std::vector<std::string> log = b->inbox.log();
  ASSERT_EQ(log.size(), static_cast<size_t>(kCount));
  for (int i = 1; i <= kCount; ++i) {
    std::string expected = (i % 3 == 0 ? "a" : "m") + std::to_string(i);
    ASSERT_EQ(log[i - 1], expected) << "position " << i;
  }
  EXPECT_EQ(a->transport->stats().dropped, 0u);
  EXPECT_TRUE(PollUntil([&] { return a->transport->stats().frames_sent == kCount; }));
}

TEST(TcpTransportTest, LargeMessageArrives) {
  auto a = StartNode(Options(1));
  auto b = StartNode(Options(2));
  a->transport->AddPeer(2, b->address());
  b->transport->AddPeer(1, a->address());
  pb::Message big = MakeMessage(1, 2, 5);
  std::string data(8 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 + (i >> 13));
  big.add_entries()->set_data(data);
  big.add_entries()->set_data("tail");
  a->transport->Send(big);
  a->transport->Send(MakeMessage(1, 2, 6));  // queued behind the big one

  ASSERT_TRUE(b->inbox.WaitMessages(2));
  auto got = b->inbox.messages();
  ASSERT_EQ(got[0].entries_size(), 2);
  EXPECT_TRUE(got[0].entries(0).data() == data) << "8 MiB payload differs";
  EXPECT_EQ(got[0].entries(1).data(), "tail");
  EXPECT_EQ(got[1].index(), 6u);
}

TEST(TcpTransportTest, MessageAboveFrameLimitIsDroppedBySender) {
  TcpTransportOptions options = Options(1);
  options.max_frame_bytes = 1024;
  auto a = StartNode(options);
  auto b = StartNode(Options(2));
  a->transport->AddPeer(2, b->address());
  b->transport->AddPeer(1, a->address());
  a->transport->SendApp(2, std::string(2000, 'x'));
  EXPECT_EQ(a->transport->stats().dropped, 1u);
  a->transport->SendApp(2, "small");
  ASSERT_TRUE(b->inbox.WaitApps(1));
  EXPECT_EQ(b->inbox.apps()[0].payload, "small");
}

TEST(TcpTransportTest, ReconnectsToRestartedPeer) {
  auto a = StartNode(Options(1));
  auto b = StartNode(Options(2));
  const std::string b_address = b->address();
  const uint16_t b_port = b->transport->port();
  a->transport->AddPeer(2, b_address);
  b->transport->AddPeer(1, a->address());
  a->transport->Send(MakeMessage(1, 2, 1));
  ASSERT_TRUE(b->inbox.WaitMessages(1));

  b->transport->Stop();
  b.reset();
  // The sender notices the closed stream without having to write to it.
  ASSERT_TRUE(PollUntil([&] { return a->transport->stats().disconnects >= 1; }));
  ASSERT_TRUE(a->inbox.WaitUnreachable(2));

  auto b2 = StartNode(Options(2, "127.0.0.1", b_port));
  b2->transport->AddPeer(1, a->address());
  ASSERT_EQ(b2->address(), b_address);
  for (uint64_t i = 2; i <= 11; ++i) a->transport->Send(MakeMessage(1, 2, i));
  ASSERT_TRUE(b2->inbox.WaitMessages(10));
  auto got = b2->inbox.messages();
  for (size_t k = 0; k < got.size(); ++k) EXPECT_EQ(got[k].index(), k + 2);
  EXPECT_GE(a->transport->stats().connects, 2u);
}

TEST(TcpTransportTest, QueueOverflowDropsAndCounts) {
  TcpTransportOptions options = Options(1);
  options.max_queue_messages = 5;
  auto a = StartNode(options);
  // Nobody listens there: the peer stays disconnected and the queue fills.
  a->transport->AddPeer(2, "127.0.0.1:" + std::to_string(UnusedPort()));
  for (uint64_t i = 0; i < 12; ++i) a->transport->Send(MakeMessage(1, 2, i));
  EXPECT_EQ(a->transport->stats().dropped, 7u);
  EXPECT_TRUE(a->inbox.WaitUnreachable(2));
  EXPECT_EQ(a->transport->stats().connects, 0u);
  EXPECT_EQ(a->transport->stats().frames_sent, 0u);
}

TEST(TcpTransportTest, QueueByteLimitDropsAndCounts) {
  TcpTransportOptions options = Options(1);
  options.max_queue_bytes = 1000;
  auto a = StartNode(options);
  a->transport->AddPeer(2, "127.0.0.1:" + std::to_string(UnusedPort()));
  a->transport->SendApp(2, std::string(400, 'x'));
  a->transport->SendApp(2, std::string(400, 'y'));
  EXPECT_EQ(a->transport->stats().dropped, 0u);
  a->transport->SendApp(2, std::string(400, 'z'));
  EXPECT_EQ(a->transport->stats().dropped, 1u);
}

TEST(TcpTransportTest, QueuedMessagesAreDeliveredOnceThePeerComesUp) {
  auto a = StartNode(Options(1));
  const uint16_t port = UnusedPort();
  a->transport->AddPeer(2, "127.0.0.1:" + std::to_string(port));
  for (uint64_t i = 1; i <= 3; ++i) a->transport->Send(MakeMessage(1, 2, i));
  ASSERT_TRUE(a->inbox.WaitUnreachable(2));
  auto b = StartNode(Options(2, "127.0.0.1", port));
  b->transport->AddPeer(1, a->address());
  ASSERT_TRUE(b->inbox.WaitMessages(3));
  EXPECT_EQ(b->inbox.messages()[2].index(), 3u);
  // Everything queued before the connection left in one gather write.
  ASSERT_TRUE(PollUntil([&] { return a->transport->stats().frames_sent == 3; }));
  EXPECT_EQ(a->transport->stats().writes, 1u);
}

TEST(TcpTransportTest, WriteBatchesAreBoundedByBatchBytes) {
  TcpTransportOptions options = Options(1);
  options.max_write_batch_bytes = 1000;
  auto a = StartNode(options);
  const uint16_t port = UnusedPort();
  a->transport->AddPeer(2, "127.0.0.1:" + std::to_string(port));
  // Ten frames of ~410 bytes: a batch closes once it holds >= 1000 bytes, i.e.
  // after three frames; 10 frames take ceil(10 / 3) = 4 writes.
  for (int i = 0; i < 10; ++i) a->transport->SendApp(2, std::string(400, 'a' + i));
  ASSERT_TRUE(a->inbox.WaitUnreachable(2));
  auto b = StartNode(Options(2, "127.0.0.1", port));
  b->transport->AddPeer(1, a->address());
  ASSERT_TRUE(b->inbox.WaitApps(10));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(b->inbox.apps()[i].payload[0], 'a' + i);
  ASSERT_TRUE(PollUntil([&] { return a->transport->stats().frames_sent == 10; }));
  EXPECT_EQ(a->transport->stats().writes, 4u);
}

TEST(TcpTransportTest, UnknownPeerAndForeignSenderAreDropped) {
  auto a = StartNode(Options(1));
  auto b = StartNode(Options(2));
  a->transport->Send(MakeMessage(1, 9, 1));  // no such peer
  EXPECT_EQ(a->transport->stats().dropped, 1u);
  a->transport->AddPeer(2, b->address());
  b->transport->AddPeer(1, a->address());
  a->transport->Send(MakeMessage(5, 2, 1));  // claims to come from member 5
  EXPECT_EQ(a->transport->stats().dropped, 2u);
  a->transport->Send(MakeMessage(1, 2, 2));
  ASSERT_TRUE(b->inbox.WaitMessages(1));
  EXPECT_EQ(b->inbox.messages()[0].index(), 2u);
  EXPECT_EQ(b->transport->stats().decode_errors, 0u);
}

TEST(TcpTransportTest, RemoveAndMovePeer) {
  auto a = StartNode(Options(1));
  auto b = StartNode(Options(2));
  auto c = StartNode(Options(2));  // member 2 moved to another address
  a->transport->AddPeer(2, b->address());
  b->transport->AddPeer(1, a->address());
  a->transport->Send(MakeMessage(1, 2, 1));
  ASSERT_TRUE(b->inbox.WaitMessages(1));

  a->transport->AddPeer(2, c->address());
  c->transport->AddPeer(1, a->address());
  a->transport->Send(MakeMessage(1, 2, 2));
  ASSERT_TRUE(c->inbox.WaitMessages(1));
  EXPECT_EQ(c->inbox.messages()[0].index(), 2u);

  a->transport->RemovePeer(2);
  const uint64_t dropped = a->transport->stats().dropped;
  a->transport->Send(MakeMessage(1, 2, 3));
  EXPECT_EQ(a->transport->stats().dropped, dropped + 1);
  EXPECT_EQ(b->inbox.messages().size(), 1u);
}

TEST(TcpTransportTest, PeerAddressMayBeAHostName) {
  auto a = StartNode(Options(1));
  auto b = StartNode(Options(2));
  a->transport->AddPeer(2, "localhost:" + std::to_string(b->transport->port()));
  b->transport->AddPeer(1, a->address());
  a->transport->Send(MakeMessage(1, 2, 4));
  ASSERT_TRUE(b->inbox.WaitMessages(1));
  EXPECT_EQ(b->inbox.messages()[0].index(), 4u);
}

TEST(TcpTransportTest, StartValidatesOptions) {
  Inbox inbox;
  TcpTransport no_id(Options(0));
  EXPECT_EQ(no_id.Start(inbox.Handlers()).code(), StatusCode::kInvalidArgument);

  TcpTransportOptions bad_address = Options(1);
  bad_address.listen_address = "127.0.0.1";
  TcpTransport t1(bad_address);
  EXPECT_EQ(t1.Start(inbox.Handlers()).code(), StatusCode::kInvalidArgument);

  auto a = StartNode(Options(1));
  TcpTransport taken(Options(2, "127.0.0.1", a->transport->port()));
  Status s = taken.Start(inbox.Handlers());
  EXPECT_EQ(s.code(), StatusCode::kIOError) << s;
  EXPECT_NE(s.message().find(a->address()), std::string::npos) << s;

  EXPECT_EQ(a->Start().code(), StatusCode::kAborted);
  a->transport->Stop();
  EXPECT_EQ(a->Start().code(), StatusCode::kAborted);
}

TEST(TcpTransportTest, StopIsIdempotentAndWorksBeforeStart) {
  TcpTransport never_started(Options(1));
  never_started.Stop();
  never_started.Stop();
  EXPECT_EQ(never_started.port(), 0);

  auto a = StartNode(Options(1));
  a->transport->Stop();
  a->transport->Stop();
  a->transport->Send(MakeMessage(1, 2, 1));
  EXPECT_EQ(a->transport->stats().dropped, 1u);
}

TEST(TcpTransportTest, StopWithTrafficInFlightIsPromptAndFinal) {
  TcpTransportOptions sender_options = Options(1);
  sender_options.max_queue_bytes = 8 << 20;
  auto a = StartNode(sender_options);
  std::atomic<bool> stopped{false};
  std::atomic<int> calls_after_stop{0};
  std::atomic<int> calls{0};
  auto b = std::make_unique<TcpTransport>(Options(2));
  Transport::Handlers h;
  h.on_app = [&](NodeId, std::string) {
    calls++;
    if (stopped.load()) calls_after_stop++;
  };
  h.on_message = [&](pb::Message) {
    calls++;
    if (stopped.load()) calls_after_stop++;
  };
  ASSERT_TRUE(b->Start(h).ok());
  a->transport->AddPeer(2, b->listen_address());
  b->AddPeer(1, a->address());

  std::atomic<bool> stop_sender{false};
  std::thread sender([&] {
    const std::string chunk(64 << 10, 'p');
    while (!stop_sender.load()) {
      a->transport->SendApp(2, chunk);
      a->transport->Send(MakeMessage(1, 2, 1));
      std::this_thread::yield();
    }
  });
  ASSERT_TRUE(PollUntil([&] { return calls.load() > 100; }));

  auto begin = std::chrono::steady_clock::now();
  b->Stop();
  stopped = true;
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(2));

  // Traffic continues until the sender has seen the connection go away.
  ASSERT_TRUE(PollUntil([&] { return a->transport->stats().disconnects >= 1; }));
  begin = std::chrono::steady_clock::now();
  a->transport->Stop();  // while the sender thread still calls Send
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(2));
  stop_sender = true;
  sender.join();
  b.reset();
  EXPECT_EQ(calls_after_stop.load(), 0);
}

TEST(TcpTransportTest, DestructionWithoutStopIsSafe) {
  auto a = StartNode(Options(1));
  auto b = StartNode(Options(2));
  a->transport->AddPeer(2, b->address());
  b->transport->AddPeer(1, a->address());
  for (uint64_t i = 1; i <= 50; ++i) {
    a->transport->Send(MakeMessage(1, 2, i));
    b->transport->Send(MakeMessage(2, 1, i));
  }
  ASSERT_TRUE(b->inbox.WaitMessages(1));
  a->transport.reset();  // no Stop
  b->transport.reset();
  SUCCEED();
}

TEST(TcpTransportTest, AddPeerBeforeStartConnectsOnStart) {
  auto b = StartNode(Options(2));
  auto a = std::make_unique<Node>(Options(1));
  a->transport->AddPeer(2, b->address());
  b->transport->AddPeer(1, "127.0.0.1:" + std::to_string(UnusedPort()));  // a is not listening yet
  a->transport->AddPeer(3, "not an address");  // logged and ignored
  ASSERT_TRUE(a->Start().ok());
  a->transport->Send(MakeMessage(1, 2, 7));
  ASSERT_TRUE(b->inbox.WaitMessages(1));
  EXPECT_EQ(b->inbox.messages()[0].index(), 7u);
  a->transport->Send(MakeMessage(1, 3, 7));
  EXPECT_EQ(a->transport->stats().dropped, 1u);
}

}  // namespace
}  // namespace coord::raft::testing

namespace coord::raft::testing {
namespace {

// Handlers run on the I/O thread; sending from one must not deadlock.
TEST(TcpTransportReentrancyTest, HandlerMaySend) {
  auto a = StartNode(Options(1));
  auto b = std::make_unique<TcpTransport>(Options(2));
  Transport::Handlers h;
  h.on_message = [&b](pb::Message m) {
    b->Send(MakeMessage(2, 1, m.index() + 1000, pb::MSG_APPEND_RESP));  // echo
  };
  ASSERT_TRUE(b->Start(h).ok());
  a->transport->AddPeer(2, b->listen_address());
  b->AddPeer(1, a->address());
  for (uint64_t i = 1; i <= 20; ++i) a->transport->Send(MakeMessage(1, 2, i));
  ASSERT_TRUE(a->inbox.WaitMessages(20));
  auto replies = a->inbox.messages();
  for (size_t k = 0; k < replies.size(); ++k) EXPECT_EQ(replies[k].index(), 1001 + k);
  b->Stop();
}

// Stop() from a handler cannot join its own thread; it must still stop the
// transport, and the destructor must finish the job without hanging.
TEST(TcpTransportReentrancyTest, HandlerMayStop) {
  auto a = StartNode(Options(1));
  std::mutex mu;
  std::condition_variable cv;
  bool stop_returned = false;
  auto b = std::make_unique<TcpTransport>(Options(2));
  Transport::Handlers h;
  h.on_app = [&](NodeId, std::string) {
    b->Stop();
    std::lock_guard<std::mutex> lock(mu);
    stop_returned = true;
    cv.notify_all();
  };
  ASSERT_TRUE(b->Start(h).ok());
  a->transport->AddPeer(2, b->listen_address());
  b->AddPeer(1, a->address());
  a->transport->SendApp(2, "stop please");
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kWait, [&] { return stop_returned; }));
  }
  // The sender sees the connection closed by the stopping member.
  ASSERT_TRUE(PollUntil([&] { return a->transport->stats().disconnects >= 1; }));
  b.reset();
}

}  // namespace
}  // namespace coord::raft::testing
