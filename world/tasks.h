// The five tasks of the demo world, and the seq2seq example each makes of a scene, as a line of an
// `anytok preprocess` pairs manifest. Training data and `anytok demo` both come from here, so the prompts a
// model is trained on are the ones it is asked with.
//
//   caption         inputs <task:caption> image                targets caption text
//   detect          inputs <task:detect> image                 targets per object, in reading order: box, label text
//   generate-image  inputs <task:generate-image> caption text  targets image
//   speak           inputs <task:speak> caption text           targets audio (the spoken caption)
//   transcribe      inputs <task:transcribe> audio             targets caption text
#pragma once

#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "world/scene.h"

namespace anytok::world {

enum class Task { Caption, Detect, GenerateImage, Speak, Transcribe };
constexpr std::array<Task, 5> kTasks{Task::Caption, Task::Detect, Task::GenerateImage, Task::Speak,
                                     Task::Transcribe};

std::string_view task_name(Task task);   // "caption", "detect", "generate-image", "speak", "transcribe"
std::string task_token(Task task);       // "<task:caption>", ...
bool task_uses_speech(Task task);        // speak and transcribe

// The manifest line of `scene`'s example for `task`: {"id": "S-IIIIII/TASK", "task": TASK, "inputs": [...],
// "targets": [...]}. `image` and `speech` are the paths of the scene's picture and spoken caption as the manifest
// should name them.
nlohmann::json task_example(Task task, const Scene& scene, const std::string& image, const std::string& speech);

}  // namespace anytok::world
