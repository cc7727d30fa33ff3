#!/usr/bin/env python3
"""Build the English training corpus for the default text tokenizer.

Reads the English HTML manuals shipped in a few Debian documentation
packages, keeps prose paragraphs, and writes one sentence per line:

  OUTDIR/train.txt    training text (prose + a small caption block)
  OUTDIR/heldout.txt  held-out prose (every 20th paragraph), never trained on
  OUTDIR/captions.txt the caption block on its own (also inside train.txt)

Everything is deterministic: sources are read in a fixed order, files in
sorted order, and no randomness is used.  Python standard library only.
"""
import glob
import html.parser
import os
import re
import sys

# (package, glob of its English HTML files).  Tables of contents, search
# pages, single-page duplicates of chaptered manuals and the verbatim text
# of the GPL (installation guide appendix F) are excluded by EXCLUDE.
SOURCES = [
    ("debian-reference-en", "/usr/share/debian-reference/*.en.html"),
    ("debian-handbook", "/usr/share/doc/debian-handbook/html/en-US/*.html"),
    ("debian-faq", "/usr/share/doc/debian/FAQ/*.en.html"),
    ("debian-policy", "/usr/share/doc/debian-policy/policy.html/*.html"),
    ("developers-reference", "/usr/share/developers-reference/*.html"),
    ("maint-guide", "/usr/share/doc/maint-guide/html/*.en.html"),
    ("debmake-doc", "/usr/share/doc/debmake-doc/html/*.en.html"),
    ("installation-guide-amd64",
     "/usr/share/doc/installation-guide-amd64/en/*.html"),
    ("harden-doc", "/usr/share/doc/harden-doc/html/en-US/*.html"),
    ("debian-kernel-handbook",
     "/usr/share/doc/debian-kernel-handbook/kernel-handbook.html/*.html"),
    ("debian-history", "/usr/share/doc/debian-history/docs/*.en.html"),
]
EXCLUDE = re.compile(r"^(index|search|genindex|developers-reference|apf)\.")
HELDOUT_EVERY = 20  # paragraph i is held out when i % 20 == 19 (5%)

BLOCK = {"p", "li", "dd", "dt", "div", "section", "blockquote", "h1", "h2",
         "h3", "h4", "h5", "h6", "ul", "ol", "dl", "figcaption", "aside", "br"}
SKIP = {"head", "script", "style", "pre", "table", "nav", "header", "footer",
        "form", "noscript", "sup", "button", "svg"}
SKIP_CLASS = re.compile(r"\b(sphinxsidebar|related|footer|navheader|navfooter|"
                        r"docnav|toc|list-of-\w+|legalnotice|headerlink|"
                        r"footnote-reference|highlight|screen|programlisting|"
                        r"synopsis|literallayout|indexterm)\b")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
        "meta", "source", "track", "wbr"}


class ProseExtractor(html.parser.HTMLParser):
    """Collects the text of block elements, skipping code and navigation."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []  # (tag, skipping)
        self.buf = []
        self.paragraphs = []

    def skipping(self):
        return bool(self.stack) and self.stack[-1][1]

    def flush(self):
        text = " ".join("".join(self.buf).split())
        if text:
            self.paragraphs.append(text)
        self.buf = []

    def handle_starttag(self, tag, attrs):
        if tag in BLOCK:
            self.flush()
        if tag in VOID:
            return
        cls = dict(attrs).get("class") or ""
        skip = self.skipping() or tag in SKIP or bool(SKIP_CLASS.search(cls))
        self.stack.append((tag, skip))

    def handle_endtag(self, tag):
        if tag in BLOCK:
            self.flush()
        if any(t == tag for t, _ in self.stack):
            while self.stack.pop()[0] != tag:
                pass

    def handle_data(self, data):
        if not self.skipping():
            self.buf.append(data)

    def close(self):
        super().close()
        self.flush()


COMMON = set("the a an of to and is in for that this with it be are on as by "
             "or can you not if from at which your when have will all".split())
WORDLIKE = re.compile(r"^[(\"'“‘]*[A-Za-z][A-Za-z'’-]*[)\"'”’,.;:!?]*$")
ENDS_SENTENCE = re.compile(r"[.!?:][\"'”’)]*$")
SENT_SPLIT = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(]*[A-Z])")


def is_prose(p):
    """Heuristic: an English prose paragraph, not a title, list or command."""
    words = p.split()
    if len(words) < 5 or not ENDS_SENTENCE.search(p):
        return False
    if sum(c.isalpha() and c > "\u024f" for c in p) > 0.02 * len(p):
        return False  # letters outside the Latin script
    if sum(bool(WORDLIKE.match(w)) for w in words) < 0.7 * len(words):
        return False  # too many paths, options, numbers
    return sum(w.lower() in COMMON for w in words) >= 0.1 * len(words)


def sentences(p):
    # A lookbehind split keeps the punctuation; closing quotes stay attached.
    out, start = [], 0
    for m in SENT_SPLIT.finditer(p):
        out.append(p[start:m.end()].strip())
        start = m.end()
    out.append(p[start:].strip())
    return [s for s in out if s]


def read_paragraphs():
    seen = set()
    for package, pattern in SOURCES:
        files = sorted(f for f in glob.glob(pattern)
                       if not EXCLUDE.match(os.path.basename(f)))
        if not files:
            sys.exit(f"no files for {package}: is the package installed?")
        count = 0
        for path in files:
            parser = ProseExtractor()
            with open(path, encoding="utf-8") as f:
                parser.feed(f.read())
            parser.close()
            for p in parser.paragraphs:
                p = p.replace("¶", "").strip()
                if p not in seen and is_prose(p):
                    seen.add(p)
                    count += 1
                    yield p
        print(f"{package}: {len(files)} files, {count} paragraphs",
              file=sys.stderr)


COLOURS = ("red green blue yellow orange purple white black gray pink brown "
           "cyan").split()
SHAPES = "circle square triangle rectangle star ellipse diamond hexagon".split()
PLURAL = {s: s + "s" for s in SHAPES}
PLURAL["ellipse"] = "ellipses"
SIZES = ["small", "large", "big", "", "tiny"]
RELATIONS = ["above", "below", "next to", "left of", "right of",
             "to the left of", "to the right of", "on top of"]
PLACES = ["at the top", "at the bottom", "on the left", "on the right",
          "in the center", "in the middle", "at the top left",
          "at the bottom right"]
NUMBERS = "zero one two three four five six seven eight nine".split()


def np(size, colour, shape, a="a"):
    words = [w for w in (size, colour, shape) if w]
    return f"{a}{'n' if words[0][0] in 'aeiou' else ''} " + " ".join(words)


def captions(n=1200):
    """Simple scene captions, enumerated with fixed strides (no RNG)."""
    out = []
    for i in range(n):
        j, form = divmod(i, 6)
        c1 = COLOURS[j % 12]
        c2 = COLOURS[(j + 1 + (j // 12) % 11) % 12]  # never equal to c1
        bg = COLOURS[(5 * j + 7) % 12]
        s1 = SHAPES[(3 * j) % 8]
        s2 = SHAPES[(3 * j + 1 + (j // 8) % 7) % 8]  # never equal to s1
        z1, z2 = SIZES[j % 5], SIZES[(j // 5 + 2) % 5]
        rel, place = RELATIONS[(3 * j + 1) % 8], PLACES[(j // 2) % 8]
        n1, n2 = j % 10, (j // 10 + 3) % 10
        on_bg = "on " + np("", bg, "background")
        if form == 0:
            line = f"{np(z1, c1, s1)} {rel} {np(z2, c2, s2)} {on_bg}"
        elif form == 1:
            line = f"there is {np(z1, c1, s1)} {place}"
        elif form == 2:
            line = (f"{n1} {c1} {PLURAL[s1] if n1 != 1 else s1} and "
                    f"{NUMBERS[n2]} {c2} {PLURAL[s2] if n2 != 1 else s2} "
                    f"{on_bg}")
        elif form == 3:
            line = (f"the {c1} {s1} is {rel} the {c2} {s2}, "
                    f"and the background is {bg}")
        elif form == 4:
            line = f"There is {np(z1, c1, s1)} {place} of the image."
        else:
            line = (f"{np('', bg, 'background', 'A')} with "
                    f"{np(z1, c1, s1)} {rel} {np(z2, c2, s2)}.")
        out.append(line)
    return out


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "build"
    os.makedirs(outdir, exist_ok=True)
    train, held = [], []
    for i, p in enumerate(read_paragraphs()):
        (held if i % HELDOUT_EVERY == HELDOUT_EVERY - 1 else train).extend(
            sentences(p))
    caps = captions()
    files = {"train.txt": train + caps, "heldout.txt": held,
             "captions.txt": caps}
    for name, lines in files.items():
        with open(os.path.join(outdir, name), "w", encoding="utf-8",
                  newline="\n") as f:
            f.write("".join(line + "\n" for line in lines))
    size = {k: sum(len(x.encode()) + 1 for x in v) for k, v in files.items()}
    print(f"train: {len(train) + len(caps)} lines, {size['train.txt']} bytes "
          f"(captions {len(caps)} lines, {size['captions.txt']} bytes, "
          f"{100 * size['captions.txt'] / size['train.txt']:.1f}%); "
          f"heldout: {len(held)} lines, {size['heldout.txt']} bytes",
          file=sys.stderr)


if __name__ == "__main__":
    main()
