"""Architecture configurations of HTR-ConvText as data (see ``model.py`` and docs/model.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

#: Height in pixels of every line image: what the model reads, what crops, caches and synthetic lines are cut to.
HEIGHT = 64
#: The config fields that regularise training and leave the weights' shapes alone.
REGULARISATION = ("dropout", "attn_dropout", "drop_path")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture knobs. ``base`` is the paper model; see :data:`CONFIGS`."""

    dim: int = 512               # encoder width d; backbone stages use d/4, d/2, d
    depth: int = 8               # ConvText blocks
    heads: int = 8               # encoder attention heads
    mlp_ratio: float = 4.0       # encoder FFN hidden = mlp_ratio * d
    conv_kernel: int = 7         # encoder depthwise conv kernel
    down_after: int = 3          # downsample after this many blocks (0 = no hierarchy)
    up_after: int = 7            # upsample + skip after this many blocks
    mv_head_dim: int = 64        # MV-PE attention head dimension
    mv_stages: tuple[bool, bool, bool] = (True, True, True)  # which stages carry an MV-PE block
    stem_stride_w: int = 1       # 2 halves the frame rate (faster, fewer CTC frames per letter)
    num_classes: int = 80        # codec size incl. blank
    max_rel_pos: int = 128       # relative-bias table covers offsets in (-max_rel_pos, max_rel_pos)
    standardize: bool = False    # per-line input standardisation (faded ink, dark scans)
    dropout: float = 0.1
    attn_dropout: float = 0.1
    drop_path: float = 0.1       # stochastic depth, grows linearly to this over the blocks
    layer_scale_init: float = 1e-5  # LayerScale start; the paper's 1e-5 makes blocks start as identities

    @property
    def reduction(self) -> int:
        """Input columns per output frame."""
        return 4 * self.stem_stride_w

    @property
    def width_multiple(self) -> int:
        """Input widths are padded (white) to a multiple of this so each MV-PE sees whole 2x2 patches."""
        return 2 * self.reduction

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mv_stages"] = list(self.mv_stages)
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        data = dict(data)
        if "mv_stages" in data:
            data["mv_stages"] = tuple(bool(x) for x in data["mv_stages"])
        return cls(**data)

    def with_classes(self, num_classes: int) -> "ModelConfig":
        return replace(self, num_classes=num_classes)

    def regularised_like(self, other: "ModelConfig") -> "ModelConfig":
        """This architecture with ``other``'s dropout, attention dropout and stochastic depth: they change how a
        model trains, not its weights (``htrgui train --dropout``), so configs equal but for them share weights."""
        return replace(self, **{name: getattr(other, name) for name in REGULARISATION})


#: Named configurations. ``base`` reproduces the paper (65,920,016 parameters with 80 classes).
#: ``small`` is the CPU model (3.4M parameters, 0.42 GMAC per 64x512 line, 1/38 of base): d=128 with
#: MV-PE head dim 32, no MV-PE block on the first stage and a stride-2 stem in width (T = W/8, still 2-4
#: frames per handwritten letter at height 64). Measured on 2 shared cores, the high-resolution front end
#: (stage 1 and its MV-PE attention over W/2 tokens) dominated CPU time, and d=192/160 ran 3-6x slower than
#: d=128 for 1.6-2.2x the multiply-adds. ``tiny`` is for tests.
CONFIGS: dict[str, ModelConfig] = {
    "base": ModelConfig(),
    "small": ModelConfig(dim=128, depth=6, heads=4, mlp_ratio=4.0, down_after=2, up_after=5,
                         mv_head_dim=32, mv_stages=(False, True, True), stem_stride_w=2),
    # Candidates for a larger CPU model (issue 16: compared with ``small`` per CPU-hour): wider, or deeper.
    "medium": ModelConfig(dim=192, depth=6, heads=6, mlp_ratio=4.0, down_after=2, up_after=5,
                          mv_head_dim=32, mv_stages=(False, True, True), stem_stride_w=2),
    "small-deep": ModelConfig(dim=128, depth=10, heads=4, mlp_ratio=4.0, down_after=3, up_after=8,
                              mv_head_dim=32, mv_stages=(False, True, True), stem_stride_w=2),
    "tiny": ModelConfig(dim=64, depth=2, heads=2, mlp_ratio=2.0, down_after=1, up_after=2,
                        mv_head_dim=16, mv_stages=(False, True, True), stem_stride_w=2, dropout=0.0,
                        attn_dropout=0.0, drop_path=0.0, layer_scale_init=0.1),
}
