#include "cd/render.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

namespace fs = std::filesystem;

namespace skiff::cd {
namespace {

// A checkout made by each test: files written under a fresh temporary directory.
class RenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/skiff-render-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const std::string& rel, const std::string& text) {
    fs::path p = fs::path(root_) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  std::string read(const std::string& rel) {
    std::ifstream in(fs::path(root_) / rel);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  RenderRequest request(const std::string& path) {
    RenderRequest r;
    r.source.path = path;
    r.root = root_;
    r.app_name = "guestbook";
    r.namespace_ = "apps";
    return r;
  }
  static std::vector<std::string> names(const std::vector<nlohmann::json>& objects) {
    std::vector<std::string> out;
    for (const auto& o : objects) out.push_back(o["kind"].get<std::string>() + "/" + o["metadata"]["name"].get<std::string>());
    return out;
  }
  static std::string config_map(const std::string& name) {
    return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  n: \"1\"\n";
  }
  std::string executable(const std::string& rel, const std::string& text) {
    write(rel, text);
    fs::path p = fs::path(root_) / rel;
    ::chmod(p.c_str(), 0755);
    return p.string();
  }
  std::string root_;
};

bool have(const char* tool) { return find_tool(tool).is_ok(); }

#define NEED(tool) \
  if (!have(tool)) GTEST_SKIP() << tool << " is not built (scripts/cd-tools-build)"

TEST_F(RenderTest, DirectoryReadsManifestFilesInOrderSkippingEmptyDocuments) {
  write("app/b.json", R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web"}})");
  write("app/a.yaml", config_map("one") + "---\n---\n# only a comment\n---\n" + config_map("two"));
  write("app/notes.txt", "not a manifest");
  write("app/sub/c.yaml", config_map("deep"));
  write("app/values.yaml", "replicas: 3\nimage: nginx\n");  // not Kubernetes: skipped as Argo CD does
  auto out = render(request("app"));
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_EQ(names(*out), (std::vector<std::string>{"ConfigMap/one", "ConfigMap/two", "Service/web"}));
  EXPECT_EQ((*out)[0]["data"]["n"], "1");
  EXPECT_EQ(*source_type(request("app")), "Directory");
}

TEST_F(RenderTest, DirectoryRecurseIncludeAndExclude) {
  write("app/a.yaml", config_map("a"));
  write("app/sub/b.yaml", config_map("b"));
  write("app/sub/deeper/c.yml", config_map("c"));
  write("app/sub/skip.yaml", config_map("skip"));
  auto r = request("app");
  r.source.directory = spec::DirectorySource{};
  r.source.directory->recurse = true;
  auto all = render(r);
  ASSERT_TRUE(all.is_ok()) << all.status().message();
  EXPECT_EQ(names(*all), (std::vector<std::string>{"ConfigMap/a", "ConfigMap/b", "ConfigMap/c", "ConfigMap/skip"}));

  r.source.directory->include = "{a.yaml,sub/*}";  // * crosses '/' as in Argo CD
  r.source.directory->exclude = "*skip*";
  auto some = render(r);
  ASSERT_TRUE(some.is_ok()) << some.status().message();
  EXPECT_EQ(names(*some), (std::vector<std::string>{"ConfigMap/a", "ConfigMap/b", "ConfigMap/c"}));

  r.source.directory->recurse = false;
  auto top = render(r);
  ASSERT_TRUE(top.is_ok());
  EXPECT_EQ(names(*top), (std::vector<std::string>{"ConfigMap/a"}));
}

TEST_F(RenderTest, ListKindsAreFlattened) {
  write("app/list.yaml",
        "apiVersion: v1\nkind: List\nitems:\n- " + std::string("apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: x}\n") +
            "- apiVersion: v1\n  kind: Secret\n  metadata: {name: y}\n");
  write("app/cms.json",
        R"({"apiVersion":"v1","kind":"ConfigMapList","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"z"}}]})");
  auto out = render(request("app"));
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_EQ(names(*out), (std::vector<std::string>{"ConfigMap/z", "ConfigMap/x", "Secret/y"}));
}

TEST_F(RenderTest, BadYamlNamesFileAndLine) {
  write("app/good.yaml", config_map("ok"));
  write("app/bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n");
  auto out = render(request("app"));
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), Code::kInvalid);
  EXPECT_NE(out.status().message().find("app/bad.yaml:"), std::string::npos) << out.status().message();
}

TEST_F(RenderTest, DocumentWithoutKindAmongObjectsIsAnError) {
  write("app/mixed.yaml", config_map("ok") + "---\napiVersion: v1\nmetadata:\n  name: nokind\n");
  auto out = render(request("app"));
  ASSERT_FALSE(out.is_ok());
  EXPECT_NE(out.status().message().find("app/mixed.yaml"), std::string::npos) << out.status().message();
  EXPECT_NE(out.status().message().find("not a Kubernetes object"), std::string::npos);
}

TEST_F(RenderTest, PathsEscapingTheCheckoutAreRefused) {
  write("app/a.yaml", config_map("a"));
  auto up = render(request("../"));
  ASSERT_FALSE(up.is_ok());
  EXPECT_NE(up.status().message().find("leaves the repository"), std::string::npos) << up.status().message();
  EXPECT_FALSE(render(request("/etc")).is_ok());
  EXPECT_FALSE(render(request("missing")).is_ok());

  fs::create_symlink("/etc/hostname", fs::path(root_) / "app/host.yaml");
  auto link = render(request("app"));
  ASSERT_FALSE(link.is_ok());
  EXPECT_NE(link.status().message().find("app/host.yaml: a symlink to outside"), std::string::npos)
      << link.status().message();

  fs::remove(fs::path(root_) / "app/host.yaml");
  fs::create_directory_symlink("/etc", fs::path(root_) / "etc-link");
  auto dir = render(request("etc-link"));
  ASSERT_FALSE(dir.is_ok());
  EXPECT_NE(dir.status().message().find("leaves the repository"), std::string::npos);
}

TEST_F(RenderTest, LimitsOnObjectsAndBytes) {
  write("app/a.yaml", config_map("a") + "---\n" + config_map("b") + "---\n" + config_map("c"));
  RenderOptions options;
  options.max_objects = 2;
  auto many = render(request("app"), options);
  ASSERT_FALSE(many.is_ok());
  EXPECT_NE(many.status().message().find("more than 2"), std::string::npos) << many.status().message();
  options = {};
  options.max_bytes = 20;
  EXPECT_FALSE(render(request("app"), options).is_ok());
}

TEST_F(RenderTest, SourceTypeAsArgoCdDecides) {
  write("k/kustomization.yaml", "resources: []\n");
  write("k/Chart.yaml", "apiVersion: v2\nname: x\nversion: 0.1.0\n");
  write("h/Chart.yaml", "apiVersion: v2\nname: x\nversion: 0.1.0\n");
  write("k2/Kustomization", "resources: []\n");
  write("d/a.yaml", config_map("a"));
  EXPECT_EQ(*source_type(request("k")), "Kustomize");
  EXPECT_EQ(*source_type(request("k2")), "Kustomize");
  EXPECT_EQ(*source_type(request("h")), "Helm");
  EXPECT_EQ(*source_type(request("d")), "Directory");
  auto r = request("d");
  r.source.helm = spec::HelmSource{};
  EXPECT_EQ(*source_type(r), "Helm");  // explicit wins
  r.source.kustomize = spec::KustomizeSource{};
  EXPECT_FALSE(source_type(r).is_ok());
  auto chart = request("d");
  chart.source.chart = "nginx";
  EXPECT_EQ(*source_type(chart), "Helm");  // a chart from a Helm repository (chart.h)
  chart.source.directory = spec::DirectorySource{};
  EXPECT_FALSE(source_type(chart).is_ok());
}

TEST_F(RenderTest, FindToolPrefersTheConfiguredPath) {
  EXPECT_EQ(find_tool("kustomize", "/nonexistent/kustomize").status().code(), Code::kNotFound);
  std::string fake = executable("bin/kustomize", "#!/bin/sh\nexit 0\n");
  EXPECT_EQ(*find_tool("kustomize", fake), fake);
  ::setenv("SKIFF_KUSTOMIZE", fake.c_str(), 1);
  EXPECT_EQ(*find_tool("kustomize"), fake);
  ::unsetenv("SKIFF_KUSTOMIZE");
}

TEST_F(RenderTest, ProgramThatRunsTooLongIsStopped) {
  write("k/kustomization.yaml", "resources: []\n");
  RenderOptions options;
  options.kustomize = executable("bin/kustomize", "#!/bin/sh\nexec /bin/sleep 30\n");
  options.timeout_ms = 300;
  auto start = std::chrono::steady_clock::now();
  auto out = render(request("k"), options);
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), Code::kDeadline) << out.status().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

using Writer = std::function<void(const std::string&, const std::string&)>;
void write_chart(const Writer& write);

void write_kustomize_fixture(const Writer& write) {
  write("base/kustomization.yaml", "resources:\n- deploy.yaml\n- cm.yaml\n");
  write("base/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n"
        "  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n"
        "        image: nginx:1.25\n");
  write("base/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: base\n");
  write("overlays/prod/kustomization.yaml",
        "resources:\n- ../../base\nnamePrefix: prod-\npatches:\n- patch: |-\n    apiVersion: v1\n    kind: ConfigMap\n"
        "    metadata:\n      name: settings\n    data:\n      mode: prod\n");
}

TEST_F(RenderTest, KustomizeBuildsAnOverlayOverItsBase) {
  NEED("kustomize");
  write_kustomize_fixture([&](const std::string& p, const std::string& t) { write(p, t); });
  ASSERT_EQ(*source_type(request("overlays/prod")), "Kustomize");
  auto out = render(request("overlays/prod"));
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_EQ(names(*out), (std::vector<std::string>{"ConfigMap/prod-settings", "Deployment/prod-web"}));
  EXPECT_EQ((*out)[0]["data"]["mode"], "prod");
  EXPECT_FALSE((*out)[0]["metadata"].contains("namespace"));  // kustomize is not given the destination's
}

TEST_F(RenderTest, KustomizeOverridesApplyInAScratchCopy) {
  NEED("kustomize");
  write_kustomize_fixture([&](const std::string& p, const std::string& t) { write(p, t); });
  std::string before = read("overlays/prod/kustomization.yaml");
  auto r = request("overlays/prod");
  r.source.kustomize = spec::KustomizeSource{};
  auto& k = *r.source.kustomize;
  k.images = {"nginx=registry.local/nginx:1.27"};
  k.name_prefix = "x-";
  k.name_suffix = "-v2";
  k.common_labels = {{"team", "blue"}};
  k.common_annotations = {{"owner", "ops"}};
  k.namespace_ = "shop";
  auto out = render(r);
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_EQ(names(*out), (std::vector<std::string>{"ConfigMap/x-settings-v2", "Deployment/x-web-v2"}));
  const auto& deploy = (*out)[1];
  EXPECT_EQ(deploy["spec"]["template"]["spec"]["containers"][0]["image"], "registry.local/nginx:1.27");
  EXPECT_EQ(deploy["metadata"]["labels"]["team"], "blue");
  EXPECT_EQ(deploy["metadata"]["annotations"]["owner"], "ops");
  EXPECT_EQ(deploy["metadata"]["namespace"], "shop");
  EXPECT_EQ(read("overlays/prod/kustomization.yaml"), before);  // the checkout is untouched
  EXPECT_FALSE(fs::exists(fs::path(root_) / "overlays/prod/kustomization.yaml.bak"));
}

TEST_F(RenderTest, KustomizeFailureCarriesItsMessage) {
  NEED("kustomize");
  write("k/kustomization.yaml", "resources:\n- missing.yaml\n");
  auto out = render(request("k"));
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), Code::kFailed);
  EXPECT_NE(out.status().message().find("missing.yaml"), std::string::npos) << out.status().message();
}

TEST_F(RenderTest, KustomizeRefusesASymlinkOutOfTheCheckout) {
  NEED("kustomize");
  write("k/kustomization.yaml", "resources:\n- host.yaml\n");
  fs::create_symlink("/etc/passwd", fs::path(root_) / "k/host.yaml");
  auto out = render(request("k"));
  ASSERT_FALSE(out.is_ok());
  EXPECT_NE(out.status().message().find("symlink to outside"), std::string::npos) << out.status().message();
}

TEST_F(RenderTest, KustomizeReachesNoNetwork) {
  NEED("kustomize");
  write("k/kustomization.yaml", "resources:\n- https://example.com/manifests/cm.yaml\n");
  auto out = render(request("k"));
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), Code::kFailed) << out.status().message();
  write("g/kustomization.yaml", "resources:\n- github.com/example/repo//base?ref=main\n");
  EXPECT_FALSE(render(request("g")).is_ok());
}

TEST_F(RenderTest, SymlinksInsideTheCheckoutAreFollowed) {
  write("shared/cm.yaml", config_map("shared"));
  fs::create_directories(fs::path(root_) / "d");
  fs::create_symlink("../shared/cm.yaml", fs::path(root_) / "d/cm.yaml");
  auto out = render(request("d"));
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_EQ(names(*out), (std::vector<std::string>{"ConfigMap/shared"}));
  if (!have("helm")) return;  // and a checkout holding such a link is not refused for helm
  write_chart([&](const std::string& p, const std::string& t) { write(p, t); });
  auto chart = render(request("chart"));
  EXPECT_TRUE(chart.is_ok()) << chart.status().message();
}

void write_chart(const Writer& write) {
  write("chart/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n");
  write("chart/values.yaml", "color: red\nsize: 1\nport: 80\n");
  write("chart/values-prod.yaml", "color: green\n");
  write("chart/crds/crd.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n");
  write("chart/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\n  namespace: {{ .Release.Namespace }}\n"
        "data:\n  color: {{ .Values.color | quote }}\n  size: {{ .Values.size | quote }}\n"
        "  kind: {{ kindOf .Values.port }}\n");
  write("chart/templates/NOTES.txt", "thanks\n");
}

TEST_F(RenderTest, HelmTemplatesAChartWithValuesFilesAndParameters) {
  NEED("helm");
  write_chart([&](const std::string& p, const std::string& t) { write(p, t); });
  ASSERT_EQ(*source_type(request("chart")), "Helm");
  auto plain = render(request("chart"));
  ASSERT_TRUE(plain.is_ok()) << plain.status().message();
  ASSERT_EQ(names(*plain), (std::vector<std::string>{"CustomResourceDefinition/widgets.example.com", "ConfigMap/guestbook-cm"}));
  EXPECT_EQ((*plain)[1]["metadata"]["namespace"], "apps");
  EXPECT_EQ((*plain)[1]["data"]["color"], "red");

  auto r = request("chart");
  r.source.helm = spec::HelmSource{};
  auto& h = *r.source.helm;
  h.value_files = {"values-prod.yaml"};
  h.values = "size: 3\n";
  h.parameters = {{"port", "8080", true}};
  h.release_name = "shop";
  h.skip_crds = true;
  auto out = render(r);
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  ASSERT_EQ(names(*out), (std::vector<std::string>{"ConfigMap/shop-cm"}));
  EXPECT_EQ((*out)[0]["data"]["color"], "green");
  EXPECT_EQ((*out)[0]["data"]["size"], "3");
  EXPECT_EQ((*out)[0]["data"]["kind"], "string");  // --set-string

  h.parameters = {{"port", "8080", false}, {"size", "5", false}};
  out = render(r);
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_EQ((*out)[0]["data"]["kind"], "int64");
  EXPECT_EQ((*out)[0]["data"]["size"], "5");  // parameters win over values
  // "$ref/..." value files come from the source with that ref (multiple sources).
  write("values-repo/prod.yaml", "color: blue\n");
  h.parameters.clear();
  h.values.clear();
  h.value_files = {"$values/prod.yaml"};
  r.refs["values"] = root_ + "/values-repo";
  out = render(r);
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_EQ((*out)[0]["data"]["color"], "blue");
  h.value_files = {"$other/prod.yaml"};
  EXPECT_NE(render(r).status().message().find("no source of the application has ref: other"), std::string::npos);
  h.value_files = {"$values/../../etc/passwd"};
  EXPECT_EQ(render(r).status().code(), Code::kInvalid);
}

TEST_F(RenderTest, HelmValueFilesMustStayInTheCheckout) {
  NEED("helm");
  write_chart([&](const std::string& p, const std::string& t) { write(p, t); });
  auto r = request("chart");
  r.source.helm = spec::HelmSource{};
  r.source.helm->value_files = {"../../../../etc/passwd"};
  auto out = render(r);
  ASSERT_FALSE(out.is_ok());
  EXPECT_NE(out.status().message().find("leaves the repository"), std::string::npos) << out.status().message();
  r.source.helm->value_files = {"https://example.com/values.yaml"};
  EXPECT_FALSE(render(r).is_ok());
  r.source.helm->value_files = {"nope.yaml"};
  EXPECT_FALSE(render(r).is_ok());
}

TEST_F(RenderTest, HelmFailureCarriesItsMessage) {
  NEED("helm");
  write_chart([&](const std::string& p, const std::string& t) { write(p, t); });
  write("chart/templates/fail.yaml", "{{ fail \"the color must be blue\" }}\n");
  auto out = render(request("chart"));
  ASSERT_FALSE(out.is_ok());
  EXPECT_EQ(out.status().code(), Code::kFailed);
  EXPECT_NE(out.status().message().find("the color must be blue"), std::string::npos) << out.status().message();
}

// Figures, not assertions: how long rendering takes (bench/README.md).
TEST_F(RenderTest, PrintsRenderTimes) {
  for (int i = 0; i < 10; ++i) write("dir/cm" + std::to_string(i) + ".yaml", config_map("cm" + std::to_string(i)));
  write_kustomize_fixture([&](const std::string& p, const std::string& t) { write(p, t); });
  write_chart([&](const std::string& p, const std::string& t) { write(p, t); });
  auto time = [&](const char* what, const RenderRequest& r) {
    const int runs = 5;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < runs; ++i)
      if (!render(r).is_ok()) return;
    auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / runs;
    std::printf("render %-34s %7.1f ms\n", what, ms);
  };
  time("directory of 10 objects", request("dir"));
  if (have("kustomize")) time("kustomization (overlay + base)", request("overlays/prod"));
  if (have("helm")) time("helm chart (2 objects)", request("chart"));
}

}  // namespace
}  // namespace skiff::cd
