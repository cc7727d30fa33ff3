#include "world/tasks.h"

#include "nn/error.h"

namespace anytok::world {

using json = nlohmann::json;

std::string_view task_name(Task task) {
  switch (task) {
    case Task::Caption: return "caption";
    case Task::Detect: return "detect";
    case Task::GenerateImage: return "generate-image";
    case Task::Speak: return "speak";
    case Task::Transcribe: return "transcribe";
  }
  return "?";
}

std::string task_token(Task task) { return cat("<task:", task_name(task), ">"); }

bool task_uses_speech(Task task) { return task == Task::Speak || task == Task::Transcribe; }

json task_example(Task task, const Scene& scene, const std::string& image, const std::string& speech) {
  const json prompt = {{"token", task_token(task)}};
  const json picture = {{"image", image}};
  const json text = {{"text", caption(scene)}};
  const json spoken = {{"audio", speech}};
  json inputs, targets;
  switch (task) {
    case Task::Caption: inputs = {prompt, picture}, targets = {text}; break;
    case Task::Detect:
      inputs = {prompt, picture};
      targets = json::array();
      for (const Object& o : scene.objects) {
        targets.push_back({{"boxes", {o.box}}, {"image_size", {scene.size, scene.size}}});
        targets.push_back({{"text", o.label()}});
      }
      break;
    case Task::GenerateImage: inputs = {prompt, text}, targets = {picture}; break;
    case Task::Speak: inputs = {prompt, text}, targets = {spoken}; break;
    case Task::Transcribe: inputs = {prompt, spoken}, targets = {text}; break;
  }
  return {{"id", cat(scene_name(scene), "/", task_name(task))}, {"task", task_name(task)}, {"inputs", inputs},
          {"targets", targets}};
}

}  // namespace anytok::world
