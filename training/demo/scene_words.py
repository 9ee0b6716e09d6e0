"""Words on a scene (SCENES.md "Words"; the Rust twin is crates/scenes/src/words.rs): the font and the
vocabulary are the crate's own files (crates/scenes/data), so both generators draw the same glyphs.
"""
import pathlib

import numpy as np

DATA = pathlib.Path(__file__).resolve().parents[2] / "crates" / "scenes" / "data"
GLYPH_W, GLYPH_H = 5, 7
SCALES = (2, 3)  # inclusive
INKS = [(20, 20, 20), (235, 235, 235)]
WORD_TRIES = 50


def _font():
    glyphs = {}
    for line in (DATA / "font5x7.txt").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        name, *rows = line.split()
        glyphs[name] = np.array([[c == "#" for c in row] for row in rows], dtype=bool)
    return glyphs


FONT = _font()
VOCABULARY = [w.strip() for w in (DATA / "words.txt").read_text().splitlines() if w.strip() and not w.startswith("#")]


class Word:
    def __init__(self, text, x, y, scale, ink):
        self.text, self.x, self.y, self.scale, self.ink = text, int(x), int(y), int(scale), tuple(int(v) for v in ink)

    def width(self):
        return max(len(self.text) * (GLYPH_W + 1) - 1, 0) * self.scale

    def height(self):
        return GLYPH_H * self.scale

    def bbox(self):
        return [float(self.x), float(self.y), float(self.x + self.width()), float(self.y + self.height())]

    def raster(self):
        """[height, width] bool: the glyph cells, each scale x scale pixels, one empty column between letters."""
        cells = np.zeros((GLYPH_H, max(len(self.text) * (GLYPH_W + 1) - 1, 0)), dtype=bool)
        for i, c in enumerate(self.text):
            cells[:, i * (GLYPH_W + 1):i * (GLYPH_W + 1) + GLYPH_W] = FONT[c]
        return np.kron(cells, np.ones((self.scale, self.scale), dtype=bool))

    def to_json(self):
        return dict(text=self.text, x=self.x, y=self.y, scale=self.scale, ink=list(self.ink))


def _overlaps(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def sample_words(rng: np.random.Generator, n, taken, size):
    """`n` words off the boxes `taken`: per word and try, text, scale, ink, then a corner keeping the
    word inside [1, S - 1]; redrawn on any overlap, WORD_TRIES times at most."""
    words = []
    for _ in range(n):
        for _ in range(WORD_TRIES):
            word = Word(VOCABULARY[int(rng.integers(len(VOCABULARY)))], 0, 0,
                        int(rng.integers(SCALES[0], SCALES[1] + 1)), INKS[int(rng.integers(len(INKS)))])
            w, h = word.width(), word.height()
            if w + 2 > size or h + 2 > size:
                continue
            word.x, word.y = int(rng.integers(1, size - 1 - w + 1)), int(rng.integers(1, size - 1 - h + 1))
            if all(not _overlaps(t, word.bbox()) for t in list(taken) + [o.bbox() for o in words]):
                words.append(word)
                break
    return words


def paint(img: np.ndarray, words):
    """Paint `words` over an [S, S, 3] array (after the shapes)."""
    for w in words:
        r = w.raster()
        region = img[w.y:w.y + r.shape[0], w.x:w.x + r.shape[1]]
        region[r] = w.ink
    return img


def quantize(v, size):
    return int(min(max(np.floor(v * 1000 / size), 0), 999))


def reading_order(words, size):
    return sorted(range(len(words)), key=lambda i: (quantize(words[i].bbox()[1], size), quantize(words[i].bbox()[0], size), i))


def ocr_answer(words, size):
    return " ".join(words[i].text for i in reading_order(words, size))


def ocr_with_region_answer(words, size):
    out = []
    for i in reading_order(words, size):
        x1, y1, x2, y2 = words[i].bbox()
        out.append(words[i].text + "".join(f"<loc_{quantize(v, size)}>" for v in (x1, y1, x2, y1, x2, y2, x1, y2)))
    return "".join(out)


def ink_checksum(words, size):
    """(inked pixels, sum of y * S + x over them) of the words painted on an empty scene: the Rust
    cross-check compares it to its own rendering."""
    mask = np.zeros((size, size), dtype=bool)
    for w in words:
        r = w.raster()
        mask[w.y:w.y + r.shape[0], w.x:w.x + r.shape[1]] |= r
    ys, xs = np.nonzero(mask)
    return [int(len(xs)), int((ys.astype(np.int64) * size + xs).sum())]
