#include "metrics/misuse.h"

#include <cstdio>
#include <cstdlib>

namespace messaging::metrics {

void Misuse(absl::string_view what) {
  std::fprintf(stderr, "metrics: %.*s\n", static_cast<int>(what.size()),
               what.data());
  std::abort();
}

}  // namespace messaging::metrics
