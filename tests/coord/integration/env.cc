// The ensemble of the integration binary and the helpers of test_util.h.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "test_util.h"

namespace coord::test {

Ensemble* g_ensemble = nullptr;

namespace {

class EnsembleEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    g_ensemble = new Ensemble(3, 30);
    ASSERT_TRUE(g_ensemble->StartAll().ok());
    ASSERT_TRUE(g_ensemble->WaitStableLeader(20s).ok());
  }
  void TearDown() override {
    delete g_ensemble;
    g_ensemble = nullptr;
  }
};

const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new EnsembleEnvironment);

}  // namespace

std::unique_ptr<WsClient> Connect(int member) {
  auto c = WsClient::Connect(g_ensemble->member(member).client_address);
  if (!c.ok()) {
    // Fails the current test (gtest catches it) without dereferencing null later;
    // the ensemble is still torn down by the environment.
    throw std::runtime_error("cannot connect to member " + std::to_string(member) + ": " +
                             c.status().ToString());
  }
  return std::move(*c);
}

int Leader() {
  auto l = g_ensemble->WaitStableLeader(20s);
  EXPECT_TRUE(l.ok()) << l.status();
  return l.ok() ? *l : 0;
}

// The initial members only (spares added by membership tests are gone again).
int AFollower() { return (Leader() + 1) % 3; }

Response Put(WsClient& c, const std::string& key, const std::string& value, bool json,
             int64_t session) {
  Request r;
  r.mutable_put()->set_key(key);
  r.mutable_put()->set_value(value);
  r.mutable_put()->set_session(session);
  auto resp = c.Call(r, json);
  EXPECT_TRUE(resp.ok()) << resp.status();
  return resp.ok() ? *resp : Response();
}

Response Get(WsClient& c, const std::string& key, bool serializable, bool prefix, bool json) {
  Request r;
  r.mutable_range()->set_key(key);
  r.mutable_range()->set_serializable(serializable);
  r.mutable_range()->set_prefix(prefix);
  auto resp = c.Call(r, json);
  EXPECT_TRUE(resp.ok()) << resp.status();
  return resp.ok() ? *resp : Response();
}

bool Ok(const Response& r) { return !r.has_error() || r.error().code() == coord::v1::OK; }

std::string HttpGet(const std::string& address, const std::string& target, int* status) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  const size_t colon = address.rfind(':');
  stream.expires_after(5s);
  stream.connect(
      boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address(address.substr(0, colon)),
                                     static_cast<uint16_t>(std::stoi(address.substr(colon + 1)))));
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, address);
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  *status = res.result_int();
  return res.body();
}

double Metric(const Ensemble& e, int i, const std::string& name) {
  int status = 0;
  std::istringstream in(HttpGet(e.member(i).client_address, "/metrics", &status));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint64_t ResidentBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/statm");
  uint64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace coord::test
