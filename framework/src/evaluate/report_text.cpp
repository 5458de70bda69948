// The report's numbers and names as text (see report_text.h).
#include "report_text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace cloze {

std::string grouped(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  for (auto i = static_cast<std::ptrdiff_t>(digits.size()) - 3; i > 0; i -= 3) digits.insert(static_cast<std::size_t>(i), ",");
  return n < 0 ? "-" + digits : digits;
}

std::string rounded(double value) { return std::isfinite(value) ? grouped(std::llround(value)) : fmt::format("{}", value); }

std::string loss_text(double loss) { return fmt::format("{:.4g}", loss); }

std::string duration_text(double seconds) {
  const int64_t total = std::isfinite(seconds) ? std::llround(seconds) : 0;
  if (total >= 3600) return fmt::format("{} h {} min {} s", total / 3600, total / 60 % 60, total % 60);
  if (total >= 60) return fmt::format("{} min {} s", total / 60, total % 60);
  return fmt::format("{} s", total);
}

std::string flops_text(double flops) {
  if (!std::isfinite(flops) || flops <= 0) return kMissing;
  const char* const prefixes[] = {"", "k", "M", "G", "T", "P", "E"};
  int power = 0;
  while (flops >= 1000 && power < 6) {
    flops /= 1000;
    ++power;
  }
  return fmt::format("{:.3g} {}FLOP", flops, prefixes[power]);
}

std::string estimate_text(const Estimate& e) {
  if (!std::isfinite(e.interval.low)) return percent_text(e.mean);
  return fmt::format("{:.1f}% ± {:.1f} [{:.1f}, {:.1f}]", 100 * e.mean, 100 * e.std, 100 * e.interval.low,
                     100 * e.interval.high);
}

std::string or_missing(const std::string& text) { return text.empty() ? kMissing : text; }

std::size_t width_of(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string html_escaped(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace cloze
