#include "probe.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "options.h"

namespace coord::bench {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace websocket = beast::websocket;

Result<coord::v1::Response> CallOnce(const std::string& endpoint, coord::v1::Request request,
                                     int timeout_ms) {
  COORD_RETURN_IF_ERROR(ValidateEndpoint(endpoint));
  const size_t colon = endpoint.rfind(':');
  net::io_context io;
  websocket::stream<beast::tcp_stream> ws(io);
  beast::error_code ec;
  const auto address = net::ip::make_address(endpoint.substr(0, colon), ec);
  if (ec) return Status::InvalidArgument("bad endpoint " + endpoint);
  const net::ip::tcp::endpoint ep(address,
                                  static_cast<uint16_t>(std::stoi(endpoint.substr(colon + 1))));
  // Synchronous calls with the tcp_stream deadline on the connect only; the whole
  // exchange is then bounded by running the io_context with a deadline.
  std::string frame;
  request.set_id(1);
  request.set_timeout_ms(static_cast<uint32_t>(timeout_ms));
  request.SerializeToString(&frame);
  beast::flat_buffer buffer;
  Status result =
      Status::Unavailable(endpoint + ": no reply within " + std::to_string(timeout_ms) + " ms");
  coord::v1::Response response;
  beast::get_lowest_layer(ws).expires_after(std::chrono::milliseconds(timeout_ms));
  beast::get_lowest_layer(ws).async_connect(ep, [&](beast::error_code e) {
    if (e) {
      result = Status::Unavailable(endpoint + ": " + e.message());
      return;
    }
    ws.async_handshake(endpoint, "/v1/ws", [&](beast::error_code e) {
      if (e) {
        result = Status::Unavailable(endpoint + ": " + e.message());
        return;
      }
      ws.binary(true);
      ws.async_write(net::buffer(frame), [&](beast::error_code e, size_t) {
        if (e) {
          result = Status::Unavailable(endpoint + ": " + e.message());
          return;
        }
        ws.async_read(buffer, [&](beast::error_code e, size_t) {
          if (e) {
            result = Status::Unavailable(endpoint + ": " + e.message());
            return;
          }
          coord::v1::ServerMessage m;
          const auto data = buffer.cdata();
          if (!m.ParseFromArray(data.data(), static_cast<int>(data.size())) || !m.has_response()) {
            result = Status::InvalidArgument(endpoint + ": unexpected reply");
            return;
          }
          response = m.response();
          result = Status::Ok();
        });
      });
    });
  });
  io.run_for(std::chrono::milliseconds(timeout_ms));
  if (!result.ok()) return result;
  return response;
}

Result<std::string> FindLeader(const std::vector<std::string>& endpoints, int timeout_ms) {
  Status last = Status::Unavailable("no endpoints");
  for (const std::string& endpoint : endpoints) {
    coord::v1::Request status;
    status.mutable_status();
    auto s = CallOnce(endpoint, status, timeout_ms);
    if (!s.ok()) {
      last = s.status();
      continue;
    }
    if (s->error().code() != coord::v1::OK || s->status().leader_name().empty()) {
      last = Status::Unavailable(endpoint + ": no leader known (" + s->error().message() + ")");
      continue;
    }
    coord::v1::Request list;
    list.mutable_member_list();
    auto l = CallOnce(endpoint, list, timeout_ms);
    if (!l.ok()) {
      last = l.status();
      continue;
    }
    for (const coord::v1::Member& m : l->member_list().members()) {
      if (m.name() == s->status().leader_name()) return m.client_address();
    }
    last = Status::NotFound(endpoint + ": leader " + s->status().leader_name() +
                            " is not in the member list");
  }
  return last;
}

}  // namespace coord::bench
