"""PyTorch modules of anytok's model families, written from the architectures' definitions.

They read and write the same model directories as the C++ runtime (config.json + model.safetensors) and are
checked against the same upstream golden cases (tests/data/golden), so what the recipes train is what anytok runs.
"""
