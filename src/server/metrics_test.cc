// MetricsRegistry: the exact exposition text for each type, escaping, ordering, and the
// samples it drops (type mismatch, invalid names, series beyond the cap).
#include "server/metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

#include "engine/operator.h"

namespace skiff::server {
namespace {

engine::MetricSample sample(std::string name, engine::MetricSample::Type type, double v,
                            std::vector<std::pair<std::string, std::string>> labels = {}) {
  engine::MetricSample s;
  s.name = std::move(name);
  s.help = "help for " + s.name;
  s.type = type;
  s.value = v;
  s.labels = std::move(labels);
  return s;
}

using T = engine::MetricSample::Type;

}  // namespace

TEST(MetricsRegistry, GaugeSetsAndCounterAdds) {
  MetricsRegistry r;
  r.record(sample("exec_duration_gauge", T::kGauge, 3.25, {{"name", "build"}}));
  r.record(sample("exec_duration_gauge", T::kGauge, 12.5, {{"name", "build"}}));
  r.record(sample("exec_duration_gauge", T::kGauge, 7, {{"name", "deploy"}}));
  r.record(sample("result_counter", T::kCounter, 1, {{"status", "Succeeded"}}));
  r.record(sample("result_counter", T::kCounter, 1, {{"status", "Failed"}}));
  r.record(sample("result_counter", T::kCounter, 1, {{"status", "Succeeded"}}));
  EXPECT_EQ(r.render(),
            "# HELP argo_workflows_exec_duration_gauge help for exec_duration_gauge\n"
            "# TYPE argo_workflows_exec_duration_gauge gauge\n"
            "argo_workflows_exec_duration_gauge{name=\"build\"} 12.5\n"
            "argo_workflows_exec_duration_gauge{name=\"deploy\"} 7\n"
            "# HELP argo_workflows_result_counter help for result_counter\n"
            "# TYPE argo_workflows_result_counter counter\n"
            "argo_workflows_result_counter{status=\"Failed\"} 1\n"
            "argo_workflows_result_counter{status=\"Succeeded\"} 2\n");
}

// A family rebuilt from state at each scrape (argocd_app_info): series that are gone go.
TEST(MetricsRegistry, ReplaceGaugesKeepsOnlyTheGivenSeries) {
  MetricsRegistry r;
  r.replace_gauges("argocd_app_info", "Information about application.",
                   {{{{"name", "a"}, {"sync_status", "OutOfSync"}}, 1}, {{{"name", "b"}, {"sync_status", "Synced"}}, 1}});
  r.replace_gauges("argocd_app_info", "Information about application.", {{{{"name", "a"}, {"sync_status", "Synced"}}, 1}});
  EXPECT_EQ(r.render(),
            "# HELP argocd_app_info Information about application.\n"
            "# TYPE argocd_app_info gauge\n"
            "argocd_app_info{name=\"a\",sync_status=\"Synced\"} 1\n");
}

TEST(MetricsRegistry, HistogramBucketsAreCumulative) {
  MetricsRegistry r;
  for (double v : {0.5, 3.0, 9.0, 5.0})
    r.observe("build_seconds", "Build time", {{"repo", "app"}}, v, {5, 1});
  r.observe("build_seconds", "Build time", {}, 0.25, {100});  // buckets stay the family's first
  EXPECT_EQ(r.render(),
            "# HELP build_seconds Build time\n"
            "# TYPE build_seconds histogram\n"
            "build_seconds_bucket{le=\"1\"} 1\n"
            "build_seconds_bucket{le=\"5\"} 1\n"
            "build_seconds_bucket{le=\"+Inf\"} 1\n"
            "build_seconds_sum 0.25\n"
            "build_seconds_count 1\n"
            "build_seconds_bucket{repo=\"app\",le=\"1\"} 1\n"
            "build_seconds_bucket{repo=\"app\",le=\"5\"} 3\n"
            "build_seconds_bucket{repo=\"app\",le=\"+Inf\"} 4\n"
            "build_seconds_sum{repo=\"app\"} 17.5\n"
            "build_seconds_count{repo=\"app\"} 4\n");
}

TEST(MetricsRegistry, EscapesAndSortsLabelsAndFamilies) {
  MetricsRegistry r;
  r.set_gauge("zz_last", "a \\ backslash\nand a newline", {{"b", "x"}, {"a", "say \"hi\"\\\n"}}, 0.1);
  r.set_gauge("aa_first", "first", {}, -2);
  r.set_gauge("big", "large values", {}, 1e20);
  r.set_gauge("not_a_number", "nan", {}, std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(r.render(),
            "# HELP aa_first first\n"
            "# TYPE aa_first gauge\n"
            "aa_first -2\n"
            "# HELP big large values\n"
            "# TYPE big gauge\n"
            "big 1e+20\n"
            "# HELP not_a_number nan\n"
            "# TYPE not_a_number gauge\n"
            "not_a_number NaN\n"
            "# HELP zz_last a \\\\ backslash\\nand a newline\n"
            "# TYPE zz_last gauge\n"
            "zz_last{a=\"say \\\"hi\\\"\\\\\\n\",b=\"x\"} 0.1\n");
}

TEST(MetricsRegistry, KeepsTheFirstTypeAndDropsBadSamples) {
  MetricsRegistry r;
  r.add_counter("runs", "Runs", {{"k", "v"}});
  r.set_gauge("runs", "Runs as a gauge", {{"k", "v"}}, 100);  // another type: dropped
  r.observe("runs", "Runs", {}, 1, {1});                      // likewise
  r.add_counter("runs", "Runs", {{"k", "v"}}, -5);            // counters never go down
  r.add_counter("bad-name", "h", {});                         // invalid metric name
  r.add_counter("runs", "h", {{"bad key", "v"}});             // invalid label name
  r.observe("h", "h", {{"le", "x"}}, 1, {1});                 // le is the histogram's own
  r.add_counter("runs", "Runs", {{"k", "v"}}, 2.5);
  EXPECT_EQ(r.render(),
            "# HELP runs Runs\n"
            "# TYPE runs counter\n"
            "runs{k=\"v\"} 3.5\n");
}

TEST(MetricsRegistry, CapsSeriesPerFamily) {
  MetricsRegistry r;
  for (size_t i = 0; i < MetricsRegistry::kMaxSeriesPerFamily + 5; ++i)
    r.set_gauge("g", "h", {{"id", std::to_string(i)}}, 1);
  r.set_gauge("g", "h", {{"id", "0"}}, 2);  // an existing series still updates
  std::string out = r.render();
  size_t lines = std::count(out.begin(), out.end(), '\n');
  EXPECT_EQ(lines, MetricsRegistry::kMaxSeriesPerFamily + 2);
  EXPECT_NE(out.find("g{id=\"0\"} 2\n"), std::string::npos);
  EXPECT_EQ(out.find("g{id=\"10000\"}"), std::string::npos);
}

}  // namespace skiff::server
