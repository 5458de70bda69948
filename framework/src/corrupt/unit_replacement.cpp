#include "cloze/corrupt/unit_replacement.h"

namespace cloze {

Schema UnitReplacement::schema(const std::string& chosen) {
  return {
      ParamSpec{"mask", ParamType::real, 0.8, "probability that a chosen " + chosen + " becomes [MASK]"}.within(0, 1),
      ParamSpec{"random", ParamType::real, 0.1,
                "probability that a chosen " + chosen + " becomes uniformly drawn ordinary ids"}
          .within(0, 1),
  };
}

UnitReplacement::UnitReplacement(const Params& params) : mask_(params.real("mask")), random_(params.real("random")) {
  // The slack lets sums such as 0.7 + 0.3 pass despite their rounding.
  params.require(mask_ + random_ <= 1.0 + 1e-12, "random",
                 "mask + random must be at most 1 (mask = " + to_toml(mask_) + "); the rest stay unchanged");
}

std::string UnitReplacement::incompatibility(const UnitSpec& units, const std::string& corruption) const {
  if (units.kind == UnitKind::continuous)
    return corruption + " replaces unit ids with [MASK] or random ids, but these units are continuous vectors of " +
           std::to_string(units.unit_dim) + " values; use a patch-masking corruption instead";
  if (mask_ > 0.0 && units.mask_id < 0)
    return corruption + ".mask = " + to_toml(mask_) +
           " replaces chosen units with [MASK], but the vocabulary has no [MASK] id; set mask = 0.0 or use a "
           "tokenizer with a [MASK] token";
  if (random_ > 0.0 && units.ordinary_ids().empty())
    return corruption + ".random = " + to_toml(random_) +
           " draws random ordinary ids, but every id of the vocabulary is special";
  return "";
}

void UnitReplacement::prepare(const UnitSpec& units) {
  mask_id_ = units.mask_id;
  ordinary_ = units.ordinary_ids();
}

UnitReplacement::Choice UnitReplacement::draw(SampleRng& rng) const {
  const double u = rng.uniform();
  if (u < mask_) return Choice::mask;
  if (u < mask_ + random_) return Choice::random;
  return Choice::keep;
}

int64_t UnitReplacement::apply(Choice choice, int64_t id, SampleRng& rng) const {
  switch (choice) {
    case Choice::mask: return mask_id_;
    case Choice::random: return ordinary_[rng.below(ordinary_.size())];
    case Choice::keep: return id;
  }
  return id;
}

}  // namespace cloze
