// The state one coordctl invocation shares among its parts: the global options,
// the printer, and the client connection (created on first use, so a usage error
// never connects anywhere).
//
// Thread-safety: one Context per process, used from the main thread; printer() is
// thread-safe (callbacks print from the client's executor).
#pragma once

#include <memory>
#include <ostream>
#include <string>

#include "args.h"
#include "coord.pb.h"
#include "coord/client/client.h"
#include "coord/status.h"
#include "output.h"

namespace coord::ctl {

// The first line of `path` (without its line end): a password. Errors:
// kInvalidArgument (unreadable or empty).
Result<std::string> ReadSecretFile(const std::string& path);

class Context {
 public:
  Context(GlobalOptions global, std::ostream& out)
      : global_(std::move(global)), printer_(global_.output, out) {}
  // Destroys the client (after every Session / Watch of the commands, which are
  // locals of the command functions).
  ~Context();

  const GlobalOptions& global() const { return global_; }
  OutputFormat format() const { return global_.output; }
  Printer& printer() { return printer_; }

  // The client for global().endpoints with global().timeout as its default
  // deadline. Created on first use; never blocks (it connects in the background,
  // the first call waits). Errors: kInvalidArgument (an endpoint the library
  // refuses).
  Result<coord::Client*> client();

  // Sends `request` with the global deadline; the Response when its code is OK.
  Result<coord::v1::Response> Call(coord::v1::Request request);

 private:
  GlobalOptions global_;
  Printer printer_;
  std::unique_ptr<coord::Client> client_;
};

}  // namespace coord::ctl
