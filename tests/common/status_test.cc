#include "coord/status.h"

#include <gtest/gtest.h>

namespace coord {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "OK");
}

TEST(StatusTest, ErrorCarriesCodeAndMessage) {
  Status s = Status::NotFound("key /a");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.ToString(), "NOT_FOUND: key /a");
}

Status FailsThenReturns(bool fail, int* reached) {
  COORD_RETURN_IF_ERROR(fail ? Status::Timeout("t") : Status::Ok());
  *reached = 1;
  return Status::Ok();
}

TEST(StatusTest, ReturnIfErrorStopsEarly) {
  int reached = 0;
  EXPECT_EQ(FailsThenReturns(true, &reached).code(), StatusCode::kTimeout);
  EXPECT_EQ(reached, 0);
  EXPECT_TRUE(FailsThenReturns(false, &reached).ok());
  EXPECT_EQ(reached, 1);
}

TEST(ResultTest, HoldsValueOrError) {
  Result<int> v = 7;
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 7);
  Result<int> e = Status::Unavailable("down");
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(e.value_or(3), 3);
}

TEST(ResultTest, MovesOutValue) {
  Result<std::string> r = std::string("abc");
  std::string s = *std::move(r);
  EXPECT_EQ(s, "abc");
}

}  // namespace
}  // namespace coord
