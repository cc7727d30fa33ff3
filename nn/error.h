// The one exception type of anytok. Its message is a complete statement a user can act on, naming the file,
// tensor or argument at fault; the CLI prints it as one line and exits with code 1.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace anytok {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Concatenates anything printable: throw Error(cat("tensor ", name, " has shape ", shape)).
template <typename... Parts>
std::string cat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

}  // namespace anytok
