// CronSchedule: one parsed CronWorkflow schedule and the arithmetic of when it fires next.
//
// Accepts what Kubernetes and Argo accept (robfig/cron's standard parser): five fields
// "minute hour day-of-month month day-of-week" with *, lists, ranges and steps, JAN-DEC and
// SUN-SAT names (any case), day-of-week 7 for Sunday, '?' for '*' in the two day fields,
// the macros @yearly @annually @monthly @weekly @daily @midnight @hourly, and an optional
// "CRON_TZ=Zone " or "TZ=Zone " prefix that overrides the timezone argument.
//
// Times are Unix epoch milliseconds; the fields are matched against wall-clock time in the
// schedule's zone. Daylight-saving rules (see next_after) follow robfig/cron for skipped
// times and cron(8) for repeated ones.
//
// A CronSchedule is an immutable value: copy it freely and call next_after from any number
// of threads at once. Time zone data comes from the system tz database
// (/usr/share/zoneinfo), loaded once per process.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>

#include "util/status.h"

namespace date {
class time_zone;
}

namespace skiff::server {

class CronSchedule {
 public:
  // `timezone` is an IANA name such as "America/New_York"; "" means UTC. Errors are
  // kInvalid and name the schedule, the field and the bad value.
  static Result<CronSchedule> parse(const std::string& text, const std::string& timezone);

  // The first firing time strictly after `after_ms`: a whole minute of the zone's local
  // time, as epoch ms. A local time skipped by a spring-forward gap does not fire that day.
  // A local time repeated at fall-back fires once, at its first occurrence, unless the
  // minute or hour field is written with '*' (e.g. "*/15 * * * *", "0 * * * *"): such
  // schedules keep their rhythm through the repeated hour, as in cron(8).
  // Returns -1 if the schedule does not fire within 5 years (e.g. "0 0 30 2 *").
  int64_t next_after(int64_t after_ms) const;

  // The schedule exactly as given to parse().
  const std::string& text() const { return text_; }

 private:
  CronSchedule() = default;

  bool day_matches(unsigned day_of_month, unsigned weekday) const;
  // First local minute in [from, limit) (seconds since the local epoch) matching every field,
  // or -1.
  int64_t first_match(int64_t from, int64_t limit) const;

  std::string text_;
  const date::time_zone* zone_ = nullptr;  // nullptr means UTC; points into the static tz db
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_of_month_;      // bits 1-31
  std::bitset<13> months_;             // bits 1-12
  std::bitset<7> weekdays_;            // bit 0 is Sunday
  bool dom_star_ = false;              // day-of-month was * or ?: only day-of-week restricts days
  bool dow_star_ = false;              // day-of-week was * or ?: only day-of-month restricts days
  bool repeats_at_fall_back_ = false;  // minute or hour written with '*'
};

}  // namespace skiff::server
