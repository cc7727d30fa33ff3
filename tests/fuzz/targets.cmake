# The fuzz targets, one per parser of outside input (tests/fuzz/NAME_fuzz.cpp).
set(ANYTOK_FUZZ_TARGETS safetensors model_config sequence token_records manifest image_loading audio_loading)
