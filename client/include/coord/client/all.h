// Everything of the Coord C++ client library in one include.
//
//   #include "coord/client/all.h"
//   auto client = coord::Client::Create({.endpoints = "127.0.0.1:7420"});
//   auto session = coord::Session::Create(**client, {});
//   coord::Lock lock(**session, "/jobs/nightly");
//   std::lock_guard guard(lock);  // lock.token() is the fencing token
#pragma once

#include "coord/client/cache.h"
#include "coord/client/client.h"
#include "coord/client/consumer.h"
#include "coord/client/election.h"
#include "coord/client/error.h"
#include "coord/client/executor.h"
#include "coord/client/fencing.h"
#include "coord/client/lock.h"
#include "coord/client/participant.h"
#include "coord/client/reconciler.h"
#include "coord/client/session.h"
#include "coord/client/topic.h"
#include "coord/client/transaction.h"
#include "coord/client/watch.h"
