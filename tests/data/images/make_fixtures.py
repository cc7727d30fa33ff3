#!/usr/bin/python3
"""Makes the fixtures of tests/tokenizers/image_{io,preprocess,quality}_test.cpp, deterministically.

Run it with Debian's own Python, which has the packages it needs (python3-numpy, python3-opencv, python3-pil,
python3-torch, python3-skimage):

    /usr/bin/python3 tests/data/images/make_fixtures.py

It writes small image files and, in safetensors files, what each should become:
- io.safetensors: the 8-bit RGB each file decodes to. Alpha is composited on white and 16-bit samples are
  scaled to 8 bits (anytok's contract); the JPEG's pixels are what PIL decodes.
- taming.safetensors: taming-transformers' ImagePaths.preprocess_image (taming/data/base.py) with the
  albumentations 0.4.3 it pins. albumentations is not packaged in Debian, so `taming` below repeats what its
  SmallestMaxSize and CenterCrop do, calling cv2.resize exactly as they call it.
- unified_io_2.safetensors: Unified-IO 2's resize_and_pad (uio2/data_utils.py), which runs in TensorFlow.
  TensorFlow is not packaged in Debian, so `tf_resize` repeats the float32 arithmetic of its antialiased
  bilinear resize (ScaleAndTranslate with the triangle kernel) operation by operation. PyTorch's
  F.interpolate(mode="bilinear", antialias=True) on the same input is stored beside it as an independent check.
- quality.safetensors: skimage.metrics' PSNR and SSIM of two images.
"""
import os
import struct
import sys
import zlib

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "training"))
from anytok_torch import safetensors_io  # noqa: E402

f32 = np.float32


def save_safetensors(path, tensors):
    safetensors_io.save({name: torch.from_numpy(np.ascontiguousarray(t)) for name, t in tensors.items()}, path)


def smooth_image(height, width, seed, channels=3, peak=255):
    """Soft colour blobs plus a little noise: compresses well, and still has detail for a resize to keep."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, peak, (height // 4 + 2, width // 4 + 2, channels))
    image = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC).reshape(height, width, channels)
    image += rng.uniform(-0.03 * peak, 0.03 * peak, image.shape)
    return np.clip(np.rint(image), 0, peak).astype(np.uint8 if peak == 255 else np.uint16)


def on_white(colour, alpha, peak):
    """anytok's contract: a·c + (1 − a)·peak with a = alpha/peak, then scaled to 8 bits and rounded."""
    a = alpha.astype(np.float64)[..., None] / peak
    return np.rint((a * colour + (1 - a) * peak) * 255 / peak).astype(np.uint8)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def io_fixtures():
    expected = {}
    rgb = smooth_image(17, 23, 1)
    cv2.imwrite(f"{HERE}/rgb.png", rgb[..., ::-1])
    expected["rgb"] = rgb
    # The same pixels in the other lossless formats.
    cv2.imwrite(f"{HERE}/rgb.bmp", rgb[..., ::-1])
    cv2.imwrite(f"{HERE}/rgb.tiff", rgb[..., ::-1])
    cv2.imwrite(f"{HERE}/rgb.webp", rgb[..., ::-1], [cv2.IMWRITE_WEBP_QUALITY, 101])  # above 100: lossless

    gray = smooth_image(9, 13, 2, channels=1)[..., 0]
    Image.fromarray(gray, "L").save(f"{HERE}/gray.png")
    expected["gray"] = np.repeat(gray[..., None], 3, axis=2)

    rgba = np.concatenate([smooth_image(7, 11, 3), np.zeros((7, 11, 1), np.uint8)], axis=2)
    rgba[..., 3] = np.arange(77).reshape(7, 11) * 255 // 76  # alpha from 0 to 255
    Image.fromarray(rgba, "RGBA").save(f"{HERE}/rgba.png")
    expected["rgba"] = on_white(rgba[..., :3], rgba[..., 3], 255)

    gray_alpha = np.stack([smooth_image(5, 6, 4, channels=1)[..., 0], np.arange(30, dtype=np.uint8).reshape(5, 6) * 8],
                          axis=2)
    Image.fromarray(gray_alpha, "LA").save(f"{HERE}/gray_alpha.png")
    expected["gray_alpha"] = on_white(np.repeat(gray_alpha[..., :1], 3, axis=2), gray_alpha[..., 1], 255)

    rgb16 = smooth_image(6, 9, 5, peak=65535)
    cv2.imwrite(f"{HERE}/rgb16.png", rgb16[..., ::-1])
    expected["rgb16"] = np.rint(rgb16 * 255.0 / 65535).astype(np.uint8)

    rgba16 = smooth_image(5, 7, 6, channels=4, peak=65535)
    cv2.imwrite(f"{HERE}/rgba16.png", rgba16[..., [2, 1, 0, 3]])
    expected["rgba16"] = on_white(rgba16[..., :3], rgba16[..., 3], 65535)

    Image.fromarray(smooth_image(30, 40, 7)).save(f"{HERE}/photo.jpg", quality=90)
    expected["photo_jpg"] = np.array(Image.open(f"{HERE}/photo.jpg").convert("RGB"))
    assert (cv2.imread(f"{HERE}/photo.jpg", cv2.IMREAD_UNCHANGED)[..., ::-1] == expected["photo_jpg"]).all(), \
        "OpenCV and PIL decode the JPEG differently"

    # A well-formed PNG whose header claims 80000x80000 pixels: only a size check before decoding refuses it.
    ihdr = struct.pack(">IIBBBBB", 80000, 80000, 8, 2, 0, 0, 0)
    with open(f"{HERE}/huge.png", "wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) +
                  png_chunk(b"IEND", b""))

    for name in ["rgb.png", "rgb.bmp", "rgb.tiff", "rgb.webp"]:
        assert (cv2.imread(f"{HERE}/{name}")[..., ::-1] == rgb).all(), name
    save_safetensors(f"{HERE}/io.safetensors", expected)


# Sources for both preprocessings, [H, W, 3]: wider, taller and smaller than the target, an exact fit, and (for
# taming) a short side that scales the long one to exactly 8.5, which rounds to 8.
SOURCES = {"wide": (30, 41), "tall": (33, 20), "small": (7, 11), "exact": (20, 16), "tie": (16, 17)}


def taming(image, size):
    """albumentations 0.4.3: SmallestMaxSize(size) then CenterCrop(size, size); taming's x/127.5 − 1."""
    height, width = image.shape[:2]
    scale = size / float(min(width, height))
    if scale != 1.0:
        new_height, new_width = round(height * scale), round(width * scale)  # Python 3 round: half to even
        image = cv2.resize(image, (new_width, new_height), interpolation=cv2.INTER_LINEAR)
    height, width = image.shape[:2]
    top, left = (height - size) // 2, (width - size) // 2
    image = image[top:top + size, left:left + size]
    return (image / 127.5 - 1.0).astype(np.float32).transpose(2, 0, 1)


def tf_spans(out_size, in_size):
    """TensorFlow's ComputeSpansCore for the triangle kernel, zero translation, antialias=True, in float32."""
    scale = f32(f32(out_size) / f32(in_size))
    inv_scale = f32(1.0 / float(scale))  # a double division, stored as float
    kernel_scale = max(inv_scale, f32(1))
    one_over_kernel_scale = f32(f32(1) / kernel_scale)
    spans = []
    for x in range(out_size):
        sample = f32(f32(f32(x) + f32(0.5)) * inv_scale)
        first = int(np.ceil(f32(f32(sample - kernel_scale) - f32(0.5))))
        last = int(np.floor(f32(f32(sample + kernel_scale) - f32(0.5))))
        first, end = min(max(first, 0), in_size - 1), min(max(last, 0), in_size - 1) + 1
        weights, total = [], f32(0)
        for source in range(first, end):
            distance = abs(f32(f32(f32(source) + f32(0.5)) - sample) * one_over_kernel_scale)
            weight = f32(1) - distance if distance < f32(1) else f32(0)
            weights.append(weight)
            total = f32(total + weight)
        spans.append((first, [f32(w * f32(f32(1) / total)) for w in weights]))
    return spans


def tf_resize(image, height, width):
    """tf.image.resize(bilinear, antialias=True) on float32 HWC: rows, then columns, summed in span order."""
    rows = np.zeros((height, image.shape[1], 3), f32)
    for y, (first, weights) in enumerate(tf_spans(height, image.shape[0])):
        for j, w in enumerate(weights):
            rows[y] = rows[y] + w * image[first + j]
    out = np.zeros((height, width, 3), f32)
    for x, (first, weights) in enumerate(tf_spans(width, image.shape[1])):
        for j, w in enumerate(weights):
            out[:, x] = out[:, x] + w * rows[:, first + j]
    return out


def unified_io_2(image, size, resize):
    """resize_and_pad at evaluation, then the VQ-GAN's x·2 − 1; also returns [top, left, height, width]."""
    unit = image.astype(f32) * f32(1.0 / 255)  # tf.image.convert_image_dtype
    height, width = f32(image.shape[0]), f32(image.shape[1])
    scale = min(f32(f32(size) / width), f32(f32(size) / height))
    new_height, new_width = int(f32(height * scale)), int(f32(width * scale))
    resized = np.clip(resize(unit, new_height, new_width), f32(0), f32(1))
    top, left = (size - new_height) // 2, (size - new_width) // 2
    padded = np.zeros((size, size, 3), f32)
    padded[top:top + new_height, left:left + new_width] = resized
    return (padded * f32(2.0) - f32(1)).transpose(2, 0, 1).copy(), np.array([top, left, new_height, new_width])


def torch_resize(image, height, width):
    x = torch.from_numpy(image).permute(2, 0, 1)[None]
    x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
    return x[0].permute(1, 2, 0).numpy()


def preprocess_fixtures():
    sources = {name: smooth_image(h, w, 10 + i) for i, (name, (h, w)) in enumerate(SOURCES.items())}
    out = {f"{name}/source": image for name, image in sources.items()}
    out.update({f"{name}/16": taming(image, 16) for name, image in sources.items() if name != "tie"})
    out["tie/8"] = taming(sources["tie"], 8)
    save_safetensors(f"{HERE}/taming.safetensors", out)

    out = {f"{name}/source": sources[name] for name in ["wide", "tall", "small", "exact"]}
    for name in ["wide", "tall", "small", "exact"]:
        out[f"{name}/tf"], out[f"{name}/rect"] = unified_io_2(sources[name], 16, tf_resize)
        by_torch, _ = unified_io_2(sources[name], 16, torch_resize)
        print(f"unified-io-2 {name}: content {out[f'{name}/rect']}, |TensorFlow − PyTorch| ≤ "
              f"{np.abs(out[f'{name}/tf'] - by_torch).max():.2e}")
        if name in ["wide", "small"]:  # one downscale, one upscale
            out[f"{name}/torch"] = by_torch
    save_safetensors(f"{HERE}/unified_io_2.safetensors", out)


def quality_fixtures():
    a = smooth_image(20, 24, 30)
    rng = np.random.default_rng(31)
    b = np.clip(cv2.GaussianBlur(a, (3, 3), 0.8).astype(int) + rng.integers(-12, 13, a.shape), 0, 255).astype(np.uint8)
    save_safetensors(f"{HERE}/quality.safetensors", {
        "a": a, "b": b,
        "psnr": np.array([peak_signal_noise_ratio(a, b, data_range=255)]),
        "ssim": np.array([structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                                data_range=255, channel_axis=-1)])})


if __name__ == "__main__":
    io_fixtures()
    preprocess_fixtures()
    quality_fixtures()
