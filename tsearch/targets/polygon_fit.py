"""Find a simple polygon with few vertices whose pixel-centre rasterization is a given image.

The witness sought: a simple polygon P with m <= K vertices such that every white pixel
centre lies strictly inside P and no black centre does (``raster.py``'s rule), up to
``tolerance`` wrong pixels. Every candidate is checked by exact re-rasterization, so a
returned polygon is a proof of validity; failing to find one is the only possible error
(a false rejection), measured in docs/polygon_validity.md.

Main route, a crack cover (pixel units, centres at half-integers):
- the boundary of the white region is the cyclic sequence of N cracks (w_k, b_k): a white
  centre and its 4-adjacent black centre (beyond the frame counts as black);
- an edge of P crossing cracks s..e-1 lies on a line L with n.w < c <= n.b for all of them,
  which exists iff every pair vector b - w lies in one open half-plane (angles span < pi);
  reach[s] is the longest such run (two pointers);
- so K lines cover the cycle: fewer than K covering runs is a (near-)necessary condition and
  rejects fast; greedy covers from every start are tried, each run's line the max-margin
  separator (perpendicular bisector of the closest pair of the two hulls), P the polygon of
  consecutive line intersections; pixels it gets wrong join the constraints of their nearest
  edge's run and the lines are refitted, a few times.
With a tolerance, two slower routes follow (approximate for tolerance >= 2): greedy vertex
reduction of the pixel staircase and the hull of white centres (delete a vertex, extend two
edges to meet, nudge a neighbour) checking each step, and refitting the image with one
boundary pixel flipped.

Closed rule: a polygon with white centres in its closure and black centres strictly outside
its closure becomes exact under the strict rule after a small outward offset; hull edges run
through white centres, so the reduction accepts either rule and offsets at the end.
"""

from __future__ import annotations

import numpy as np
import shapely

from .raster import pixel_centres

EPS = 1e-3  # staircase inset, pixels: keeps diagonal pinches apart
MAX_COVERS = 64  # crack covers tried per image
REPAIR_REACH = (0.0, 0.5)  # pixels: which edges a wrong pixel constrains (see _repair)
NUDGES = np.array([(dx, dy) for dx in (-0.5, -0.25, 0, 0.25, 0.5)
                   for dy in (-0.5, -0.25, 0, 0.25, 0.5) if dx or dy])


class PolygonFit:
    """Exactness tests of candidate polygons against one binary image (H, W) bool."""

    def __init__(self, white: np.ndarray, *, tolerance: int = 0):
        self.white = np.asarray(white, bool)
        self.side = self.white.shape[0]
        self.tolerance = tolerance
        x, y = pixel_centres(self.side)
        self.x, self.y, self.flat = x, y, self.white.reshape(-1)

    def mismatch(self, vertices: np.ndarray) -> tuple[int, str]:
        """(wrong pixels, rule) of the better rule ("open" strict, or "closed"); a big count
        when the polygon is not simple."""
        poly = shapely.Polygon(vertices)
        if len(vertices) < 3 or not poly.is_valid:
            return self.side**2 + 1, "open"
        shapely.prepare(poly)
        strict = int(np.count_nonzero(shapely.contains_xy(poly, self.x, self.y) != self.flat))
        if strict == 0:
            return 0, "open"
        closed = int(np.count_nonzero(shapely.intersects_xy(poly, self.x, self.y) != self.flat))
        return (strict, "open") if strict <= closed else (closed, "closed")

    def exact(self, vertices: np.ndarray) -> bool:
        return self.mismatch(vertices)[0] <= self.tolerance

    def finish(self, vertices: np.ndarray) -> np.ndarray | None:
        """Offset a closed-rule witness outward so that the strict rule holds; None if lost."""
        if self.mismatch(vertices)[1] == "closed":
            vertices = offset(vertices, self._margin(vertices))
        count, rule = self.mismatch(vertices)
        return vertices if rule == "open" and count <= self.tolerance else None

    def _margin(self, vertices: np.ndarray) -> float:
        """Half the distance from the polygon to the nearest black centre outside it."""
        poly = shapely.Polygon(vertices)
        black = ~self.flat & ~shapely.intersects_xy(poly, self.x, self.y)
        if not black.any():
            return 0.25
        d = shapely.distance(poly, shapely.points(self.x[black], self.y[black])).min()
        return float(min(0.25, d / 2))


def offset(vertices: np.ndarray, delta: float) -> np.ndarray:
    """Move each vertex of a counter-clockwise-or-not simple polygon outward so that every
    edge shifts by ``delta`` (mitre offset, same vertex count)."""
    v = np.asarray(vertices, float)
    sign = 1.0 if shapely.Polygon(v).exterior.is_ccw else -1.0
    edge = np.roll(v, -1, axis=0) - v  # edge i: v_i -> v_{i+1}
    normal = sign * np.stack([edge[:, 1], -edge[:, 0]], axis=1)  # outward for ccw
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    n_in, n_out = np.roll(normal, 1, axis=0), normal  # edges entering / leaving v_i
    bisector = n_in + n_out
    scale = 1.0 + np.einsum("ij,ij->i", n_in, n_out)  # 1 + cos(turn)
    return v + delta * bisector / np.maximum(scale, 1e-9)[:, None]


# ----------------------------------------------------------------------------- starts
def staircase(white: np.ndarray) -> np.ndarray | None:
    """Vertices of the boundary of the union of white pixel squares, inset by EPS."""
    i, j = np.nonzero(white)
    union = shapely.union_all(shapely.box(j, i, j + 1, i + 1))
    inset = union.buffer(-EPS, join_style="mitre")
    if not isinstance(inset, shapely.Polygon) or inset.interiors:
        return None
    return np.asarray(inset.exterior.coords)[:-1]


def starts(fit: PolygonFit) -> list[np.ndarray]:
    """Exact starting polygons, fewest vertices first."""
    i, j = np.nonzero(fit.white)
    found = []
    hull = shapely.MultiPoint(np.stack([j + 0.5, i + 0.5], axis=1)).convex_hull
    if isinstance(hull, shapely.Polygon):
        found.append(np.asarray(hull.exterior.coords)[:-1])
    stairs = staircase(fit.white)
    if stairs is not None:
        found.append(stairs)
        ring = shapely.Polygon(stairs)
        for t in (0.5, 0.75, 1.0, 1.5):
            simple = ring.simplify(t, preserve_topology=True)
            found.append(np.asarray(simple.exterior.coords)[:-1])
    exact = [v for v in found if fit.exact(v)]
    return sorted(exact, key=len)


# ----------------------------------------------------------------------------- reduction
def _line_meet(p1, p2, q1, q2) -> np.ndarray | None:
    """Intersection of the lines p1p2 and q1q2 (None when parallel)."""
    d1, d2 = p2 - p1, q2 - q1
    det = d1[0] * d2[1] - d1[1] * d2[0]
    if abs(det) < 1e-12:
        return None
    s = ((q1[0] - p1[0]) * d2[1] - (q1[1] - p1[1]) * d2[0]) / det
    return p1 + s * d1


def _order(v: np.ndarray) -> np.ndarray:
    """Vertex indices, least significant first (smallest triangle with its neighbours)."""
    a, b, c = np.roll(v, 1, axis=0), v, np.roll(v, -1, axis=0)
    area = np.abs((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))
    return np.argsort(area, kind="stable")


def _deletions(v: np.ndarray):
    for i in _order(v):
        yield np.delete(v, i, axis=0)


def _extensions(v: np.ndarray):
    m = len(v)
    for i in _order(v):
        a, b, c, d = v[(i - 1) % m], v[i], v[(i + 1) % m], v[(i + 2) % m]
        p = _line_meet(a, b, c, d)
        if p is not None and np.all(np.abs(p - b) < 4 * len(v)):
            w = v.copy()
            w[i] = p
            yield np.delete(w, (i + 1) % m, axis=0)


def _nudged_deletions(v: np.ndarray):
    m = len(v)
    for i in _order(v):
        w = np.delete(v, i, axis=0)
        for k in ((i - 1) % (m - 1), i % (m - 1)):  # the two neighbours of the deleted vertex
            for step in NUDGES:
                u = w.copy()
                u[k] = u[k] + step
                yield u


def reduce(v: np.ndarray, fit: PolygonFit, max_vertices: int) -> np.ndarray:
    """Greedily remove vertices while the polygon stays exact; stops at max_vertices."""
    while len(v) > max_vertices:
        for moves in (_deletions, _extensions, _nudged_deletions):
            w = next((w for w in moves(v) if fit.exact(w)), None)
            if w is not None:
                v = w
                break
        else:
            return v
    return v


# ----------------------------------------------------------------------------- crack cover
AXES = np.array([(1, 0), (0, 1), (-1, 0), (0, -1)])  # unit steps (dx, dy), pixel units


def cracks(white: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boundary cracks in contour order: white centres (N, 2) and their 4-adjacent black
    centres (N, 2) (pixels beyond the frame count as black), pixel units.

    Each crack is a unit edge between pixel corners, directed so that its white pixel lies on
    the side of n = (-d_y, d_x); following edges end to start and turning towards white
    first keeps diagonal (pinched) white pixels apart, as white is 4-connected."""
    padded = np.pad(white, 1)
    starts, directions = [], []
    for u in AXES:  # u: from a white pixel to its black neighbour
        dx, dy = u
        black = ~np.roll(padded, (-dy, -dx), axis=(0, 1))
        i, j = np.nonzero(padded & black)
        mid = np.stack([j - 0.5 + dx / 2, i - 0.5 + dy / 2], axis=1)  # unpadded pixel units
        d = np.array([-dy, dx])
        starts.append(mid - d / 2)
        directions.append(np.broadcast_to(d, mid.shape))
    a, d = np.concatenate(starts), np.concatenate(directions)
    edge_at = {(*np.rint(p).astype(int), *q): k for k, (p, q) in enumerate(zip(a, d))}
    order, k = [], 0
    while not order or k != order[0]:
        order.append(k)
        end, dk = np.rint(a[k] + d[k]).astype(int), d[k]
        towards_white = np.array([-dk[1], dk[0]])
        k = next(edge_at[(*end, *t)] for t in (towards_white, dk, -towards_white)
                 if (*end, *t) in edge_at)
    mid = a[order] + d[order] / 2
    normal = np.stack([-d[order][:, 1], d[order][:, 0]], axis=1)
    return mid + normal / 2, mid - normal / 2


def separator(inner: np.ndarray, outer: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Max-margin line n.x = c with n.inner < c < n.outer (the perpendicular bisector of the
    closest pair of the two convex hulls); None when the hulls meet."""
    hull_in = shapely.multipoints(np.asarray(inner, float)).convex_hull
    hull_out = shapely.multipoints(np.asarray(outer, float)).convex_hull
    if hull_in.intersects(hull_out):
        return None
    p, q = np.asarray(shapely.shortest_line(hull_in, hull_out).coords)
    n = q - p
    return n, float(n @ (p + q) / 2)


class CrackCover:
    """Cover of the cyclic crack sequence by runs that one line can separate."""

    def __init__(self, white: np.ndarray):
        self.inner, self.outer = cracks(white)
        self.n = len(self.inner)
        self.reach = self._reach()

    def run(self, s: int, e: int) -> tuple[np.ndarray, np.ndarray]:
        idx = np.arange(s, e) % self.n
        return self.inner[idx], self.outer[idx]

    def _reach(self) -> np.ndarray:
        """reach[s]: the largest e such that cracks s..e-1 (cyclic) have a separating line
        (two pointers: a run inside a separable run is separable)."""
        reach, e = np.zeros(self.n, int), 1
        for s in range(self.n):
            e = max(e, s + 1)
            while e - s < self.n - 1 and self.separable(s, e + 1):
                e += 1
            reach[s] = e
        return reach

    def separable(self, s: int, e: int) -> bool:
        """Some line has inner points strictly on one side, outer ones on the other (or on
        it): n.(b - w) > 0 for every pair, i.e. all pair vectors b - w lie in an open
        half-plane, i.e. their angles around the first crack's span less than pi."""
        inner, outer = self.run(s, e)
        v = (outer[None, :, :] - inner[:, None, :]).reshape(-1, 2)  # (L*L, 2)
        u = outer[0] - inner[0]
        angle = np.arctan2(u[0] * v[:, 1] - u[1] * v[:, 0], v @ u)  # relative to u, (-pi, pi]
        return bool(angle.max() - angle.min() < np.pi - 1e-9)

    def covers(self, max_runs: int) -> list[list[tuple[int, int]]]:
        """Greedy covers from every start with at most max_runs runs, fewest runs first."""
        found = {}
        for s in range(self.n):
            runs, at = [], s
            while at < s + self.n and len(runs) <= max_runs:
                e = min(self.reach[at % self.n] + (at - at % self.n), s + self.n)
                runs.append((at, e))
                at = e
            if len(runs) <= max_runs:
                found.setdefault(tuple(runs), None)
        return sorted((list(c) for c in found), key=len)


def polygon_from_lines(lines: list[tuple[np.ndarray, float]]) -> np.ndarray | None:
    """Vertices where consecutive lines n.x = c meet (None when two are parallel)."""
    vertices = []
    for (n1, c1), (n2, c2) in zip(lines, lines[1:] + lines[:1]):
        a = np.array([n1, n2])
        if abs(np.linalg.det(a)) < 1e-12:
            return None
        vertices.append(np.linalg.solve(a, [c1, c2]))
    return np.array(vertices)


def fit_cover(fit: PolygonFit, cover: CrackCover, runs: list[tuple[int, int]],
              repairs: int = 6) -> np.ndarray | None:
    """Polygon of the cover's lines, repaired (see ``_repair``) first with the nearest edge
    only, then with every edge within half a pixel of it."""
    for reach in REPAIR_REACH:
        v = _fit_lines(fit, [list(cover.run(s, e)) for s, e in runs], repairs, reach)
        if v is not None:
            return v
    return None


def _fit_lines(fit: PolygonFit, sets: list, repairs: int, reach: float) -> np.ndarray | None:
    while len(sets) < 3:  # a polygon needs three lines: split the longest run
        k = max(range(len(sets)), key=lambda r: len(sets[r][0]))
        a, b = sets[k]
        h = max(1, len(a) // 2)
        sets[k:k + 1] = [[a[:h], b[:h]], [a[h:], b[h:]]]
        if len(sets[k + 1][0]) == 0:
            return None
    for _ in range(repairs + 1):
        lines = [separator(a, b) for a, b in sets]
        if any(line is None for line in lines):
            return None
        v = polygon_from_lines(lines)
        if v is None:
            return None
        if fit.exact(v):
            return v
        if not _repair(fit, v, sets, reach):
            return None
    return None


def _repair(fit: PolygonFit, v: np.ndarray, sets: list, reach: float) -> bool:
    """Add each wrongly rasterized centre to the constraints of the runs of its nearest
    edges (those within ``reach`` pixels of the nearest: near a sharp vertex the other edge
    may be the one to move) that stay separable with it; False when none does."""
    poly = shapely.Polygon(v)
    if not poly.is_valid:
        return False
    wrong = shapely.contains_xy(poly, fit.x, fit.y) != fit.flat
    edges = shapely.linestrings(np.stack([v, np.roll(v, -1, axis=0)], axis=1))
    for x, y, is_white in zip(fit.x[wrong], fit.y[wrong], fit.flat[wrong]):
        distance = shapely.distance(edges, shapely.Point(x, y))
        taken = False
        for r in np.flatnonzero(distance <= distance.min() + reach):
            k = (r + 1) % len(sets)  # edge r joins vertex r (lines r, r+1) to r+1: line r+1
            a, b = sets[k]
            grown = ([*a, (x, y)], b) if is_white else (a, [*b, (x, y)])
            if separator(*grown) is not None:
                sets[k], taken = grown, True
        if not taken:
            return False
    return True


def fit_polygon(white: np.ndarray, *, max_vertices: int, tolerance: int = 0,
                flips: bool = True) -> np.ndarray | None:
    """Vertices (m, 2) in pixel units, m <= max_vertices, rasterizing to ``white`` (H, W)
    within ``tolerance`` pixels; None when the search finds none. With a tolerance, images
    one boundary pixel away are also fitted (one level of flips: slow, and approximate for
    tolerance >= 2)."""
    v = _fit(np.asarray(white, bool), max_vertices, tolerance)
    if v is None and tolerance > 0 and flips:
        for flipped in boundary_flips(white):
            v = fit_polygon(flipped, max_vertices=max_vertices, tolerance=tolerance - 1, flips=False)
            if v is not None:
                return v
    return v


def boundary_flips(white: np.ndarray):
    """Copies of the image with one pixel flipped, for each pixel 4-adjacent to the other colour."""
    p = np.pad(white, 1, mode="edge")
    centre = p[1:-1, 1:-1]
    boundary = ((centre != p[:-2, 1:-1]) | (centre != p[2:, 1:-1])
                | (centre != p[1:-1, :-2]) | (centre != p[1:-1, 2:]))
    for i, j in zip(*np.nonzero(boundary)):
        flipped = white.copy()
        flipped[i, j] = ~flipped[i, j]
        if flipped.any():
            yield flipped


def _fit(white: np.ndarray, max_vertices: int, tolerance: int) -> np.ndarray | None:
    fit = PolygonFit(white, tolerance=tolerance)
    cover = CrackCover(fit.white)
    covers = cover.covers(max_vertices)
    if not covers and tolerance == 0:  # each edge of an exact witness separates a run of
        return None  # cracks, so K lines would cover them
    for runs in covers[:MAX_COVERS]:
        v = fit_cover(fit, cover, runs)
        if v is not None and len(v) <= max_vertices:
            return v
    if tolerance == 0:  # greedy reduction rescued no exact case in our measurements
        return None
    for start in starts(fit):
        v = reduce(start, fit, max_vertices)
        if len(v) <= max_vertices:
            done = fit.finish(v)
            if done is not None:
                return done
    return None
