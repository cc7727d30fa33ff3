// The tokens JSON Lines record, one per tokenized input:
//   {"input": <path or null>, "modality": "text|image|audio|boxes|keypoints", "shape": [...],
//    "codes": <nested as shape>, "tokens": [<flat ids in the shared vocabulary>], ...modality metadata}
// Metadata: boxes and keypoints carry "image_size" [W, H], "convention" and "bins".
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "sequence/sequence_format.h"

namespace anytok {

// The modality word of a segment's record: "text", "image", "audio", "boxes" or "keypoints".
std::string record_modality(const Segment& segment);

nlohmann::json make_record(const std::optional<std::string>& input, const Segment& segment,
                           const SequenceFormat& format);

// The segment a record holds: from "codes" and "shape" when present, otherwise by parsing "tokens" with the
// layout. `where` names the record in messages ("tokens.jsonl:3").
Segment record_segment(const nlohmann::json& record, const SequenceFormat& format, const std::string& where);

}  // namespace anytok
