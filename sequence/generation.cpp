#include "sequence/generation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "nn/error.h"

namespace anytok {

namespace {

constexpr float kMasked = -std::numeric_limits<float>::infinity();

// log_softmax of row (n values) in place, in double for the sum.
void log_softmax(float* row, int64_t n) {
  const float max = *std::max_element(row, row + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += row[i] == kMasked ? 0.0 : std::exp(static_cast<double>(row[i] - max));
  const float log_sum = max + static_cast<float>(std::log(sum));
  for (int64_t i = 0; i < n; ++i) row[i] = row[i] == kMasked ? kMasked : row[i] - log_sum;
}

// The logits of one row made ready to choose from: guidance, repetition penalty, disallowed and constrained ids.
class LogitsProcessor {
 public:
  LogitsProcessor(const GenerationOptions& o, const TokenConstraint* constraint, int64_t vocab)
      : o_(o), constraint_(constraint), vocab_(vocab), allowed_(static_cast<size_t>(vocab)) {
    for (int64_t id : o.disallowed)
      if (id < 0 || id >= vocab) throw Error(cat("disallowed id ", id, " is outside the vocabulary 0..", vocab - 1));
  }

  // cond (and uncond, when guided) [vocab] → out [vocab]; the prefix is the row's generated ids.
  void operator()(const float* cond, const float* uncond, const std::vector<int64_t>& prefix, float* out) {
    for (int64_t i = 0; i < vocab_; ++i) out[i] = uncond ? uncond[i] + o_.guidance * (cond[i] - uncond[i]) : cond[i];
    if (o_.repetition_penalty != 1) {
      std::vector<int64_t> seen(prefix);
      std::sort(seen.begin(), seen.end());
      seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
      for (int64_t id : seen) out[id] = out[id] > 0 ? out[id] / o_.repetition_penalty : out[id] * o_.repetition_penalty;
    }
    for (int64_t id : o_.disallowed) out[id] = kMasked;
    if (constraint_) {
      std::fill(allowed_.begin(), allowed_.end(), 0);
      constraint_->allowed(prefix, allowed_);
      for (int64_t i = 0; i < vocab_; ++i)
        if (!allowed_[i]) out[i] = kMasked;
    }
    if (std::all_of(out, out + vocab_, [](float v) { return v == kMasked; }))
      throw Error("no id may come next: the constraint and the disallowed ids exclude them all");
  }

 private:
  const GenerationOptions& o_;
  const TokenConstraint* constraint_;
  int64_t vocab_;
  std::vector<uint8_t> allowed_;
};

int64_t argmax(const float* row, int64_t n) { return std::max_element(row, row + n) - row; }

// Samples from processed logits with temperature, top-k and top-p.
int64_t sample(float* row, int64_t n, const GenerationOptions& o, std::mt19937_64& rng) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return row[a] > row[b]; });
  int64_t keep = n;
  while (keep > 0 && row[order[keep - 1]] == kMasked) --keep;
  if (o.top_k > 0) keep = std::min(keep, o.top_k);
  std::vector<double> p(static_cast<size_t>(keep));
  const double max = row[order[0]] / o.temperature;
  double sum = 0;
  for (int64_t i = 0; i < keep; ++i) sum += p[i] = std::exp(row[order[i]] / o.temperature - max);
  if (o.top_p < 1) {
    double cumulative = 0;
    for (int64_t i = 0; i < keep; ++i) {
      cumulative += p[i] / sum;
      if (cumulative >= o.top_p) {
        keep = i + 1;
        break;
      }
    }
    sum = std::accumulate(p.begin(), p.begin() + keep, 0.0);
  }
  const double u = std::uniform_real_distribution<double>(0.0, sum)(rng);
  double cumulative = 0;
  for (int64_t i = 0; i < keep; ++i) {
    cumulative += p[i];
    if (u < cumulative) return order[i];
  }
  return order[keep - 1];
}

void check_options(const GenerationOptions& o) {
  if (o.max_new_tokens < 1) throw Error("max_new_tokens must be at least 1");
  if (o.temperature < 0) throw Error("temperature must not be negative");
  if (o.top_k < 0) throw Error("top_k must not be negative");
  if (!(o.top_p > 0 && o.top_p <= 1)) throw Error("top_p must be in (0, 1]");
  if (!(o.repetition_penalty > 0)) throw Error("repetition_penalty must be positive");
  if (o.beams < 1) throw Error("beams must be at least 1");
  if (o.guidance != 1 && o.unconditional_source.empty()) throw Error("guidance needs an unconditional source");
}

struct Hypothesis {
  std::vector<int64_t> ids;
  double score = 0;  // length-normalised
};

}  // namespace

std::vector<std::vector<int64_t>> generate(const Seq2SeqModel& model, const std::vector<std::vector<int64_t>>& sources,
                                           const GenerationOptions& o, const TokenConstraint* constraint) {
  check_options(o);
  const Seq2SeqConfig& c = model.config();
  const int64_t batch = static_cast<int64_t>(sources.size()), vocab = c.vocab_size, beams = o.beams;
  const bool guided = o.guidance != 1;
  std::vector<std::vector<int64_t>> inputs = sources;
  if (guided) inputs.push_back(o.unconditional_source);
  const EncodedSources encoded = model.encode(inputs);
  // Rows: every source's beams, then (guided) as many unconditional rows, which mirror them.
  const int64_t live_rows = batch * beams, rows = guided ? 2 * live_rows : live_rows;
  std::vector<int64_t> source_of(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) source_of[r] = r < live_rows ? r / beams : batch;
  DecoderCache cache = model.start(encoded, source_of, o.max_new_tokens);

  LogitsProcessor process(o, constraint, vocab);
  std::mt19937_64 rng(o.seed);
  std::vector<std::vector<int64_t>> prefix(static_cast<size_t>(live_rows));
  std::vector<double> beam_score(static_cast<size_t>(live_rows), 0.0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t k = 1; k < beams; ++k) beam_score[b * beams + k] = -std::numeric_limits<double>::infinity();
  std::vector<std::vector<Hypothesis>> finished(static_cast<size_t>(batch));
  std::vector<uint8_t> done(static_cast<size_t>(batch), 0);
  std::vector<std::vector<int64_t>> next(static_cast<size_t>(rows), std::vector<int64_t>{c.bos_id});
  std::vector<float> processed(static_cast<size_t>(live_rows * vocab));

  for (int64_t step = 0; step < o.max_new_tokens; ++step) {
    const Tensor logits = model.logits(cache, next);  // [rows, 1, V]
    for (int64_t r = 0; r < live_rows; ++r)
      if (!done[r / beams])
        process(logits.data() + r * vocab, guided ? logits.data() + (live_rows + r) * vocab : nullptr, prefix[r],
                processed.data() + r * vocab);
    std::vector<int64_t> chosen(static_cast<size_t>(live_rows), c.eos_id), from(static_cast<size_t>(rows));
    std::iota(from.begin(), from.end(), 0);
    if (beams == 1) {
      for (int64_t r = 0; r < live_rows; ++r) {
        if (done[r]) continue;
        float* row = processed.data() + r * vocab;
        chosen[r] = o.temperature == 0 ? argmax(row, vocab) : sample(row, vocab, o, rng);
        prefix[r].push_back(chosen[r]);
        if (chosen[r] == c.eos_id || step + 1 == o.max_new_tokens) {
          done[r] = 1;
          finished[r].push_back({prefix[r], 0});
        }
      }
    } else {
      const double length = static_cast<double>(step + 1);
      std::vector<std::vector<int64_t>> new_prefix(prefix);
      std::vector<double> new_score(beam_score);
      for (int64_t b = 0; b < batch; ++b) {
        if (done[b]) continue;
        // The 2·beams best continuations of this source's beams.
        std::vector<std::pair<double, int64_t>> candidates;  // (score, beam·V + id)
        for (int64_t k = 0; k < beams; ++k) {
          const int64_t r = b * beams + k;
          if (beam_score[r] == -std::numeric_limits<double>::infinity()) continue;
          float* row = processed.data() + r * vocab;
          log_softmax(row, vocab);
          for (int64_t id = 0; id < vocab; ++id)
            if (row[id] != kMasked) candidates.emplace_back(beam_score[r] + row[id], k * vocab + id);
        }
        const size_t wanted = std::min(candidates.size(), static_cast<size_t>(2 * beams));
        std::partial_sort(candidates.begin(), candidates.begin() + static_cast<int64_t>(wanted), candidates.end(),
                          [](const auto& x, const auto& y) { return x.first > y.first || (x.first == y.first && x.second < y.second); });
        auto& hyps = finished[b];
        int64_t filled = 0;
        for (size_t i = 0; i < wanted && filled < beams; ++i) {
          const int64_t k = candidates[i].second / vocab, id = candidates[i].second % vocab, r = b * beams + k;
          std::vector<int64_t> ids = prefix[r];
          ids.push_back(id);
          if (id == c.eos_id) {
            hyps.push_back({ids, candidates[i].first / std::pow(length, o.length_penalty)});
            continue;
          }
          const int64_t slot = b * beams + filled++;
          new_prefix[slot] = std::move(ids);
          new_score[slot] = candidates[i].first;
          chosen[slot] = id;
          from[slot] = r;
          if (guided) from[live_rows + slot] = live_rows + r;
        }
        for (int64_t k = filled; k < beams; ++k) new_score[b * beams + k] = -std::numeric_limits<double>::infinity();
        std::sort(hyps.begin(), hyps.end(), [](const Hypothesis& x, const Hypothesis& y) { return x.score > y.score; });
        if (static_cast<int64_t>(hyps.size()) > beams) hyps.resize(static_cast<size_t>(beams));
        // Done when no running beam can beat the worst kept hypothesis, or when nothing runs any more.
        const double best_running = filled > 0 ? new_score[b * beams] / std::pow(length, o.length_penalty)
                                               : -std::numeric_limits<double>::infinity();
        if (filled == 0 || (static_cast<int64_t>(hyps.size()) == beams && best_running <= hyps.back().score)) done[b] = 1;
        if (step + 1 == o.max_new_tokens && !done[b]) {
          for (int64_t k = 0; k < filled; ++k)
            hyps.push_back({new_prefix[b * beams + k], new_score[b * beams + k] / std::pow(length, o.length_penalty)});
          done[b] = 1;
        }
      }
      prefix = std::move(new_prefix);
      beam_score = std::move(new_score);
      cache.reorder(from);
    }
    if (std::all_of(done.begin(), done.end(), [](uint8_t d) { return d; })) break;
    for (int64_t r = 0; r < rows; ++r) next[r] = {chosen[r < live_rows ? r : r - live_rows]};
  }
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) {
    auto& hyps = finished[b];
    if (hyps.empty()) continue;
    out[b] = std::max_element(hyps.begin(), hyps.end(), [](const Hypothesis& x, const Hypothesis& y) {
               return x.score < y.score;
             })->ids;
  }
  return out;
}

std::vector<TargetScore> score(const Seq2SeqModel& model, const std::vector<std::vector<int64_t>>& sources,
                               const std::vector<std::vector<int64_t>>& targets) {
  if (sources.size() != targets.size()) throw Error("score: one target per source");
  const Seq2SeqConfig& c = model.config();
  int64_t length = 0;
  for (const auto& t : targets) {
    if (t.empty()) throw Error("score: a target is empty");
    length = std::max<int64_t>(length, static_cast<int64_t>(t.size()));
  }
  const EncodedSources encoded = model.encode(sources);
  std::vector<int64_t> source_of(sources.size());
  std::iota(source_of.begin(), source_of.end(), 0);
  DecoderCache cache = model.start(encoded, source_of, length);
  std::vector<std::vector<int64_t>> inputs;
  for (const auto& t : targets) {
    std::vector<int64_t> in{c.bos_id};
    in.insert(in.end(), t.begin(), t.end() - 1);
    in.resize(static_cast<size_t>(length), c.pad_id);  // positions past a target's end are never read back
    inputs.push_back(std::move(in));
  }
  const Tensor logits = model.logits(cache, inputs);  // [B, T, V]
  const int64_t vocab = c.vocab_size;
  std::vector<TargetScore> out(targets.size());
  std::vector<float> row(static_cast<size_t>(vocab));
  for (size_t b = 0; b < targets.size(); ++b)
    for (size_t t = 0; t < targets[b].size(); ++t) {
      const int64_t id = targets[b][t];
      if (id < 0 || id >= vocab) throw Error(cat("target id ", id, " is outside the vocabulary 0..", vocab - 1));
      std::copy_n(logits.data() + (static_cast<int64_t>(b) * length + static_cast<int64_t>(t)) * vocab, vocab, row.data());
      log_softmax(row.data(), vocab);
      out[b].logprobs.push_back(row[id]);
      out[b].total += row[id];
    }
  return out;
}

}  // namespace anytok
