#include "ws_client.h"

#include <google/protobuf/util/json_util.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

namespace coord::test {

namespace beast = boost::beast;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using coord::v1::ServerMessage;

struct WsClient::Impl {
  net::io_context io;
  beast::websocket::stream<beast::tcp_stream> ws{io};
  beast::flat_buffer buffer;
  std::thread thread;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<ServerMessage> inbox;  // not yet consumed
  std::vector<ServerMessage> log;   // everything received
  bool closed = false;
  std::deque<std::pair<std::string, bool>> outbox;  // io thread only
  bool writing = false;                             // io thread only

  void DoRead() {
    ws.async_read(buffer, [this](beast::error_code ec, size_t) {
      if (ec) {
        std::lock_guard lock(mu);
        closed = true;
        cv.notify_all();
        return;
      }
      const std::string data = beast::buffers_to_string(buffer.data());
      buffer.consume(buffer.size());
      ServerMessage m;
      bool ok = false;
      if (ws.got_text()) {
        google::protobuf::util::JsonParseOptions options;
        ok = google::protobuf::util::JsonStringToMessage(data, &m, options).ok();
      } else {
        ok = m.ParseFromString(data);
      }
      {
        std::lock_guard lock(mu);
        if (ok) {
          inbox.push_back(m);
          log.push_back(m);
        }
        cv.notify_all();
      }
      DoRead();
    });
  }

  void DoWrite() {
    if (writing || outbox.empty()) return;
    writing = true;
    ws.text(outbox.front().second);
    ws.async_write(net::buffer(outbox.front().first), [this](beast::error_code ec, size_t) {
      writing = false;
      outbox.pop_front();
      if (ec) {
        std::lock_guard lock(mu);
        closed = true;
        cv.notify_all();
        return;
      }
      DoWrite();
    });
  }
};

WsClient::WsClient() : impl_(std::make_unique<Impl>()) {}

WsClient::~WsClient() {
  net::post(impl_->io, [impl = impl_.get()] {
    beast::error_code ignored;
    beast::get_lowest_layer(impl->ws).socket().close(ignored);
  });
  if (impl_->thread.joinable()) impl_->thread.join();
}

Result<std::unique_ptr<WsClient>> WsClient::Connect(const std::string& address, Duration timeout,
                                                    const std::string& subprotocols) {
  auto client = std::unique_ptr<WsClient>(new WsClient());
  Impl& impl = *client->impl_;
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("bad address " + address);
  try {
    const tcp::endpoint ep(net::ip::make_address(address.substr(0, colon)),
                           static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
    beast::get_lowest_layer(impl.ws).expires_after(timeout);
    beast::get_lowest_layer(impl.ws).connect(ep);
    if (!subprotocols.empty()) {
      impl.ws.set_option(beast::websocket::stream_base::decorator(
          [subprotocols](beast::websocket::request_type& req) {
            req.set(beast::http::field::sec_websocket_protocol, subprotocols);
          }));
    }
    beast::websocket::response_type response;
    impl.ws.handshake(response, address, "/v1/ws");
    client->accepted_subprotocol_ =
        std::string(response[beast::http::field::sec_websocket_protocol]);
    beast::get_lowest_layer(impl.ws).expires_never();
  } catch (const std::exception& e) {
    return Status::Unavailable("connect to " + address + ": " + e.what());
  }
  impl.ws.read_message_max(64 << 20);
  impl.DoRead();
  impl.thread = std::thread([&impl] { impl.io.run(); });
  return client;
}

void WsClient::SendRaw(std::string payload, bool text) {
  net::post(impl_->io, [impl = impl_.get(), payload = std::move(payload), text]() mutable {
    impl->outbox.emplace_back(std::move(payload), text);
    impl->DoWrite();
  });
}

Result<coord::v1::Response> WsClient::Call(coord::v1::Request request, bool json,
                                           Duration timeout) {
  if (request.id() == 0) request.set_id(NextId());
  std::string payload;
  if (json) {
    (void)google::protobuf::util::MessageToJsonString(request, &payload);
  } else {
    request.SerializeToString(&payload);
  }
  SendRaw(std::move(payload), json);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(impl_->mu);
  while (true) {
    for (auto it = impl_->inbox.begin(); it != impl_->inbox.end(); ++it) {
      if (it->has_response() && it->response().id() == request.id()) {
        coord::v1::Response r = it->response();
        impl_->inbox.erase(it);
        return r;
      }
    }
    if (impl_->closed) return Status::Unavailable("connection closed");
    if (impl_->cv.wait_until(lock, deadline) == std::cv_status::timeout) {
      return Status::Timeout("no response to request " + std::to_string(request.id()));
    }
  }
}

Result<ServerMessage> WsClient::NextPushed(Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(impl_->mu);
  while (true) {
    for (auto it = impl_->inbox.begin(); it != impl_->inbox.end(); ++it) {
      if (!it->has_response()) {
        ServerMessage m = std::move(*it);
        impl_->inbox.erase(it);
        return m;
      }
    }
    if (impl_->closed) return Status::Unavailable("connection closed");
    if (impl_->cv.wait_until(lock, deadline) == std::cv_status::timeout) {
      return Status::Timeout("no pushed message");
    }
  }
}

Result<ServerMessage> WsClient::NextAny(Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(impl_->mu);
  while (impl_->inbox.empty()) {
    if (impl_->closed) return Status::Unavailable("connection closed");
    if (impl_->cv.wait_until(lock, deadline) == std::cv_status::timeout) {
      return Status::Timeout("no message");
    }
  }
  ServerMessage m = std::move(impl_->inbox.front());
  impl_->inbox.pop_front();
  return m;
}

std::vector<ServerMessage> WsClient::Log() {
  std::lock_guard lock(impl_->mu);
  return impl_->log;
}

bool WsClient::WaitClosed(Duration timeout) {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [this] { return impl_->closed; });
}

}  // namespace coord::test
