// EnCodec parity cases beyond the upstream golden ones (tests/data/encodec-variants, made by make_cases.py with
// the PyTorch reference and checked against facebookresearch/encodec): non-causal streaming with odd strides and
// dilations, causal trim_right_ratio 0.5 with true_skip, no LSTM with zero padding, segments whose last one lies
// inside the previous one's overlap, transformers parametrization key names under a prefix, a non-default
// bandwidth, even kernels with replicate padding, normalized causal segments, and inputs shorter than the
// padding. Each case: codes (near-tie rule), scales, and decoding of the reference codes; models that stream also
// encode and decode in small blocks.
#include <doctest/doctest.h>

#include "audio/encodec_case.h"
#include "nn/error.h"

using namespace anytok;
using test::check_encodec_case;

namespace {

std::string variant(const std::string& name) { return std::string(ANYTOK_TEST_DATA) + "/encodec-variants/" + name; }

}  // namespace

TEST_CASE("EnCodec variant: non-causal weight norm streams (odd stride, dilation base 3, two residual layers)") {
  check_encodec_case(variant("noncausal-weightnorm"), true);
}

TEST_CASE("EnCodec variant: causal, trim_right_ratio 0.5, true_skip, compress 4, other kernels, 7 of 14 kbps") {
  check_encodec_case(variant("causal-trim-half"), true);
}

TEST_CASE("EnCodec variant: no LSTM, constant padding, no norm") { check_encodec_case(variant("no-lstm-constant-pad"), true); }

TEST_CASE("EnCodec variant: stereo segments without normalization, the last two segments short") {
  check_encodec_case(variant("segments-no-normalize"), false);
}

TEST_CASE("EnCodec variant: transformers parametrization key names under a prefix, normalize without segments") {
  check_encodec_case(variant("hf-parametrizations"), false);
}

TEST_CASE("EnCodec variant: an input shorter than the padding, non-causal") { check_encodec_case(variant("short-input"), true); }

TEST_CASE("EnCodec variant: an input shorter than the padding, causal") { check_encodec_case(variant("short-input-causal"), true); }

TEST_CASE("EnCodec variant: even kernels at stride 1, replicate padding, stereo, streaming") {
  check_encodec_case(variant("even-kernels-replicate"), true);
}

TEST_CASE("EnCodec variant: causal segments without overlap, each normalized, a short last one") {
  check_encodec_case(variant("segments-normalize-causal"), false);
}

TEST_CASE("segmented codes whose split needs the encoded length are refused without it") {
  const std::string dir = variant("segments-no-normalize");
  const test::EncodecCase g(dir);
  EncodecModel model(dir);
  EncodedAudio e = g.encoded(0);
  CHECK(model.decode(e).dim(1) > 0);
  e.length = 0;  // unknown: the last two segments are short, which the frames alone cannot show
  CHECK_THROWS_WITH_AS(model.decode(e), doctest::Contains("the encoded length is needed"), Error);
}
