// Turning a config value into a parameter Value of the type its schema
// declares: a TOML node from an experiment file, or the text of a
// command-line override. Used only by the experiment loader.
#pragma once

#include <toml++/toml.h>

#include <optional>
#include <string>

#include "cloze/core/params.h"

namespace cloze {

// The node as a `type` Value, or nullopt when it is not one. An integer is
// accepted as a float (1 means 1.0); a float is never read as an integer; a
// string list must be an array whose elements are all strings.
std::optional<Value> value_from_node(const toml::node& node, ParamType type);

// Override text as a `type` Value, or nullopt when it cannot be read as one.
// Strings may be written bare (`byte`) or as a TOML string (`"a b"`); a string
// list is a TOML array of strings or one string; every other type is a strict
// TOML literal.
std::optional<Value> value_from_text(const std::string& text, ParamType type);

// A schedule (cloze/core/schedule.h) as a config writes it, an inline table
// in the file or in override text: `schedule`, an array of [fraction, value]
// pairs of numbers, and optionally `interpolate`, "constant" (the default) or
// "linear". Throws cloze::Error saying what is wrong, for the caller to put
// after the key's origin and name.
ParamSchedule schedule_from_node(const toml::node& node);
ParamSchedule schedule_from_text(const std::string& text);

// The node's type as a message names it: "string", "float", "array of
// integers", "mixed array", ...
std::string type_name(const toml::node& node);

}  // namespace cloze
