"""PyBullet behind one small interface; the only package that imports pybullet."""

from simgen.quiet import c_output_silenced

with c_output_silenced():  # pybullet prints its build time on import
    import pybullet  # noqa: F401

from simgen.world.renderer import choose_renderer, egl_available
from simgen.world.world import World

__all__ = ["World", "choose_renderer", "egl_available"]
