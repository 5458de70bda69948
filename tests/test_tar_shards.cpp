// WebDataset's tar shards (cloze/data/tar_shards.h) and their samples in a
// labelled folder (cloze/data/labelled_folder.h): offsets that read back each
// member, keys, labels from .cls members, and shards cut short.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "cloze/core/error.h"
#include "cloze/data/labelled_folder.h"
#include "cloze/data/tar_shards.h"
#include "tar_writer.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

struct Fixture : test_support::Fixture {
  explicit Fixture(const std::string& name) : test_support::Fixture("tar_shards", name) {}
};

std::string bytes_of(const cloze::LabelledFile& file) {
  std::vector<uint8_t> bytes;
  std::string error;
  REQUIRE(cloze::read_bytes(file, bytes, error));
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace

TEST_CASE("split_key cuts WebDataset's key at the first dot of the last path component") {
  CHECK(cloze::split_key("x.jpg") == std::pair<std::string, std::string>{"x", "jpg"});
  CHECK(cloze::split_key("a/b/x.seg.png") == std::pair<std::string, std::string>{"a/b/x", "seg.png"});
  CHECK(cloze::split_key("v1.2/x.cls") == std::pair<std::string, std::string>{"v1.2/x", "cls"});
  CHECK(cloze::split_key("README") == std::pair<std::string, std::string>{"README", ""});
}

TEST_CASE("a shard's index gives each member's bytes by offset, long names included, and .cls text") {
  Fixture f("index");
  const std::string long_name = std::string(150, 'd') + "/sample.jpg";  // past ustar's 100 bytes: a pax header
  test_support::write_tar(f.dir / "shard-000000.tar", {{"a.jpg", std::string(700, 'a')},
                                                       {"a.cls", "3\n"},
                                                       {long_name, std::string(1300, 'b')},
                                                       {"c.jpg", ""}});
  const cloze::TarIndex index = cloze::index_tar(f.dir / "shard-000000.tar");
  CHECK(index.damage.empty());
  REQUIRE(index.members.size() == 4);
  CHECK(index.members[1].text == "3\n");
  CHECK(index.members[2].name == long_name);
  for (const auto& [position, expected] : std::vector<std::pair<int, std::string>>{
           {0, std::string(700, 'a')}, {1, "3\n"}, {2, std::string(1300, 'b')}}) {
    cloze::LabelledFile member;
    member.path = f.dir / "shard-000000.tar";
    member.member = index.members[static_cast<std::size_t>(position)].name;
    member.offset = index.members[static_cast<std::size_t>(position)].offset;
    member.size = index.members[static_cast<std::size_t>(position)].size;
    CHECK(bytes_of(member) == expected);
  }
}

TEST_CASE("a shard cut short keeps the members before the damage; a file that is no tar has none") {
  Fixture f("damaged");
  test_support::write_tar(f.dir / "whole.tar", {{"a.png", std::string(3000, 'a')}, {"b.png", std::string(3000, 'b')}});
  const std::string whole = test_support::read_bytes(f.dir / "whole.tar");
  const auto inside_b = static_cast<std::size_t>(cloze::index_tar(f.dir / "whole.tar").members.at(1).offset + 100);
  test_support::write_bytes(f.dir / "cut.tar", whole.substr(0, inside_b));
  const cloze::TarIndex cut = cloze::index_tar(f.dir / "cut.tar");
  CHECK_FALSE(cut.damage.empty());
  REQUIRE(cut.members.size() == 1);
  CHECK(cut.members[0].name == "a.png");
  test_support::write_bytes(f.dir / "text.tar", "not a tar archive at all");
  const cloze::TarIndex text = cloze::index_tar(f.dir / "text.tar");
  CHECK(text.members.empty());
  CHECK_FALSE(text.damage.empty());
  CHECK_THROWS_WITH(cloze::index_tar(f.dir / "missing.tar"), Contains((f.dir / "missing.tar").string()));
}

TEST_CASE("a folder's shards list one file per sample with a listed extension, labelled by .cls") {
  Fixture f("listing");
  test_support::write_tar(f.dir / "train" / "shard-0.tar",
                          {{"s0.png", "p0"}, {"s0.cls", "2"}, {"s0.json", "{}"}, {"s1.png", "p1"}, {"s1.cls", "0"},
                           {"s2.txt", "no picture"}});
  test_support::write_tar(f.dir / "train" / "shard-1.tar",
                          {{"s3.jpg", "p3"}, {"s3.cls", "1"}, {"s5.PNG", "p5"}, {"s5.cls", "1"}});  // any case
  test_support::write_tar(f.dir / "val" / "shard-0.tar", {{"v0.png", "v0"}, {"v0.cls", "2"}});
  const cloze::LabelledFolder listing =
      cloze::list_labelled_folder(f.dir, {".png", ".jpg"}, 0.0, /*shards=*/true);
  REQUIRE(listing.train.size() == 4);
  CHECK(listing.train[3].member == "s5.PNG");
  CHECK(listing.train[0].relative == "train/shard-0.tar/s0.png");
  CHECK(listing.train[2].relative == "train/shard-1.tar/s3.jpg");
  CHECK(listing.train[0].label == 2);
  CHECK(listing.train[1].label == 0);
  CHECK(listing.train[2].label == 1);
  CHECK(bytes_of(listing.train[1]) == "p1");
  CHECK(listing.train[1].where() == f.dir / "train" / "shard-0.tar" / "s1.png");
  REQUIRE(listing.eval.size() == 1);
  CHECK(bytes_of(listing.eval[0]) == "v0");
  CHECK(listing.class_names == std::vector<std::string>{"0", "1", "2"});
  CHECK(listing.shards == 3);
  CHECK(listing.damaged_shards.empty());
  // Without shards, a .tar is not looked into.
  CHECK(cloze::list_labelled_folder(f.dir, {".png", ".jpg"}, 0.0).train.empty());

  test_support::write_tar(f.dir / "bad" / "shard.tar", {{"x.png", "p"}, {"x.cls", "cat"}});
  CHECK_THROWS_WITH(cloze::list_labelled_folder(f.dir / "bad", {".png"}, 0.0, true),
                    Contains((f.dir / "bad" / "shard.tar" / "x.cls").string()) && Contains("not a class index"));
}
