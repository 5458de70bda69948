// "Did you mean" suggestions for unknown names (config keys, plugin names).
#pragma once

#include <string>
#include <vector>

namespace cloze {

// Edit distance (insertions, deletions, substitutions) between two strings.
std::size_t edit_distance(const std::string& a, const std::string& b);

// The candidate closest to `name`, or "" when none is close enough to be a
// plausible typo (distance above a third of the name's length, at least 2).
std::string closest_match(const std::string& name, const std::vector<std::string>& candidates);

// "; did you mean 'x'?" or "" when closest_match finds nothing.
std::string did_you_mean(const std::string& name, const std::vector<std::string>& candidates);

}  // namespace cloze
