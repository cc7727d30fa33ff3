#!/usr/bin/python3
"""Gather the image VQ-GAN's training and evaluation data: photographs from Debian's wallpaper packages, scenes
of the demo world, and scikit-image's sample photographs as the held-out set.

usage: build_data.py WORKDIR [--seed N] [--anytok build/anytok] [--world-train N] [--world-eval N] [--skip-world]

Writes, under WORKDIR/data:
  photos/PACKAGE-NAME.png  the training photographs, RGB, each downscaled once (INTER_AREA) by a factor that grows
                           as its JPEG quality falls (so that compression artefacts are not what the model learns)
                           and that keeps its short side at most 1024 pixels; train.py cuts random crops from them
  photos.tsv               one row per photograph: source file, package, original size, JPEG quality, factor,
                           stored size, licence and copyright holder as the package's copyright data gives them
  ATTRIBUTION.md           the same as a table, with the packages' licence statements
  eval/photos/NAME.png     held-out colour photographs (scikit-image's data folder), RGB PNG at their own size
  eval/gray/NAME.png       held-out grayscale photographs, converted to RGB (reported apart, not in the floor)
  world-train/, world-eval/  `anytok world` output (scenes.jsonl and 64x64 PNGs) for seeds SEED and SEED+1
  world-train.npy          the training scenes' pixels, uint8 [N, 64, 64, 3], in scenes.jsonl order
  done                     written last; its presence means the data is complete (the script then does nothing)

Nothing here is random: the photographs are chosen by name, and the world's scenes depend only on their seed.
"""
import argparse
import fnmatch
import glob
import io
import json
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
from PIL import Image

SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
# Held-out photographs. Colour: the floor is checked on their mean. Grayscale (converted to RGB): reported apart,
# since several are textures (grass, gravel, brick) that at 64x64 are close to noise. Left out: the synthetic
# images (color, horse, phantom, logo, chessboard, ...) and motorcycle_right, a near-copy of motorcycle_left.
HELD_OUT_COLOUR = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
                   "hubble_deep_field.jpg", "retina.jpg", "ihc.png"]
HELD_OUT_GRAY = ["camera.png", "coins.png", "moon.png", "page.png", "text.png", "clock_motion.png", "brick.png",
                 "grass.png", "gravel.png", "cell.png", "microaneurysms.png"]

# The photographs of each package (vector art, renders and abstract patterns are left out).
ENLIGHTENMENT = "/usr/share/enlightenment/data/backgrounds"
ENLIGHTENMENT_PHOTOS = ["Bamboo", "Foggy-Trees", "God-Rays", "Green-Maple", "Lichen-Branches", "Mountain", "Peaks",
                        "Red-Maple", "Sea-of-Lanterns", "Snow-Trees", "Spruce-Needles", "Sunset-Clouds",
                        "White-Flower", "Yellow-Flower"]
LOMIRI_16 = ["Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly", "Picture_0B_by_freespace",
             "Picture_1A_by_freespace", "Wine_by_Jakkub_Mede", "aitzgorri_by_Aitzol_Berasategi",
             "free_by_Peter_Nerlich", "friends_by_Aitzol_Berasategi", "greentock_by_Peter_Nerlich",
             "life_by_Aitzol_Berasategi", "picosdeeuropa_by_Aitzol_Berasategi", "seeding_by_Clements_Engelhardt",
             "sunset_by_Aitzol_Berasategi"]
LOMIRI_20 = ["Infinite-Sea_by_Aury88", "Kleiber_by_Lukas_Baubkus"]
PLASMA = ["BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey", "Kite",
          "OneStandsOut", "Path", "summer_1am"]
LXQT = ["Butterfly-Kenneth-Wimer.jpg", "Valendas.png", "after-the-rain.jpg", "appleflower.png", "beam.png",
        "butterfly.png", "cloud.png", "drop.png", "flowers.png", "fog.jpg", "this-is-not-windows.jpg"]
MATE_NATURE = ["Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops", "Storm",
               "TwoWings", "Wood", "YellowFlower"]
MAX_SHORT_SIDE = 1024

# IJG's luminance quantisation table (quality 50), in the zigzag order PIL reports tables in.
IJG_LUMA = [16, 11, 12, 14, 12, 10, 16, 14, 13, 14, 18, 17, 16, 19, 24, 40, 26, 24, 22, 22, 24, 49, 35, 37, 29, 40,
            58, 51, 61, 60, 57, 51, 56, 55, 64, 72, 92, 78, 64, 68, 87, 69, 55, 56, 80, 109, 81, 87, 95, 98, 103,
            104, 103, 62, 77, 113, 121, 112, 100, 120, 92, 101, 103, 99]


def jpeg_quality(data):
    """The IJG quality a JPEG's luminance table corresponds to (100 for tables of all ones); None if not a JPEG."""
    try:
        image = Image.open(io.BytesIO(data))
        table = image.quantization[0] if image.format == "JPEG" else None
    except Exception:
        return None
    if table is None:
        return None
    scale = 100.0 * sum(t / s for t, s in zip(table, IJG_LUMA)) / 64
    quality = 5000.0 / scale if scale > 100 else (200.0 - scale) / 2
    return max(1, min(100, round(quality)))


def factor_for(quality, short_side):
    """Downscale factor: 1 for lossless or quality >= 90, 2 from 75, 3 from 60, else 4; at least what brings the
    short side to MAX_SHORT_SIDE."""
    if quality is None or quality >= 90:
        f = 1.0
    elif quality >= 75:
        f = 2.0
    elif quality >= 60:
        f = 3.0
    else:
        f = 4.0
    return max(f, short_side / MAX_SHORT_SIDE)


def decode(data):
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def largest_embedded_jpeg(path):
    """An Enlightenment .edj (an Eet archive) stores its background as JPEG data: the largest image that decodes
    from a JPEG start marker, and the bytes it came from."""
    data = open(path, "rb").read()
    best, best_bytes = None, None
    start = data.find(b"\xff\xd8\xff")
    while start >= 0:
        end = data.find(b"\xff\xd9", start)
        while end >= 0:  # the first end marker may belong to an embedded thumbnail; try the next ones
            image = decode(data[start:end + 2])
            if image is not None and image.shape[0] * image.shape[1] > 100000:
                break
            end = data.find(b"\xff\xd9", end + 2)
        if end >= 0 and image is not None and (best is None or image.size > best.size):
            best, best_bytes = image, data[start:end + 2]
        start = data.find(b"\xff\xd8\xff", start + 3)
    return best, best_bytes


def dep5_stanzas(package):
    """The Files stanzas of a machine-readable debian/copyright: [(patterns, copyright, licence)]."""
    stanzas, current, key = [], {}, None
    for line in open(f"/usr/share/doc/{package}/copyright", encoding="utf-8").read().splitlines() + [""]:
        if not line.strip():
            if "Files" in current:
                holders = [h for h in current.get("Copyright", "").split("\n") if h.strip()]
                if len(holders) > 3:  # a package-wide stanza with every translator: its first line and a pointer
                    holders = [holders[0], f"and others (see /usr/share/doc/{package}/copyright)"]
                stanzas.append((current["Files"].split(), "; ".join(h.strip() for h in holders),
                                current.get("License", "").split("\n")[0].strip()))
            current, key = {}, None
        elif line[0] in " \t" and key:
            current[key] += "\n" + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            current[key] = value.strip()
    return stanzas


def dep5_lookup(package, path):
    """(copyright, licence) of the last Files stanza matching `path`, a path in the source package (DEP-5: the
    last match wins)."""
    found = None
    for patterns, holder, licence in dep5_stanzas(package):
        if any(fnmatch.fnmatchcase(path, pattern) for pattern in patterns):
            found = (holder, licence)
    if found is None:
        sys.exit(f"/usr/share/doc/{package}/copyright: no Files stanza covers {path}")
    return found


def plasma_image(name):
    """The largest picture of a Plasma wallpaper package (its contents/images/WxH.ext names say the size)."""
    best = None
    for f in glob.glob(f"/usr/share/wallpapers/{name}/contents/images/*"):
        w, h = (int(v) for v in os.path.splitext(os.path.basename(f))[0].split("x"))
        if best is None or w * h > best[0]:
            best = (w * h, f)
    return best[1]


def sources():
    """(package, name, path or (path, embedded), copyright holder, licence, note) for every training photograph."""
    out = []
    for name in ENLIGHTENMENT_PHOTOS:
        path = f"{ENLIGHTENMENT}/{name}.edj"
        holder, licence = dep5_lookup("enlightenment-data", "data/backgrounds/" + name + ".edj")
        out.append(("enlightenment-data", name, path, holder, licence, "JPEG embedded in the .edj theme file"))
    for package, names in (("lomiri-wallpapers-16.04", LOMIRI_16), ("lomiri-wallpapers-20.04", LOMIRI_20)):
        for name in names:
            path = f"/usr/share/backgrounds/{name}.jpg"
            holder, licence = dep5_lookup(package, f"{package[-5:]}/{name}.jpg")
            out.append((package, name, path, holder, licence, ""))
    for name in PLASMA:
        path = plasma_image(name)
        meta = json.load(open(f"/usr/share/wallpapers/{name}/metadata.json", encoding="utf-8"))["KPlugin"]
        authors = ", ".join(a["Name"] for a in meta.get("Authors", []))
        holder, licence = dep5_lookup("plasma-workspace-wallpapers", f"{name}/contents/images/x")
        note = f"wallpaper metadata: \"{meta.get('Name', name)}\" by {authors}, licence {meta.get('License', '?')}"
        out.append(("plasma-workspace-wallpapers", name, path, authors or holder,
                    f"{licence} (package); {meta.get('License', '?')} (wallpaper metadata)", note))
    for name in LXQT:
        path = f"/usr/share/lxqt/wallpapers/{name}"
        holder, licence = dep5_lookup("lxqt-themes", "wallpapers/" + name)
        stem = os.path.splitext(name)[0]
        author = "Kenneth Wimer" if stem.startswith("Butterfly-Kenneth-Wimer") else (
            "stefonarch" if any(k in stem for k in ("beam", "flowers", "butterfly", "fog", "not-windows",
                                                      "appleflower", "after-the-rain", "drop")) else "")
        note = ("upstream wallpapers/License: CC-BY-SA-3.0, LXQt Project Team 2022"
                + (f"; credited to {author}" if author else "; no individual credit given"))
        out.append(("lxqt-themes", stem, path, holder, licence, note))
    for name in MATE_NATURE:
        path = f"/usr/share/backgrounds/mate/nature/{name}.jpg"
        holder, licence = dep5_lookup("mate-backgrounds", "nature/" + name + ".jpg")
        out.append(("mate-backgrounds", name, path, holder, licence, ""))
    return out


def build_photos(data_dir):
    photo_dir = os.path.join(data_dir, "photos")
    if os.path.exists(os.path.join(photo_dir, "done")):
        return
    shutil.rmtree(photo_dir, ignore_errors=True)
    os.makedirs(photo_dir)
    rows = []
    for package, name, path, holder, licence, note in sources():
        if path.endswith(".edj"):
            image, raw = largest_embedded_jpeg(path)
        else:
            raw = open(path, "rb").read()
            image = decode(raw)
        if image is None:
            sys.exit(f"{path}: no picture could be decoded")
        quality = jpeg_quality(raw)
        h, w = image.shape[:2]
        f = factor_for(quality, min(h, w))
        size = (max(64, round(w / f)), max(64, round(h / f)))
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if f > 1 else image
        out = f"{package}-{name}.png"
        cv2.imwrite(os.path.join(photo_dir, out), cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
        rows.append(dict(file=out, package=package, source=path, size=f"{w}x{h}",
                         jpeg_quality="" if quality is None else str(quality), factor=f"{f:.2f}",
                         stored=f"{size[0]}x{size[1]}", licence=licence, copyright=holder, note=note))
        print(f"{out}: {w}x{h}, quality {quality}, /{f:.2f} -> {size[0]}x{size[1]}", flush=True)
    keys = list(rows[0])
    with open(os.path.join(data_dir, "photos.tsv"), "w", encoding="utf-8") as t:
        t.write("\t".join(keys) + "\n")
        for r in rows:
            t.write("\t".join(r[k].replace("\t", " ") for k in keys) + "\n")
    write_attribution(data_dir, rows)
    open(os.path.join(photo_dir, "done"), "w").close()


def write_attribution(data_dir, rows):
    lines = ["# Training photographs: sources, licences and attribution", "",
             "The image VQ-GAN (training/image) was trained on random crops of these photographs, taken from",
             "Debian main packages. Copyright holders and licences are those of each package's",
             "/usr/share/doc/PACKAGE/copyright (and, for Plasma wallpapers, each wallpaper's metadata.json; for",
             "LXQt, the upstream wallpapers/License file). No photograph, crop or derivative picture is distributed",
             "with the model; the model holds convolution and codebook weights only.", "",
             "| # | package | photograph | source file | copyright / author | licence | note |",
             "|---|---|---|---|---|---|---|"]
    for i, r in enumerate(rows, 1):
        lines.append(f"| {i} | {r['package']} | {r['file']} | {r['source']} | {r['copyright']} | {r['licence']} | "
                     f"{r['note']} |")
    packages = sorted({r["package"] for r in rows})
    lines += ["", "Package versions: training/image/packages.txt.", "",
              "CC-BY-4.0 / CC-BY-SA attribution: each photograph above is credited to the author named in its row,",
              "with its licence; they were cropped and downscaled for training. Packages: " + ", ".join(packages)
              + "."]
    with open(os.path.join(data_dir, "ATTRIBUTION.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def build_held_out(data_dir):
    for sub, names in (("photos", HELD_OUT_COLOUR), ("gray", HELD_OUT_GRAY)):
        d = os.path.join(data_dir, "eval", sub)
        os.makedirs(d, exist_ok=True)
        for name in names:
            image = cv2.imread(os.path.join(SKIMAGE, name), cv2.IMREAD_COLOR)  # gray → 3 equal channels
            if image is None:
                sys.exit(f"{SKIMAGE}/{name}: cannot be read (is python3-skimage installed?)")
            cv2.imwrite(os.path.join(d, os.path.splitext(name)[0] + ".png"), image)


def build_world(data_dir, anytok, seed, n_train, n_eval):
    for sub, s, n in (("world-train", seed, n_train), ("world-eval", seed + 1, n_eval)):
        d = os.path.join(data_dir, sub)
        shutil.rmtree(d, ignore_errors=True)
        subprocess.run([anytok, "world", "--seed", str(s), "--count", str(n), "-o", d], check=True,
                       stdout=subprocess.DEVNULL)
    d = os.path.join(data_dir, "world-train")
    scenes = [json.loads(line) for line in open(os.path.join(d, "scenes.jsonl"), encoding="utf-8")]
    pixels = np.zeros((len(scenes), 64, 64, 3), np.uint8)
    for i, scene in enumerate(scenes):
        image = cv2.imread(os.path.join(d, scene["image"]), cv2.IMREAD_COLOR)
        if image is None or image.shape != (64, 64, 3):
            sys.exit(f"{d}/{scene['image']}: not a 64x64 RGB image")
        pixels[i] = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    np.save(os.path.join(data_dir, "world-train.npy"), pixels)
    print(f"world: {len(scenes)} training scenes (seed {seed}), {n_eval} held-out scenes (seed {seed + 1})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("work")
    ap.add_argument("--seed", type=int, default=1, help="the world's training scenes use this seed, held-out +1")
    ap.add_argument("--anytok", default="build/anytok")
    ap.add_argument("--world-train", type=int, default=20000)
    ap.add_argument("--world-eval", type=int, default=200)
    ap.add_argument("--skip-world", action="store_true", help="photographs and held-out set only (no done marker)")
    args = ap.parse_args()
    data_dir = os.path.join(args.work, "data")
    if os.path.exists(os.path.join(data_dir, "done")):
        print(f"{data_dir} is complete")
        return
    os.makedirs(data_dir, exist_ok=True)
    build_photos(data_dir)
    build_held_out(data_dir)
    if args.skip_world:
        return
    build_world(data_dir, args.anytok, args.seed, args.world_train, args.world_eval)
    with open(os.path.join(data_dir, "done"), "w") as f:
        f.write(f"seed {args.seed}\n")


if __name__ == "__main__":
    main()
