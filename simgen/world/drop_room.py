"""Room for a just-spawned body: spawning into contact makes bodies explode, so an overlapping drop is lifted
until free, and moved aside where a fixture above (a shelf's upper board) blocks the way up."""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import pybullet as p

MAX_LIFTS = 60
TOUCH = 5e-4  # metres of overlap that count as touching, not penetrating
GRID = 9  # points per side of the support region to move a drop to where the way up is blocked
TRIES = 6  # of those, how many are tried (where the pile under them is lowest first)


def make_room(body: int, placed: Sequence[int], fixtures: Sequence[int], region: tuple, client: int) -> bool:
    """Lift `body` until it overlaps none of `placed`. Where a fixture above blocks the way, try it at the points of
    the support `region` where the pile is lowest; False where they are all blocked: there is no room for it under
    the fixture (lifted past it, it came to rest on top of a shelf, labeled as if on the board below)."""
    start = p.getBasePositionAndOrientation(body, physicsClientId=client)
    if _lift(body, placed, fixtures, client):
        return True
    for xy in _roomiest(body, placed, fixtures, region, client)[:TRIES]:
        _move(body, (*xy, start[0][2]), client)
        if _lift(body, placed, fixtures, client):
            return True
    _move(body, start[0], client)
    return False


def _lift(body: int, placed: Sequence[int], fixtures: Sequence[int], client: int) -> bool:
    """Raise `body` by half its height until it overlaps nothing (True), or until a lift takes it into a fixture
    above, which blocks the way up (False): one of `fixtures` it overlaps, or that presses into it from above,
    only since that lift."""
    before = None
    for _ in range(MAX_LIFTS):
        overlaps = list(_overlaps(body, placed, client))
        if not overlaps:
            return True
        hit = {other for other, _ in overlaps if other in fixtures}
        above = {other for other, normal in overlaps if other in hit and normal[2] < -0.5}
        if before is not None and (hit - before[0] or above - before[1]):
            return False
        before = hit, above
        lo, hi = p.getAABB(body, physicsClientId=client)
        pos, _ = p.getBasePositionAndOrientation(body, physicsClientId=client)
        _move(body, (pos[0], pos[1], pos[2] + max(0.01, 0.5 * (hi[2] - lo[2]))), client)
    return True


def _overlaps(body: int, others: Sequence[int], client: int) -> Iterator[tuple[int, Sequence[float]]]:
    """(other body, contact normal pointing from it into `body`) for each overlap deeper than touching."""
    for other in others:
        for pt in p.getClosestPoints(body, other, 0.0, physicsClientId=client):
            if pt[8] < -TOUCH:
                yield other, pt[7]


def _move(body: int, position: Sequence[float], client: int) -> None:
    """Put `body` at `position`, keeping its orientation."""
    orientation = p.getBasePositionAndOrientation(body, physicsClientId=client)[1]
    p.resetBasePositionAndOrientation(body, position, orientation, physicsClientId=client)


def _roomiest(body: int, placed: Sequence[int], fixtures: Sequence[int], region: tuple,
              client: int) -> list[tuple[float, float]]:
    """Points of `region` for `body`'s position, those where it would land lowest on the other dropped bodies
    first, and among those, the farthest from them. Along a side where the body is wider than the region, the one
    point centres it there."""
    lo, hi = (np.asarray(v, dtype=float)[:2] for v in p.getAABB(body, physicsClientId=client))
    pos = np.asarray(p.getBasePositionAndOrientation(body, physicsClientId=client)[0][:2])
    (x0, y0), (x1, y1) = region
    first, last = np.array([x0, y0]) + (pos - lo), np.array([x1, y1]) - (hi - pos)
    middle = (first + last) / 2
    xs, ys = (np.linspace(a, b, GRID) if a <= b else np.array([m]) for a, b, m in zip(first, last, middle))
    points = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    boxes = [p.getAABB(b, physicsClientId=client) for b in placed if b not in fixtures]
    if not boxes:
        return [tuple(map(float, xy)) for xy in points]
    others_lo = np.array([b[0][:2] for b in boxes])[None]
    others_hi = np.array([b[1][:2] for b in boxes])[None]
    tops = np.array([b[1][2] for b in boxes])[None]
    mine_lo, mine_hi = (points - (pos - lo))[:, None], (points + (hi - pos))[:, None]
    under = np.all((mine_lo < others_hi) & (others_lo < mine_hi), axis=-1)
    pile = np.where(under, tops, -np.inf).max(axis=1)
    gap = np.maximum(others_lo - mine_hi, 0) + np.maximum(mine_lo - others_hi, 0)
    room = np.linalg.norm(gap, axis=-1).min(axis=1)
    order = np.lexsort((-room, pile))
    return [tuple(map(float, points[i])) for i in order]
