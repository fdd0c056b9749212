#include "runtime/s3_protocol.h"

#include <gtest/gtest.h>

namespace skiff::runtime::s3 {
namespace {

TEST(S3Protocol, EscapesKeysKeepingSlashes) {
  EXPECT_EQ(escape_key("wf/pod/art.tgz"), "wf/pod/art.tgz");
  EXPECT_EQ(escape_key("dir/a b+c=d.txt"), "dir/a%20b%2Bc%3Dd.txt");
  EXPECT_EQ(escape_key("caf\xC3\xA9/~x_y-z"), "caf%C3%A9/~x_y-z");
  EXPECT_EQ(escape_key("a%2Fb"), "a%252Fb");  // a literal '%' is data, not an escape
}

TEST(S3Protocol, CanonicalQueryIsSortedAndEncoded) {
  EXPECT_EQ(canonical_query({{"prefix", "a b/c"}, {"list-type", "2"}, {"continuation-token", "x+y="}}),
            "continuation-token=x%2By%3D&list-type=2&prefix=a%20b%2Fc");
  EXPECT_EQ(canonical_query({{"uploadId", "u"}, {"partNumber", "10"}}), "partNumber=10&uploadId=u");
  EXPECT_EQ(canonical_query({{"uploads", ""}}), "uploads=");
}

TEST(S3Protocol, ParsesErrors) {
  auto e = parse_error(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does "
      "not exist.</Message><Key>a &amp; b</Key></Error>");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "NoSuchKey");
  EXPECT_EQ(e->message, "The specified key does not exist.");
  EXPECT_FALSE(parse_error("<ListBucketResult></ListBucketResult>"));
  EXPECT_FALSE(parse_error("not xml at all"));
  EXPECT_FALSE(parse_error("<Error><Code>cut short"));
  EXPECT_FALSE(parse_error(""));
}

TEST(S3Protocol, DecodesEntities) {
  EXPECT_EQ(xml_text("<Key>a&lt;b&gt;&quot;c&apos;&amp;&#233;&#x263A;</Key>", "Key"), "a<b>\"c'&\xC3\xA9\xE2\x98\xBA");
  EXPECT_EQ(xml_text("<Key>&bogus; &#0; &</Key>", "Key"), "&bogus; &#0; &");
  EXPECT_EQ(xml_text("<KeyCount>2</KeyCount><Key>k</Key>", "Key"), "k");
  EXPECT_EQ(xml_text("<Key/>", "Key"), "");
  EXPECT_FALSE(xml_text("<Key>unterminated", "Key"));
  EXPECT_EQ(xml_escape("a<b&'\""), "a&lt;b&amp;&apos;&quot;");
}

TEST(S3Protocol, ParsesListPages) {
  auto page = parse_list_page(
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name><Prefix>p/</Prefix>"
      "<KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>"
      "<NextContinuationToken>tok=</NextContinuationToken>"
      "<Contents><Key>p/a</Key><LastModified>x</LastModified><Size>3</Size></Contents>"
      "<Contents><Key>p/b &amp; c</Key><Size>0</Size></Contents></ListBucketResult>");
  ASSERT_TRUE(page) << page.status().message();
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "p/a");
  EXPECT_EQ(page->objects[0].size, 3u);
  EXPECT_EQ(page->objects[1].key, "p/b & c");
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->next_token, "tok=");

  auto last = parse_list_page("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>");
  ASSERT_TRUE(last);
  EXPECT_TRUE(last->objects.empty());
  EXPECT_FALSE(last->truncated);

  EXPECT_FALSE(parse_list_page("<Error><Code>x</Code></Error>"));
  EXPECT_FALSE(
      parse_list_page("<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>"));
  EXPECT_FALSE(parse_list_page("<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>"));
  EXPECT_FALSE(parse_list_page("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"));
}

TEST(S3Protocol, CompleteMultipartBody) {
  EXPECT_EQ(complete_multipart_body({"\"e1\"", "\"e2\""}),
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag></Part>"
            "<Part><PartNumber>2</PartNumber><ETag>&quot;e2&quot;</ETag></Part></CompleteMultipartUpload>");
}

}  // namespace
}  // namespace skiff::runtime::s3
