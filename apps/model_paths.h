// Where the shipped default models are found when a command names none.
#pragma once

#include <string>

namespace anytok {

// The models/ folder: $ANYTOK_MODELS, else models/ beside the build or install tree, else the source tree's.
std::string models_dir();
// models_dir()/relative, or an Error telling which option names the model instead.
std::string default_model(const std::string& relative, const std::string& option);

}  // namespace anytok
