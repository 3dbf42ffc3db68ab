// Password hashes and login tokens (server/auth_password.h, server/auth_token.h):
// what verifies, and every way a hash or token must fail.
#include <gtest/gtest.h>

#include "server/auth_password.h"
#include "server/auth_token.h"
#include "server/ws_session.h"

namespace coord::server {
namespace {

constexpr uint32_t kFast = kMinIterations;  // tests need not pay the default cost

TEST(AuthPassword, TheRightPasswordVerifiesAndNothingElseDoes) {
  auto h = HashPassword("correct horse", kFast);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->salt.size(), 16u);
  EXPECT_EQ(h->hash.size(), 32u);
  EXPECT_TRUE(VerifyPassword("correct horse", *h));
  EXPECT_FALSE(VerifyPassword("correct horsf", *h));
  EXPECT_FALSE(VerifyPassword("", *h));

  auto again = HashPassword("correct horse", kFast);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->salt, h->salt) << "a fresh salt per hash";
  EXPECT_NE(again->hash, h->hash);

  PasswordHash cheap = *h;
  cheap.iterations = 1;
  EXPECT_FALSE(VerifyPassword("correct horse", cheap)) << "too few iterations is refused";
  PasswordHash short_salt = *h;
  short_salt.salt.pop_back();
  EXPECT_FALSE(VerifyPassword("correct horse", short_salt));
  EXPECT_EQ(HashPassword("", kFast).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(HashPassword("x", 5).status().code(), StatusCode::kInvalidArgument);
}

const std::string kKey = "0123456789abcdef0123456789abcdef";

TEST(AuthToken, AMintedTokenVerifiesUntilItExpires) {
  const TokenClaims claims{"alice:ops", 5'000, 7};
  auto token = MintToken(kKey, claims);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->rfind("c1.", 0), 0u);
  auto got = VerifyToken(kKey, *token, 4'999);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, claims) << "a ':' in the user name survives";

  auto expired = VerifyToken(kKey, *token, 5'000);
  ASSERT_EQ(expired.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(expired.status().message().find("expired"), std::string::npos);
}

TEST(AuthToken, ForgedOrDamagedTokensAreRefused) {
  auto token = MintToken(kKey, TokenClaims{"alice", 10'000, 1});
  ASSERT_TRUE(token.ok());
  auto other_key = VerifyToken("another ensemble's key", *token, 0);
  ASSERT_EQ(other_key.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(other_key.status().message().find("not signed"), std::string::npos);

  // Claims changed without the key: a root token minted from alice's.
  auto forged = MintToken("guessed", TokenClaims{"root", 10'000, 1});
  ASSERT_TRUE(forged.ok());
  const std::string spliced =
      forged->substr(0, forged->rfind('.')) + token->substr(token->rfind('.'));
  EXPECT_EQ(VerifyToken(kKey, spliced, 0).status().code(), StatusCode::kUnauthenticated);

  for (const std::string& bad :
       {std::string(), std::string("c1."), std::string("c2.") + token->substr(3),
        *token + "A", token->substr(0, token->size() - 1), std::string("c1.!!.!!"),
        std::string(kMaxTokenBytes + 1, 'c')}) {
    auto r = VerifyToken(kKey, bad, 0);
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << bad;
  }
  EXPECT_EQ(VerifyToken("", *token, 0).status().code(), StatusCode::kUnauthenticated);
}

TEST(AuthToken, MintingRefusesAnEmptyKeyAndOverlongNames) {
  EXPECT_EQ(MintToken("", TokenClaims{"a", 1, 0}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MintToken(kKey, TokenClaims{std::string(2000, 'u'), 1, 0}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(Subprotocols, TheTokenIsTakenAndCoordV1IsEchoedWhenOffered) {
  SubprotocolOffer both = ParseSubprotocols("coord.v1, coord.token.c1.abc.def");
  EXPECT_EQ(both.token, "c1.abc.def");
  EXPECT_EQ(both.chosen, "coord.v1");
  SubprotocolOffer token_only = ParseSubprotocols("coord.token.c1.x.y");
  EXPECT_EQ(token_only.token, "c1.x.y");
  EXPECT_EQ(token_only.chosen, "coord.token.c1.x.y") << "a browser needs one offer echoed";
  SubprotocolOffer plain = ParseSubprotocols("coord.v1");
  EXPECT_TRUE(plain.token.empty());
  EXPECT_EQ(plain.chosen, "coord.v1");
  SubprotocolOffer unknown = ParseSubprotocols("chat, superchat");
  EXPECT_TRUE(unknown.token.empty());
  EXPECT_TRUE(unknown.chosen.empty()) << "nothing we speak: nothing echoed";
  EXPECT_TRUE(ParseSubprotocols("").chosen.empty());
  EXPECT_EQ(ParseSubprotocols(" coord.token.a ,coord.token.b").token, "a") << "the first one";
}

}  // namespace
}  // namespace coord::server
