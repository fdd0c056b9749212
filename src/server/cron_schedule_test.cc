// CronSchedule: the schedule syntax, its error messages, and next_after in UTC and across DST.
#include "server/cron_schedule.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

namespace skiff::server {
namespace {

// "2026-03-08 02:30" (UTC) as epoch ms.
int64_t utc(const char* text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0;
  EXPECT_EQ(std::sscanf(text, "%d-%d-%d %d:%d", &y, &mo, &d, &h, &mi), 5) << text;
  auto day = std::chrono::sys_days{std::chrono::year{y} / mo / d};
  return (day.time_since_epoch().count() * 86400LL + h * 3600 + mi * 60) * 1000;
}

// Epoch ms as "2026-03-08 02:30:00" (UTC), so failures read as dates; -1 stays "-1".
std::string show(int64_t ms) {
  if (ms == -1) return "-1";
  using namespace std::chrono;
  sys_seconds t{seconds{ms / 1000}};
  auto day = floor<days>(t);
  year_month_day ymd{day};
  hh_mm_ss hms{t - day};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02ld:%02ld:%02ld%s", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()),
                static_cast<long>(hms.seconds().count()), ms % 1000 != 0 ? " (+ms)" : "");
  return buf;
}

CronSchedule must_parse(const std::string& text, const std::string& zone = "") {
  Result<CronSchedule> s = CronSchedule::parse(text, zone);
  EXPECT_TRUE(s.is_ok()) << s.status().message();
  if (!s.is_ok()) return *CronSchedule::parse("* * * * *", "");
  return *s;
}

// The first `n` firing times strictly after `from` (UTC), formatted.
std::vector<std::string> fires(const std::string& text, const char* from, int n,
                               const std::string& zone = "") {
  CronSchedule s = must_parse(text, zone);
  std::vector<std::string> out;
  int64_t t = utc(from);
  for (int i = 0; i < n; ++i) {
    t = s.next_after(t);
    out.push_back(show(t));
    if (t == -1) break;
  }
  return out;
}

using Times = std::vector<std::string>;

TEST(CronSchedule, Wildcards) {
  EXPECT_EQ(fires("* * * * *", "2026-01-05 10:07", 2), (Times{"2026-01-05 10:08:00", "2026-01-05 10:09:00"}));
  EXPECT_EQ(
      fires("*/15 * * * *", "2026-01-05 10:07", 4),
      (Times{"2026-01-05 10:15:00", "2026-01-05 10:30:00", "2026-01-05 10:45:00", "2026-01-05 11:00:00"}));
}

TEST(CronSchedule, ListsRangesAndSteps) {
  EXPECT_EQ(fires("1,2,5 * * * *", "2026-01-05 10:01", 3),
            (Times{"2026-01-05 10:02:00", "2026-01-05 10:05:00", "2026-01-05 11:01:00"}));
  EXPECT_EQ(fires("0 10-12 * * *", "2026-01-05 11:30", 3),
            (Times{"2026-01-05 12:00:00", "2026-01-06 10:00:00", "2026-01-06 11:00:00"}));
  EXPECT_EQ(
      fires("10-50/20 * * * *", "2026-01-05 10:00", 4),
      (Times{"2026-01-05 10:10:00", "2026-01-05 10:30:00", "2026-01-05 10:50:00", "2026-01-05 11:10:00"}));
  // "5/20" runs from 5 to the end of the field.
  EXPECT_EQ(
      fires("5/20 * * * *", "2026-01-05 10:00", 4),
      (Times{"2026-01-05 10:05:00", "2026-01-05 10:25:00", "2026-01-05 10:45:00", "2026-01-05 11:05:00"}));
  EXPECT_EQ(fires("0 0 1 */4 *", "2026-01-15 00:00", 3),
            (Times{"2026-05-01 00:00:00", "2026-09-01 00:00:00", "2027-01-01 00:00:00"}));
  EXPECT_EQ(fires("0,30 8-9,17 * * *", "2026-01-05 09:40", 3),
            (Times{"2026-01-05 17:00:00", "2026-01-05 17:30:00", "2026-01-06 08:00:00"}));
}

TEST(CronSchedule, MonthAndWeekdayNames) {
  EXPECT_EQ(fires("0 0 1 JAN,jul *", "2026-02-01 00:00", 2),
            (Times{"2026-07-01 00:00:00", "2027-01-01 00:00:00"}));
  EXPECT_EQ(fires("0 0 1 Mar-May *", "2026-02-01 00:00", 3),
            (Times{"2026-03-01 00:00:00", "2026-04-01 00:00:00", "2026-05-01 00:00:00"}));
  // 2026-01-05 is a Monday.
  EXPECT_EQ(fires("0 9 * * mon-Wed", "2026-01-06 12:00", 2),
            (Times{"2026-01-07 09:00:00", "2026-01-12 09:00:00"}));
  EXPECT_EQ(fires("0 9 * * SUN,sat", "2026-01-05 00:00", 2),
            (Times{"2026-01-10 09:00:00", "2026-01-11 09:00:00"}));
}

TEST(CronSchedule, SevenIsSundayAndQuestionMarkIsStar) {
  Times sundays{"2026-01-11 00:00:00", "2026-01-18 00:00:00"};
  EXPECT_EQ(fires("0 0 * * 7", "2026-01-05 00:00", 2), sundays);
  EXPECT_EQ(fires("0 0 * * 0", "2026-01-05 00:00", 2), sundays);
  EXPECT_EQ(fires("0 0 ? * SUN", "2026-01-05 00:00", 2), sundays);
  EXPECT_EQ(
      fires("0 0 * * 5-7", "2026-01-05 00:00", 4),
      (Times{"2026-01-09 00:00:00", "2026-01-10 00:00:00", "2026-01-11 00:00:00", "2026-01-16 00:00:00"}));
  EXPECT_EQ(fires("0 0 15 * ?", "2026-01-05 00:00", 2),
            (Times{"2026-01-15 00:00:00", "2026-02-15 00:00:00"}));
}

TEST(CronSchedule, Macros) {
  const char* from = "2026-05-13 10:20";
  struct Case {
    const char* macro;
    const char* fields;
  };
  for (const Case& c :
       {Case{"@yearly", "0 0 1 1 *"}, Case{"@annually", "0 0 1 1 *"}, Case{"@monthly", "0 0 1 * *"},
        Case{"@weekly", "0 0 * * 0"}, Case{"@daily", "0 0 * * *"}, Case{"@midnight", "0 0 * * *"},
        Case{"@hourly", "0 * * * *"}}) {
    EXPECT_EQ(fires(c.macro, from, 3), fires(c.fields, from, 3)) << c.macro;
  }
  EXPECT_EQ(fires("@weekly", from, 1), (Times{"2026-05-17 00:00:00"}));
  EXPECT_EQ(fires("@DAILY", from, 1), (Times{"2026-05-14 00:00:00"}));
  EXPECT_EQ(must_parse("  @hourly ").text(), "  @hourly ");
}

TEST(CronSchedule, TimezonePrefixOverridesArgument) {
  EXPECT_EQ(fires("CRON_TZ=America/New_York 0 9 * * *", "2026-01-10 00:00", 1),
            (Times{"2026-01-10 14:00:00"}));
  EXPECT_EQ(fires("TZ=Europe/Paris 0 9 * * *", "2026-01-10 00:00", 1, "America/New_York"),
            (Times{"2026-01-10 08:00:00"}));
  EXPECT_EQ(fires("CRON_TZ=Asia/Tokyo @daily", "2026-01-10 00:00", 1), (Times{"2026-01-10 15:00:00"}));
  EXPECT_EQ(must_parse("CRON_TZ=Asia/Tokyo @daily").text(), "CRON_TZ=Asia/Tokyo @daily");
}

TEST(CronSchedule, Errors) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"61 * * * *", "schedule \"61 * * * *\": minute 61 is out of range 0-59"},
      {"* 24 * * *", "schedule \"* 24 * * *\": hour 24 is out of range 0-23"},
      {"* * 0 * *", "schedule \"* * 0 * *\": day-of-month 0 is out of range 1-31"},
      {"* * 32 * *", "schedule \"* * 32 * *\": day-of-month 32 is out of range 1-31"},
      {"* * * 13 *", "schedule \"* * * 13 *\": month 13 is out of range 1-12"},
      {"* * * * 8", "schedule \"* * * * 8\": day-of-week 8 is out of range 0-7"},
      {"0-60/5 * * * *", "schedule \"0-60/5 * * * *\": minute 60 is out of range 0-59"},
      {"*/0 * * * *", "schedule \"*/0 * * * *\": minute step \"0\" in \"*/0\" must be a positive number"},
      {"* 1-5/0 * * *", "schedule \"* 1-5/0 * * *\": hour step \"0\" in \"1-5/0\" must be a positive number"},
      {"*/x * * * *", "schedule \"*/x * * * *\": minute step \"x\" in \"*/x\" must be a positive number"},
      {"5-1 * * * *",
       "schedule \"5-1 * * * *\": minute range \"5-1\" runs backwards (write the smaller value first, "
       "or a list)"},
      {"* * * *",
       "schedule \"* * * *\": expected 5 fields (minute hour day-of-month month day-of-week), found 4"},
      {"0 * * * * *",
       "schedule \"0 * * * * *\": expected 5 fields (minute hour day-of-month month day-of-week), "
       "found 6 (a seconds field is not supported)"},
      {"   ", "schedule is empty (write five fields such as \"*/15 * * * *\" or a macro such as @daily)"},
      {"a b c d e",
       "schedule \"a b c d e\": minute \"a\" is not valid (use 0-59, *, a list 1,2, a range 1-5 or a "
       "step */15)"},
      {"1,,2 * * * *",
       "schedule \"1,,2 * * * *\": minute \"\" is not valid (use 0-59, *, a list 1,2, a range 1-5 "
       "or a step */15)"},
      {"1-2-3 * * * *",
       "schedule \"1-2-3 * * * *\": minute \"1-2-3\" is not valid (use 0-59, *, a list 1,2, a "
       "range 1-5 or a step */15)"},
      {"MON * * * *",
       "schedule \"MON * * * *\": minute \"MON\" is not valid (use 0-59, *, a list 1,2, a range "
       "1-5 or a step */15)"},
      {"* * * FOO *", "schedule \"* * * FOO *\": month \"FOO\" is not a month name (use 1-12 or JAN-DEC)"},
      {"* * * * FUNDAY",
       "schedule \"* * * * FUNDAY\": day-of-week \"FUNDAY\" is not a day name (use 0-7 or "
       "SUN-SAT)"},
      {"? * * * *",
       "schedule \"? * * * *\": minute \"?\" is only allowed in day-of-month and day-of-week (use *)"},
      {"@every 5m",
       "schedule \"@every 5m\": unknown macro \"@every\" (use @yearly, @annually, @monthly, @weekly, "
       "@daily, @midnight or @hourly)"},
      {"@daily 0", "schedule \"@daily 0\": @daily takes no fields (write it alone, or five fields instead)"},
      {"CRON_TZ=UTC", "schedule \"CRON_TZ=UTC\": expected five fields after the timezone"},
      {"TZ= 0 * * * *", "schedule \"TZ= 0 * * * *\": TZ= needs a zone name, as in TZ=Europe/Paris"},
      {"CRON_TZ=Mars/Base 0 * * * *",
       "unknown timezone \"Mars/Base\" (use an IANA name such as Europe/Paris)"},
  };
  for (const Case& c : cases) {
    Result<CronSchedule> s = CronSchedule::parse(c.text, "");
    ASSERT_FALSE(s.is_ok()) << c.text;
    EXPECT_EQ(s.status().code(), Code::kInvalid) << c.text;
    EXPECT_EQ(s.status().message(), c.message);
  }
  Result<CronSchedule> s = CronSchedule::parse("0 * * * *", "Mars/Base");
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), Code::kInvalid);
  EXPECT_EQ(s.status().message(), "unknown timezone \"Mars/Base\" (use an IANA name such as Europe/Paris)");
}

TEST(CronSchedule, NextIsStrictlyAfter) {
  CronSchedule s = must_parse("*/15 * * * *");
  EXPECT_EQ(s.next_after(utc("2026-01-05 10:15")), utc("2026-01-05 10:30"));
  EXPECT_EQ(s.next_after(utc("2026-01-05 10:15") - 1), utc("2026-01-05 10:15"));
  EXPECT_EQ(s.next_after(utc("2026-01-05 10:15") + 1), utc("2026-01-05 10:30"));
  EXPECT_EQ(s.next_after(utc("2026-01-05 10:29") + 59999), utc("2026-01-05 10:30"));
}

TEST(CronSchedule, WeekdaysSkipTheWeekend) {
  // Friday 2026-01-09 after 09:00: next is Monday.
  EXPECT_EQ(fires("0 9 * * MON-FRI", "2026-01-09 09:00", 2),
            (Times{"2026-01-12 09:00:00", "2026-01-13 09:00:00"}));
}

TEST(CronSchedule, MonthAndYearEnds) {
  EXPECT_EQ(fires("0 0 1 * *", "2026-01-31 12:00", 1), (Times{"2026-02-01 00:00:00"}));
  EXPECT_EQ(fires("0 0 1 * *", "2026-12-15 00:00", 2), (Times{"2027-01-01 00:00:00", "2027-02-01 00:00:00"}));
  EXPECT_EQ(fires("59 23 31 12 *", "2026-12-31 23:59", 1), (Times{"2027-12-31 23:59:00"}));
  EXPECT_EQ(fires("0 0 31 * *", "2026-01-31 00:00", 2),
            (Times{"2026-03-31 00:00:00", "2026-05-31 00:00:00"}));
}

TEST(CronSchedule, LeapDay) {
  EXPECT_EQ(fires("0 0 29 2 *", "2026-03-01 00:00", 2),
            (Times{"2028-02-29 00:00:00", "2032-02-29 00:00:00"}));
}

TEST(CronSchedule, DayOfMonthOrDayOfWeek) {
  // Both restricted: the 13th or any Friday. 2026-01-02 and 01-09 are Fridays, 01-13 a Tuesday.
  EXPECT_EQ(
      fires("0 0 13 * FRI", "2026-01-01 00:00", 4),
      (Times{"2026-01-02 00:00:00", "2026-01-09 00:00:00", "2026-01-13 00:00:00", "2026-01-16 00:00:00"}));
  // A step is a restriction too (robfig/cron): odd days or Fridays.
  EXPECT_EQ(fires("0 0 */2 * FRI", "2026-01-01 00:00", 3),
            (Times{"2026-01-02 00:00:00", "2026-01-03 00:00:00", "2026-01-05 00:00:00"}));
  // One side '*' (or '?'): the other alone decides.
  EXPECT_EQ(fires("0 0 13 * *", "2026-01-01 00:00", 1), (Times{"2026-01-13 00:00:00"}));
  EXPECT_EQ(fires("0 0 ? * FRI", "2026-01-03 00:00", 1), (Times{"2026-01-09 00:00:00"}));
  // Friday the 13th needs both; cron cannot say that, so it means "13th or Friday".
  EXPECT_EQ(fires("0 0 13 2 FRI", "2026-01-01 00:00", 2),
            (Times{"2026-02-06 00:00:00", "2026-02-13 00:00:00"}));
}

TEST(CronSchedule, Timezones) {
  // 09:00 in New York is 14:00 UTC in winter (EST) and 13:00 UTC in summer (EDT).
  EXPECT_EQ(fires("0 9 * * *", "2026-01-10 00:00", 1, "America/New_York"), (Times{"2026-01-10 14:00:00"}));
  EXPECT_EQ(fires("0 9 * * *", "2026-07-10 00:00", 1, "America/New_York"), (Times{"2026-07-10 13:00:00"}));
  // Day boundaries are local: Monday 00:30 in Tokyo is Sunday 15:30 UTC.
  EXPECT_EQ(fires("30 0 * * MON", "2026-01-05 00:00", 1, "Asia/Tokyo"), (Times{"2026-01-11 15:30:00"}));
  // A half-hour offset.
  EXPECT_EQ(fires("0 9 * * *", "2026-01-10 00:00", 1, "Asia/Kolkata"), (Times{"2026-01-10 03:30:00"}));
  EXPECT_EQ(fires("0 9 * * *", "2026-01-10 00:00", 1, "UTC"), (Times{"2026-01-10 09:00:00"}));
}

TEST(CronSchedule, SpringForwardSkipsTheMissingTime) {
  // New York 2026-03-08: 02:00 EST (07:00 UTC) jumps to 03:00 EDT, so 02:30 does not exist.
  EXPECT_EQ(fires("30 2 * * *", "2026-03-08 05:00", 2, "America/New_York"),
            (Times{"2026-03-09 06:30:00", "2026-03-10 06:30:00"}));
  EXPECT_EQ(fires("30 2 * * *", "2026-03-07 05:00", 2, "America/New_York"),
            (Times{"2026-03-07 07:30:00", "2026-03-09 06:30:00"}));
  // Hourly runs stay an hour apart in real time: 01:00 EST, 03:00 EDT, 04:00 EDT.
  EXPECT_EQ(fires("0 * * * *", "2026-03-08 05:30", 3, "America/New_York"),
            (Times{"2026-03-08 06:00:00", "2026-03-08 07:00:00", "2026-03-08 08:00:00"}));
  // Chile skips local midnight (2026-09-06 00:00 -04 becomes 01:00 -03): @daily skips that day.
  EXPECT_EQ(fires("@daily", "2026-09-05 12:00", 2, "America/Santiago"),
            (Times{"2026-09-07 03:00:00", "2026-09-08 03:00:00"}));
}

TEST(CronSchedule, FallBackRunsAFixedTimeOnce) {
  // New York 2026-11-01: 02:00 EDT (06:00 UTC) falls back to 01:00 EST, so 01:00-01:59 happens twice.
  EXPECT_EQ(fires("30 1 * * *", "2026-11-01 04:00", 2, "America/New_York"),
            (Times{"2026-11-01 05:30:00", "2026-11-02 06:30:00"}));
  // Asked from inside the repeated hour.
  EXPECT_EQ(fires("30 1 * * *", "2026-11-01 06:10", 1, "America/New_York"), (Times{"2026-11-02 06:30:00"}));
  EXPECT_EQ(fires("30 2 * * *", "2026-11-01 04:00", 1, "America/New_York"), (Times{"2026-11-01 07:30:00"}));
  EXPECT_EQ(fires("0,30 0-2 1 11 *", "2026-11-01 03:00", 7, "America/New_York"),
            (Times{"2026-11-01 04:00:00", "2026-11-01 04:30:00", "2026-11-01 05:00:00", "2026-11-01 05:30:00",
                   "2026-11-01 07:00:00", "2026-11-01 07:30:00", "2027-11-01 04:00:00"}));
}

TEST(CronSchedule, FallBackKeepsWildcardRhythm) {
  // '*' in the minute or hour field: the repeated hour runs again, as in cron(8) and robfig/cron.
  EXPECT_EQ(fires("0 * * * *", "2026-11-01 04:30", 3, "America/New_York"),
            (Times{"2026-11-01 05:00:00", "2026-11-01 06:00:00", "2026-11-01 07:00:00"}));
  EXPECT_EQ(
      fires("*/30 1 * * *", "2026-11-01 05:15", 4, "America/New_York"),
      (Times{"2026-11-01 05:30:00", "2026-11-01 06:00:00", "2026-11-01 06:30:00", "2026-11-02 06:00:00"}));
}

TEST(CronSchedule, NeverFiresWithinFiveYears) {
  EXPECT_EQ(must_parse("0 0 30 2 *").next_after(utc("2026-01-01 00:00")), -1);
  EXPECT_EQ(must_parse("0 0 31 4,6,9,11 *").next_after(utc("2026-01-01 00:00")), -1);
  EXPECT_EQ(must_parse("0 0 30 2 *", "Europe/Berlin").next_after(utc("2026-01-01 00:00")), -1);
}

TEST(CronSchedule, SearchSkipsWholeUnits) {
  // 20000 searches over five empty years each: minute-by-minute this would take hours.
  CronSchedule never = must_parse("0 0 30 2 *", "America/New_York");
  CronSchedule rare = must_parse("0 0 29 2 *", "America/New_York");
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10000; ++i) {
    EXPECT_EQ(never.next_after(utc("2026-01-01 00:00") + i * 60000LL), -1);
    EXPECT_EQ(show(rare.next_after(utc("2026-01-01 00:00") + i * 60000LL)), "2028-02-29 05:00:00");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

}  // namespace
}  // namespace skiff::server
