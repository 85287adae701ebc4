"""Per-body contact properties from the scene spec: friction, restitution, and bodies nothing collides with."""

from __future__ import annotations

import pybullet as p

from simgen.scene import ObjectSpec
from simgen.world.appearance import links


def apply_contact(body: int, spec: ObjectSpec, client: int) -> None:
    """The spec's lateral friction and restitution, where it sets them; non-colliding bodies lose all contacts."""
    args = {k: v for k, v in (("lateralFriction", spec.friction), ("restitution", spec.restitution)) if v is not None}
    for link in links(body, client):
        if args:
            p.changeDynamics(body, link, physicsClientId=client, **args)
        if not spec.collides:
            p.setCollisionFilterGroupMask(body, link, 0, 0, physicsClientId=client)
