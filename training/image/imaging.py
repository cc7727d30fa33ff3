"""Images as the C++ runtime prepares and measures them (tokenizers/image_preprocess.h, image_quality.h)."""
import cv2
import numpy as np
import torch


def read_rgb(path):
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"{path}: cannot be read")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def prepare_taming(rgb, resolution):
    """uint8 [H, W, 3] → uint8 [R, R, 3]: the short side resized to R (new sides rounded half to even, as Python's
    round and the runtime's nearbyint do) with cv2.resize INTER_LINEAR, skipped when it is already R; then the
    centre crop at ((h - R) // 2, (w - R) // 2)."""
    h, w = rgb.shape[:2]
    scale = resolution / min(h, w)
    if scale != 1.0:
        rgb = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_LINEAR)
    top, left = (rgb.shape[0] - resolution) // 2, (rgb.shape[1] - resolution) // 2
    return np.ascontiguousarray(rgb[top:top + resolution, left:left + resolution])


def to_tensor(batch):
    """uint8 [N, H, W, 3] (numpy) → float32 [N, 3, H, W] in [-1, 1], as x / 127.5 - 1."""
    x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).double()
    return (x / 127.5 - 1).float()


def to_uint8(x):
    """float [N, 3, H, W] → uint8 [N, H, W, 3]: clipped to [-1, 1], (x + 1)·127.5, rounded half away from zero."""
    v = (x.detach().double().clamp(-1, 1) + 1) * 127.5
    return torch.floor(v + 0.5).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def psnr(a, b):
    """10·log10(255² / MSE) over all pixels and channels of two uint8 images; inf when identical."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))
