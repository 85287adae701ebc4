"""Physics settling: step until every object is at rest, within a bounded number of steps."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Sequence

import numpy as np
import pybullet as p

from simgen import validate
from simgen.errors import ConfigError


@dataclass
class Physics:
    """Engine settings, re-applied after every resetSimulation (which drops them)."""

    time_step: float = 1.0 / 120.0
    solver_iterations: int = 20
    max_steps: int = 600
    check_every: int = 10
    rest_linear: float = 0.02  # m/s
    rest_angular: float = 0.2  # rad/s
    linear_damping: float = 0.2
    angular_damping: float = 0.8
    rolling_friction: float = 0.002
    lateral_friction: float = 0.6

    @classmethod
    def checked(cls, beside: Sequence[str] = (), **settings: float) -> "Physics":
        """Settings from config, each checked: integers >= 1 (steps >= 0), other numbers >= 0, time step in (0, 0.1].

        beside: the other keys of the config group these come in (World's), named by the unknown-key error."""
        known = {f.name: f.type for f in fields(cls)}
        for key, value in settings.items():
            if key not in known:
                raise ConfigError(key, f"unknown key (expected one of: {', '.join([*beside, *known])})")
            if known[key] == "int":
                validate.integer(key, value, low=0 if key == "max_steps" else 1)
            else:
                step = key == "time_step"
                validate.number(key, value, low=0, high=0.1 if step else None, low_open=step)
        return cls(**settings)

    def apply(self, client: int) -> None:
        p.setGravity(0, 0, -9.81, physicsClientId=client)
        p.setPhysicsEngineParameter(fixedTimeStep=self.time_step, numSolverIterations=self.solver_iterations,
                                    physicsClientId=client)

    def prepare(self, body: int, client: int) -> None:
        """Damping and friction that bring rolling and spinning shapes to rest quickly."""
        p.changeDynamics(body, -1, linearDamping=self.linear_damping, angularDamping=self.angular_damping,
                         rollingFriction=self.rolling_friction, spinningFriction=self.rolling_friction,
                         lateralFriction=self.lateral_friction,
                         activationState=p.ACTIVATION_STATE_ENABLE_SLEEPING, physicsClientId=client)

    def settle(self, bodies: list[int], client: int) -> int:
        """Step until all `bodies` rest (two checks in a row) or max_steps; returns the steps taken."""
        steps, calm = 0, 0
        while steps < self.max_steps and bodies:
            for _ in range(min(self.check_every, self.max_steps - steps)):
                p.stepSimulation(physicsClientId=client)
                steps += 1
            calm = calm + 1 if self.at_rest(bodies, client) else 0
            if calm >= 2:
                break
        return steps

    def at_rest(self, bodies: list[int], client: int) -> bool:
        for body in bodies:
            lin, ang = p.getBaseVelocity(body, physicsClientId=client)
            if np.linalg.norm(lin) > self.rest_linear or np.linalg.norm(ang) > self.rest_angular:
                return False
        return True
