"""Synthetic scenes for the demo model, as training/demo/SCENES.md specifies (the Rust twin is crates/scenes).

Scene parameters are sampled with numpy, vectorised over a batch (rejection sampling included), and
rendered with torch on whatever device trains (the GPU renders a batch in milliseconds, so data never
starves the model). Answer texts are built per scene from the same parameters.
"""
import math

import numpy as np
import torch

from scene_words import ink_checksum, ocr_answer, ocr_with_region_answer, paint, sample_words

SIZE = 224
COLOURS = ["red", "green", "blue", "yellow"]
RGB = np.array([(215, 40, 40), (40, 165, 70), (45, 85, 215), (235, 200, 45)], dtype=np.float64)
SHAPES = ["circle", "square", "triangle", "star"]
PERIOD = [0.0, math.pi / 2, 2 * math.pi / 3, 2 * math.pi / 5]
MAX_SHAPES = 4
MAX_VERTS = 16  # the circle's polygon; rendering uses the exact disc for circles
NUMBERS = {2: "two", 3: "three", 4: "four"}
EVAL_SEED_BASE = 1_000_000_000


def vertices(kind: int, cx: float, cy: float, r: float, theta: float) -> np.ndarray:
    """[V, 2] polygon in SCENES.md's vertex order."""
    if kind == 0:
        a = -math.pi / 2 + np.arange(16) * 2 * math.pi / 16
        rad = np.full(16, r)
    elif kind == 1:
        a = theta + math.pi / 4 + np.arange(4) * math.pi / 2
        rad = np.full(4, r)
    elif kind == 2:
        a = theta - math.pi / 2 + np.arange(3) * 2 * math.pi / 3
        rad = np.full(3, r)
    else:
        k = np.arange(10)
        a = theta - math.pi / 2 + k * math.pi / 5
        rad = np.where(k % 2 == 0, r, 0.45 * r)
    return np.stack([cx + rad * np.cos(a), cy + rad * np.sin(a)], axis=1)


def box_of(kind, cx, cy, r, verts):
    if kind == 0:
        return np.array([cx - r, cy - r, cx + r, cy + r])
    return np.array([verts[:, 0].min(), verts[:, 1].min(), verts[:, 0].max(), verts[:, 1].max()])


def polygon_area(v: np.ndarray) -> float:
    x, y = v[:, 0], v[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def quantize(v: float, size: int = SIZE) -> int:
    return min(max(int(math.floor(v * 1000 / size)), 0), 999)


class Shape:
    __slots__ = ("kind", "colour", "cx", "cy", "r", "theta", "verts", "box", "area", "rgb")

    def __init__(self, kind, colour, cx, cy, r, theta, rgb=None, verts=None):
        self.kind, self.colour, self.cx, self.cy, self.r, self.theta = kind, colour, cx, cy, r, theta
        self.verts = vertices(kind, cx, cy, r, theta) if verts is None else verts
        self.box = box_of(kind, cx, cy, r, self.verts)
        self.area = math.pi * r * r if kind == 0 else polygon_area(self.verts)
        self.rgb = rgb

    @property
    def name(self):
        return f"{COLOURS[self.colour]} {SHAPES[self.kind]}"

    def qbox(self, size=SIZE):
        return [quantize(float(v), size) for v in self.box]

    def qpolygon(self, size=SIZE):
        v = self.verts
        start = min(range(len(v)), key=lambda i: (quantize(v[i, 1], size), quantize(v[i, 0], size), v[i, 1], v[i, 0]))
        v = np.roll(v, -start, axis=0)
        return [quantize(float(c), size) for xy in v for c in xy]

    def to_json(self):
        return dict(kind=SHAPES[self.kind], colour=COLOURS[self.colour], cx=self.cx, cy=self.cy, r=self.r,
                    theta=self.theta)


def sample_shapes(rng: np.random.Generator, n: int, size=SIZE, r_range=(0.07, 0.2), klass=None):
    """Shapes of one scene, by SCENES.md's placement rule (box IoU <= 0.2 with earlier shapes).
    `klass` = (kind, colour) makes every shape of that class (training only: many instances of one
    class; the kind and colour draws are skipped, so the stream differs from a free scene's)."""
    shapes = []
    for _ in range(n):
        for _try in range(50):
            if klass is None:
                kind = int(rng.integers(4))
                colour = int(rng.integers(4))
            else:
                kind, colour = klass
            r = float(rng.uniform(r_range[0] * size, r_range[1] * size))
            theta = float(rng.uniform(0, PERIOD[kind])) if PERIOD[kind] > 0 else 0.0
            # The box relative to the centre depends only on (kind, r, theta): place it inside [1, S-1].
            rel_verts = vertices(kind, 0.0, 0.0, r, theta)
            rel = box_of(kind, 0.0, 0.0, r, rel_verts)
            lo_x, hi_x = 1 - rel[0], size - 1 - rel[2]
            lo_y, hi_y = 1 - rel[1], size - 1 - rel[3]
            cx, cy = float(rng.uniform(lo_x, hi_x)), float(rng.uniform(lo_y, hi_y))
            jitter = rng.integers(-20, 21, size=3)
            rgb = np.clip(RGB[colour] + jitter, 0, 255)
            s = Shape(kind, colour, cx, cy, r, theta, rgb, rel_verts + np.array([cx, cy]))
            if all(iou(s.box, o.box) <= 0.2 for o in shapes):
                shapes.append(s)
                break
    return shapes


def sample_background(rng: np.random.Generator):
    g = rng.uniform(70, 190)
    base = g + rng.uniform(-20, 20, size=3)
    kind = int(rng.integers(4))  # 0 plain, 1 noise, 2 stripes, 3 checker
    return dict(kind=kind, base=base, sigma=rng.uniform(4, 20), amp=rng.uniform(10, 35),
                lam=rng.uniform(8, 40), phi=rng.uniform(0, math.pi), cell=rng.uniform(8, 32))


class Scene:
    def __init__(self, shapes, background, size=SIZE, words=None):
        self.shapes, self.background, self.size = shapes, background, size
        self.words = words or []

    def ordered(self):
        return sorted(self.shapes, key=lambda s: (s.qbox(self.size)[1], s.qbox(self.size)[0]))


def sample_scene(rng, n_min=1, n_max=4, size=SIZE, r_range=(0.07, 0.2), w_min=0, w_max=0):
    """With `w_max` > 0, a word count uniform in w_min..=w_max, placed after the shapes."""
    n = int(rng.integers(n_min, n_max + 1))
    shapes, background = sample_shapes(rng, n, size, r_range), sample_background(rng)
    words = []
    if w_max > 0:
        words = sample_words(rng, int(rng.integers(min(w_min, w_max), w_max + 1)), [s.box for s in shapes], size)
    return Scene(shapes, background, size, words)


# ----------------------------------------------------------------------------------------- rendering
def render(scenes, device, generator=None) -> torch.Tensor:
    """[B, 3, S, S] uint8-valued float tensor (0..255, rounded), on `device`."""
    b, size = len(scenes), scenes[0].size
    f = dict(dtype=torch.float32, device=device)

    def up(a):  # host -> device without a stream sync (pinned memory), so the CPU can run ahead
        t = torch.as_tensor(np.asarray(a), dtype=torch.float32)
        if str(device).startswith("cuda"):
            return t.pin_memory().to(device, non_blocking=True)
        return t

    coords = torch.arange(size, **f) + 0.5
    py, px = coords.view(size, 1), coords.view(1, size)

    bg = [s.background for s in scenes]
    base = up(np.array([g["base"] for g in bg])).view(b, 3, 1, 1)
    kind = up([g["kind"] for g in bg]).view(b, 1, 1, 1)
    p = lambda key: up([g[key] for g in bg]).view(b, 1, 1, 1)  # noqa: E731
    noise = torch.randn((b, 3, size, size), generator=generator, **f) * p("sigma")
    phi = p("phi")
    stripes = p("amp") * torch.sin(2 * math.pi * (px * torch.cos(phi) + py * torch.sin(phi)) / p("lam"))
    cell = p("cell")
    parity = (torch.floor(px / cell) + torch.floor(py / cell)).remainder(2)
    checker = p("amp") * (1 - 2 * parity)
    img = base + torch.where(kind == 1, noise, 0.0) + torch.where(kind == 2, stripes, 0.0) \
        + torch.where(kind == 3, checker, 0.0)
    img = img.clamp(0, 255).round()

    # Shapes, padded to MAX_SHAPES slots; polygons padded by repeating their last vertex (a zero-length
    # edge never crosses a scanline, so padding changes nothing).
    verts = np.zeros((b, MAX_SHAPES, MAX_VERTS, 2))
    meta = np.zeros((b, MAX_SHAPES, 7))  # valid, is_circle, cx, cy, r, 0, 0
    rgb = np.zeros((b, MAX_SHAPES, 3))
    for i, sc in enumerate(scenes):
        for k, s in enumerate(sc.shapes):
            v = s.verts
            verts[i, k, : len(v)] = v
            verts[i, k, len(v):] = v[-1]
            meta[i, k, :5] = (1, s.kind == 0, s.cx, s.cy, s.r)
            rgb[i, k] = s.rgb
    verts, meta, rgb = up(verts), up(meta), up(rgb)
    X, Y = px.view(1, 1, 1, size), py.view(1, 1, size, 1)
    inside = torch.zeros((b, MAX_SHAPES, size, size), dtype=torch.bool, device=device)
    for j in range(MAX_VERTS):
        xi, yi = verts[:, :, j, 0, None, None], verts[:, :, j, 1, None, None]
        xj, yj = verts[:, :, (j + 1) % MAX_VERTS, 0, None, None], verts[:, :, (j + 1) % MAX_VERTS, 1, None, None]
        straddles = (yi > Y) != (yj > Y)
        dy = torch.where(yj == yi, torch.ones_like(yj), yj - yi)
        cross = straddles & (X < (xj - xi) * (Y - yi) / dy + xi)
        inside ^= cross
    cx, cy, r = meta[:, :, 2, None, None], meta[:, :, 3, None, None], meta[:, :, 4, None, None]
    disc = (X - cx) ** 2 + (Y - cy) ** 2 <= r * r
    inside = torch.where(meta[:, :, 1, None, None] > 0, disc, inside) & (meta[:, :, 0, None, None] > 0)
    for k in range(MAX_SHAPES):
        img = torch.where(inside[:, k, None], rgb[:, k, :, None, None], img)
    if any(sc.words for sc in scenes):
        # Words over the shapes, rastered on the host (a few small glyph blocks per scene).
        ink = np.full((b, size, size, 3), -1.0, dtype=np.float32)
        for i, sc in enumerate(scenes):
            paint(ink[i], sc.words)
        ink = up(ink).permute(0, 3, 1, 2)
        img = torch.where(ink >= 0, ink, img)
    return img


# ----------------------------------------------------------------------------------------- texts
def loc(v):
    return f"<loc_{v}>"


def od_answer(scene):
    return "".join(s.name + "".join(loc(v) for v in s.qbox(scene.size)) for s in scene.ordered())


def _class_groups(scene):
    """[(kind, colour, [shapes in reading order])] in class order (shape-major)."""
    order = scene.ordered()
    groups = []
    for kind in range(4):
        for colour in range(4):
            members = [s for s in order if s.kind == kind and s.colour == colour]
            if members:
                groups.append((kind, colour, members))
    return groups


def _phrase(kind, colour, count):
    if count == 1:
        return f"a {COLOURS[colour]} {SHAPES[kind]}"
    return f"{NUMBERS[count]} {COLOURS[colour]} {SHAPES[kind]}s"


def _join(parts):
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def caption(scene):
    return _join([_phrase(k, c, len(m)) for k, c, m in _class_groups(scene)]) + "."


def grounding_answer(scene):
    out = []
    for k, c, members in _class_groups(scene):
        out.append(_phrase(k, c, len(members)) + "".join(loc(v) for s in members for v in s.qbox(scene.size)))
    return "".join(out)


def ovd_queries():
    qs = []
    for c in COLOURS:
        for s in SHAPES:
            qs += [f"{c} {s}s", f"{c} {s}"]
    qs += [f"{s}s" for s in SHAPES] + [f"{c} shapes" for c in COLOURS]
    return qs


def _singular(query):
    return query[:-1] if query.endswith("s") else query


def ovd_matches(scene, query):
    words = _singular(query).split()
    want_colour = words[0] if words[0] in COLOURS else None
    want_shape = words[-1] if words[-1] in SHAPES else None
    return [s for s in scene.ordered()
            if (want_colour is None or COLOURS[s.colour] == want_colour)
            and (want_shape is None or SHAPES[s.kind] == want_shape)]


def ovd_answer(scene, query):
    label = _singular(query)
    return "".join(label + "".join(loc(v) for v in s.qbox(scene.size)) for s in ovd_matches(scene, query))


MARGIN = 1.3


def referring_expressions(scene):
    """[(expression, shape)] for every expression that picks exactly one instance."""
    out = []
    for k, c, members in _class_groups(scene):
        if len(members) == 1:
            out.append((f"the {COLOURS[c]} {SHAPES[k]}", members[0]))
    for kind in range(5):
        pool = scene.shapes if kind == 4 else [s for s in scene.shapes if s.kind == kind]
        noun = "shape" if kind == 4 else SHAPES[kind]
        if len(pool) < 2:
            continue
        by_area = sorted(pool, key=lambda s: s.area)
        if by_area[-1].area >= MARGIN * by_area[-2].area:
            out.append((f"the biggest {noun}", by_area[-1]))
        if by_area[0].area * MARGIN <= by_area[1].area:
            out.append((f"the smallest {noun}", by_area[0]))
    return out


def res_answer(scene, shape):
    return "".join(loc(v) for v in shape.qpolygon(scene.size))


def case_json(scene, rng):
    """Every text of a scene, for the Rust twin's cross-check (tests/fixtures/scenes/cases.json)."""
    queries = ovd_queries()
    picks = [queries[i] for i in rng.choice(len(queries), size=4, replace=False)]
    return dict(size=scene.size, shapes=[s.to_json() for s in scene.shapes], words=[w.to_json() for w in scene.words],
                word_ink=ink_checksum(scene.words, scene.size), texts=dict(
        od=od_answer(scene), caption=caption(scene), grounding_input=caption(scene),
        grounding=grounding_answer(scene), ovd=[[q, ovd_answer(scene, q)] for q in picks],
        res=[[e, res_answer(scene, s)] for e, s in referring_expressions(scene)],
        ocr=ocr_answer(scene.words, scene.size), ocr_with_region=ocr_with_region_answer(scene.words, scene.size)))
