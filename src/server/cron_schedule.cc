#include "server/cron_schedule.h"

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <string_view>
#include <vector>

namespace skiff::server {
namespace {

constexpr int64_t kMinute = 60;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kHorizon = 5 * 366 * kDay;  // next_after gives up after five years
// Inputs outside years 1-9999 are answered with -1 instead of risking overflow.
constexpr int64_t kMinMs = -62135596800000;
constexpr int64_t kMaxMs = 253402300799999;

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kWeekdayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

// How one of the five fields is written.
struct FieldKind {
  const char* name;
  int min;
  int max;                   // what '*' covers, and where "5/10" stops
  int max_value;             // the largest value that may be written (7 = Sunday for day-of-week)
  const char* const* names;  // 3-letter names for min, min+1, ...; nullptr if none
  int name_count;
  const char* name_noun;  // "month" in `month "FOO" is not a month name`
  const char* hint;       // how to write a value, for error messages
  bool is_day;            // '?' may stand for '*'
};

constexpr FieldKind kMinuteField{"minute", 0, 59, 59, nullptr, 0, "", "0-59", false};
constexpr FieldKind kHourField{"hour", 0, 23, 23, nullptr, 0, "", "0-23", false};
constexpr FieldKind kDomField{"day-of-month", 1, 31, 31, nullptr, 0, "", "1-31", true};
constexpr FieldKind kMonthField{"month", 1, 12, 12, kMonthNames, 12, "month", "1-12 or JAN-DEC", false};
constexpr FieldKind kDowField{"day-of-week", 0, 6, 7, kWeekdayNames, 7, "day", "0-7 or SUN-SAT", true};

struct ParsedField {
  uint64_t bits = 0;
  bool star = false;          // unrestricted: '*' or '?' without a step (robfig's starBit)
  bool written_star = false;  // some element starts with '*', step or not ("*/15")
};

int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}
int64_t ceil_to_minute(int64_t s) {
  return -floor_div(-s, kMinute) * kMinute;
}

template <size_t N>
int next_set(const std::bitset<N>& bits, int from) {
  for (int i = from; i < static_cast<int>(N); ++i)
    if (bits[i]) return i;
  return -1;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() <= 9 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool all_letters(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

std::vector<std::string_view> split_whitespace(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// Parses and checks every field of one schedule; errors read `schedule "<text>": ...`.
class FieldParser {
 public:
  explicit FieldParser(const std::string& text) : text_(text) {}

  Status error(const std::string& what) const {
    return invalid(fmt::format("schedule \"{}\": {}", text_, what));
  }

  Result<ParsedField> parse(std::string_view field, const FieldKind& kind) const {
    ParsedField out;
    for (std::string_view element : split(field, ',')) {
      Status s = parse_element(element, kind, &out);
      if (!s.is_ok()) return s;
    }
    return out;
  }

 private:
  Status parse_element(std::string_view element, const FieldKind& kind, ParsedField* out) const {
    size_t slash = element.find('/');
    std::string_view range = element.substr(0, slash);
    int step = 1;
    if (slash != std::string_view::npos) {
      std::string_view step_text = element.substr(slash + 1);
      if (!all_digits(step_text) || std::stoi(std::string(step_text)) == 0)
        return error(
            fmt::format("{} step \"{}\" in \"{}\" must be a positive number", kind.name, step_text, element));
      step = std::stoi(std::string(step_text));
    }

    int lo = 0;
    int hi = 0;
    if (range == "*" || range == "?") {
      if (range == "?" && !kind.is_day)
        return error(
            fmt::format("{} \"?\" is only allowed in day-of-month and day-of-week (use *)", kind.name));
      lo = kind.min;
      hi = kind.max;
      out->written_star = true;
      if (step == 1) out->star = true;
    } else {
      size_t dash = range.find('-');
      Result<int> first = value(range.substr(0, dash), element, kind);
      if (!first.is_ok()) return first.status();
      lo = hi = *first;
      if (dash != std::string_view::npos) {
        Result<int> last = value(range.substr(dash + 1), element, kind);
        if (!last.is_ok()) return last.status();
        hi = *last;
        if (lo > hi)
          return error(fmt::format(
              "{} range \"{}\" runs backwards (write the smaller value first, or a list)", kind.name, range));
      } else if (slash != std::string_view::npos) {
        hi = std::max(kind.max, lo);  // "5/10" means 5, 15, 25, ... up to the field's end
      }
    }
    // Bits are indexed by value; day-of-week 7 is Sunday, bit 0.
    for (int v = lo; v <= hi; v += step) out->bits |= uint64_t{1} << (v > kind.max ? v - 7 : v);
    return Status::ok();
  }

  Result<int> value(std::string_view token, std::string_view element, const FieldKind& kind) const {
    if (all_digits(token)) {
      int v = std::stoi(std::string(token));
      if (v < kind.min || v > kind.max_value)
        return error(fmt::format("{} {} is out of range {}-{}", kind.name, v, kind.min, kind.max_value));
      return v;
    }
    if (kind.names != nullptr && all_letters(token)) {
      std::string name = lower(token);
      for (int i = 0; i < kind.name_count; ++i)
        if (name == kind.names[i]) return kind.min + i;
      return error(
          fmt::format("{} \"{}\" is not a {} name (use {})", kind.name, token, kind.name_noun, kind.hint));
    }
    return error(fmt::format("{} \"{}\" is not valid (use {}, *, a list 1,2, a range 1-5 or a step */15)",
                             kind.name, element, kind.hint));
  }

  const std::string& text_;
};

const char* macro_fields(const std::string& macro) {
  if (macro == "@yearly" || macro == "@annually") return "0 0 1 1 *";
  if (macro == "@monthly") return "0 0 1 * *";
  if (macro == "@weekly") return "0 0 * * 0";
  if (macro == "@daily" || macro == "@midnight") return "0 0 * * *";
  if (macro == "@hourly") return "0 * * * *";
  return nullptr;
}

Result<const date::time_zone*> find_zone(const std::string& name) {
  if (name.empty() || name == "UTC" || name == "Etc/UTC") return static_cast<const date::time_zone*>(nullptr);
  try {
    date::get_tzdb();
  } catch (const std::exception& e) {
    return Status(
        Code::kInternal,
        fmt::format("cannot load the time zone database from /usr/share/zoneinfo (install tzdata): {}",
                    e.what()));
  }
  try {
    const date::time_zone* zone = date::locate_zone(name);
    // Loads the zone's rules now, so next_after never meets an I/O error.
    zone->get_info(date::sys_seconds{});
    return zone;
  } catch (const std::exception&) {
    return invalid(fmt::format("unknown timezone \"{}\" (use an IANA name such as Europe/Paris)", name));
  }
}

}  // namespace

Result<CronSchedule> CronSchedule::parse(const std::string& text, const std::string& timezone) {
  FieldParser parser(text);
  std::vector<std::string_view> fields = split_whitespace(text);
  if (fields.empty())
    return invalid(
        "schedule is empty (write five fields such as \"*/15 * * * *\" or a macro such as @daily)");

  std::string zone_name = timezone;
  for (std::string_view prefix : {std::string_view("CRON_TZ="), std::string_view("TZ=")}) {
    if (fields[0].substr(0, prefix.size()) != prefix) continue;
    zone_name = std::string(fields[0].substr(prefix.size()));
    if (zone_name.empty())
      return parser.error(fmt::format("{} needs a zone name, as in {}Europe/Paris", prefix, prefix));
    fields.erase(fields.begin());
    break;
  }
  if (fields.empty()) return parser.error("expected five fields after the timezone");

  if (fields[0][0] == '@') {
    std::string macro = lower(fields[0]);
    const char* expansion = macro_fields(macro);
    if (expansion == nullptr)
      return parser.error(fmt::format(
          "unknown macro \"{}\" (use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)",
          fields[0]));
    if (fields.size() > 1)
      return parser.error(
          fmt::format("{} takes no fields (write it alone, or five fields instead)", fields[0]));
    fields = split_whitespace(expansion);
  }
  if (fields.size() != 5)
    return parser.error(
        fmt::format("expected 5 fields (minute hour day-of-month month day-of-week), found {}{}",
                    fields.size(), fields.size() == 6 ? " (a seconds field is not supported)" : ""));

  CronSchedule schedule;
  schedule.text_ = text;
  const FieldKind* kinds[] = {&kMinuteField, &kHourField, &kDomField, &kMonthField, &kDowField};
  ParsedField parsed[5];
  for (int i = 0; i < 5; ++i) {
    Result<ParsedField> field = parser.parse(fields[i], *kinds[i]);
    if (!field.is_ok()) return field.status();
    parsed[i] = *field;
  }
  schedule.minutes_ = std::bitset<60>(parsed[0].bits);
  schedule.hours_ = std::bitset<24>(parsed[1].bits);
  schedule.days_of_month_ = std::bitset<32>(parsed[2].bits);
  schedule.months_ = std::bitset<13>(parsed[3].bits);
  schedule.weekdays_ = std::bitset<7>(parsed[4].bits);
  schedule.dom_star_ = parsed[2].star;
  schedule.dow_star_ = parsed[4].star;
  schedule.repeats_at_fall_back_ = parsed[0].written_star || parsed[1].written_star;

  Result<const date::time_zone*> zone = find_zone(zone_name);
  if (!zone.is_ok()) return zone.status();
  schedule.zone_ = *zone;
  return schedule;
}

bool CronSchedule::day_matches(unsigned day_of_month, unsigned weekday) const {
  // Standard cron: two restricted day fields widen each other ("1,15 * MON" is the 1st, the
  // 15th and every Monday); a '*' in either leaves the other to decide alone.
  bool dom = days_of_month_[day_of_month];
  bool dow = weekdays_[weekday];
  return (dom_star_ || dow_star_) ? dom && dow : dom || dow;
}

// Local times are seconds since 1970-01-01 00:00 on the zone's wall clock. Each test below
// either accepts the current unit or jumps to the start of the next one, so a year costs a
// few dozen steps, not half a million minutes.
int64_t CronSchedule::first_match(int64_t t, int64_t limit) const {
  t = ceil_to_minute(t);
  while (t < limit) {
    const int64_t day = floor_div(t, kDay);
    const date::sys_days civil_day{date::days{day}};
    const date::year_month_day ymd{civil_day};
    const unsigned month = static_cast<unsigned>(ymd.month());
    if (!months_[month]) {
      const int year = static_cast<int>(ymd.year()) + (month == 12 ? 1 : 0);
      const unsigned next_month = month == 12 ? 1 : month + 1;
      t = date::sys_days{date::year{year} / date::month{next_month} / 1}.time_since_epoch().count() * kDay;
      continue;
    }
    if (!day_matches(static_cast<unsigned>(ymd.day()), date::weekday{civil_day}.c_encoding())) {
      t = (day + 1) * kDay;
      continue;
    }
    const int hour = static_cast<int>((t - day * kDay) / kHour);
    const int minute = static_cast<int>((t - day * kDay - hour * kHour) / kMinute);
    const int next_hour = next_set(hours_, hour);
    if (next_hour < 0) {
      t = (day + 1) * kDay;
      continue;
    }
    if (next_hour != hour) {
      t = day * kDay + next_hour * kHour;
      continue;
    }
    const int next_minute = next_set(minutes_, minute);
    if (next_minute < 0) {
      t = day * kDay + (hour + 1) * kHour;
      continue;
    }
    t = day * kDay + hour * kHour + next_minute * kMinute;
    return t < limit ? t : -1;
  }
  return -1;
}

// The search walks the zone's offset periods (the spans between DST transitions) in order.
// Within one period wall-clock time runs in step with real time, so the first match there
// is the answer. Worked example, "30 1 * * *" in America/New_York on 2026-11-01:
//   period A (EDT, -4h) ends 06:00 UTC, shows wall times up to 02:00 -> 01:30 EDT fires;
//   period B (EST, -5h) starts at wall time 01:00, so 01:00-02:00 is shown a second time.
//   Asked again after 01:30 EDT, A has nothing left; in B the search starts at 02:00 wall
//   time (the repeat is skipped) and finds 01:30 EST on 11-02. A "*/15" schedule would
//   instead search B from 01:00 and fire at 01:00, 01:15, ... EST.
// A spring-forward gap belongs to no period, so its wall times are never found.
int64_t CronSchedule::next_after(int64_t after_ms) const {
  if (after_ms < kMinMs || after_ms > kMaxMs) return -1;
  // Firing times are whole seconds; the first candidate is the next whole second.
  int64_t from = floor_div(after_ms, 1000) + 1;
  const int64_t horizon = from + kHorizon;
  try {
    while (from < horizon) {
      int64_t offset = 0;
      int64_t end = horizon;
      int64_t local_from = from;
      if (zone_ != nullptr) {
        const date::sys_info info = zone_->get_info(date::sys_seconds{std::chrono::seconds{from}});
        offset = info.offset.count();
        end = std::min<int64_t>(info.end.time_since_epoch().count(), horizon);
        local_from = from + offset;
        const int64_t begin = info.begin.time_since_epoch().count();
        // Only a transition within the last two days can have repeated wall times still ahead.
        if (!repeats_at_fall_back_ && begin > from - 2 * kDay) {
          const date::sys_info before = zone_->get_info(info.begin - std::chrono::seconds{1});
          const int64_t before_offset = before.offset.count();
          if (before_offset > offset) local_from = std::max(local_from, begin + before_offset);
        }
      }
      const int64_t local = first_match(local_from, end + offset);
      if (local >= 0) return (local - offset) * 1000;
      from = end;
    }
  } catch (const std::exception&) {
    // The zone's rules were loaded by parse(); nothing here should throw.
  }
  return -1;
}

}  // namespace skiff::server
