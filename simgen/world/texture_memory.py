"""What PyBullet holds for textures, estimated from their pixels and measured against a budget.

A client keeps every texture loaded into it until it disconnects (TinyRenderer's loadTexture; under EGL, the
plugin's upload at every build, of random textures and of the meshes' own). Under EGL, PyBullet also caches
the pixels of every mesh texture for the life of the process. Both grow with a texture's pixels, so a 1024x1024
texture holds 16 times what a 256x256 one does. Bytes per pixel measured with `python benchmarks/texture_cache.py
--size 256|1024` and TinyRenderer's loadTexture (BENCHMARKS.md, "Memory over long runs"); of the meshes' own
textures, from the growth over 200 scenes of four bodies with a 2048x2048 or a 512x512 texture each."""

from __future__ import annotations

from simgen.scene import ObjectSpec
from simgen.textures import spec_key

CLIENT_BYTES_PER_PIXEL = {"tiny": 8.6, "egl": 8.2}  # held by a client until it disconnects
MESH_BYTES_PER_PIXEL = 5.2  # EGL: of a mesh's own textures, uploaded for each body at every build, held likewise
PROCESS_BYTES_PER_PIXEL = 6.5  # EGL: held by the process until it ends
MB = 2**20


class TextureMemory:
    """Running estimates of texture memory held by the client and by the process; `budget_mb` 0 means none."""

    def __init__(self, budget_mb: float):
        self.budget = budget_mb * MB
        self.client = 0.0
        self.process = 0.0
        self._cached: set[str] = set()

    def add(self, specs: list[ObjectSpec], renderer: str) -> None:
        """Count the distinct textures of one build, each loaded into the client (again) by that build."""
        textures = {spec_key(s.texture): s.texture.size ** 2 for s in specs if s.texture is not None}
        self.client += sum(textures.values()) * CLIENT_BYTES_PER_PIXEL[renderer]
        if renderer == "egl":
            for key in textures.keys() - self._cached:
                self.process += textures[key] * PROCESS_BYTES_PER_PIXEL
                self._cached.add(key)

    def add_mesh_textures(self, pixels: int) -> None:
        """Count the meshes' own textures one EGL build uploads (`pixels` in all, a body's as often as it is there)."""
        self.client += pixels * MESH_BYTES_PER_PIXEL

    def disconnected(self) -> None:
        self.client = 0.0

    @property
    def client_full(self) -> bool:
        return bool(self.budget) and self.client >= self.budget

    @property
    def process_full(self) -> bool:
        return bool(self.budget) and self.process >= self.budget
