"""Test-time augmentation: views as pure tensor functions, a view list per level, one forward per batch.

A view is a name read left to right as the steps applied: ``identity``, ``hflip``, ``shift:dx,dy`` (content
moves ``dx`` pixels right and ``dy`` down), joined by ``+`` (``shift:1,1+hflip`` shifts, then mirrors).
Views act on the normalised float NCHW batch the model sees.

Shift padding is ``reflect`` by default: it adds no artificial edge, it is what airbench's level-2 TTA uses,
and because normalisation is a per-channel affine map, reflecting before or after it gives the same tensor.
``zeros`` pads with 0 in the normalised space, i.e. with the dataset's mean colour (not black); it suits
models trained on crops padded after normalisation.

Levels: ``none`` (1 view), ``flip`` (2), ``flip+translate`` (6: airbench's level 2, the original and its
mirror weighted 1/4 each, the one-pixel down-right and up-left shifts and their mirrors 1/8 each), ``custom``
(the config's ``views``, equal weights). All views of a batch go through the model as one concatenated
batch, so TTA costs one forward of V*B images instead of V*B forwards of one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from kaggle_kit.config import TTA_AVERAGES as AVERAGES
from kaggle_kit.config import TTA_LEVELS as LEVELS
from kaggle_kit.config import TTA_PADS as PADS
from kaggle_kit.errors import ConfigError

MAX_SHIFT_PX = 8  # reflect padding needs the shift to be smaller than the image; 8 is far beyond useful

LEVEL_VIEWS: dict[str, tuple[tuple[str, float], ...]] = {
    "none": (("identity", 1.0),),
    "flip": (("identity", 0.5), ("hflip", 0.5)),
    "flip+translate": (
        ("identity", 0.25), ("hflip", 0.25),
        ("shift:1,1", 0.125), ("shift:1,1+hflip", 0.125),
        ("shift:-1,-1", 0.125), ("shift:-1,-1+hflip", 0.125),
    ),
}

Step = tuple  # ("hflip",) or ("shift", dx, dy)


# ------------------------------------------------------------------------------------------ pure views
def hflip(x: torch.Tensor) -> torch.Tensor:
    """Mirror left-right (last axis = width)."""
    return x.flip(-1)


def shift(x: torch.Tensor, dx: int, dy: int, pad: str = "reflect") -> torch.Tensor:
    """Move the content ``dx`` px right and ``dy`` px down, keeping the size; the uncovered border is padded."""
    if dx == 0 and dy == 0:
        return x
    if pad not in PADS:
        raise ConfigError(f"unknown padding '{pad}' (valid: {', '.join(PADS)})")
    p = max(abs(dx), abs(dy))
    height, width = x.shape[-2:]
    padded = F.pad(x, (p, p, p, p), mode="reflect" if pad == "reflect" else "constant")
    top, left = p - dy, p - dx
    return padded[..., top:top + height, left:left + width]


def parse_view(name: str) -> tuple[Step, ...]:
    """``"shift:1,1+hflip"`` -> (("shift", 1, 1), ("hflip",)); ``identity`` is the empty step list."""
    steps: list[Step] = []
    for token in name.strip().split("+"):
        token = token.strip()
        if token == "identity":
            continue
        if token == "hflip":
            steps.append(("hflip",))
            continue
        if token.startswith("shift:"):
            try:
                dx, dy = (int(v) for v in token[len("shift:"):].split(","))
            except ValueError:
                raise ConfigError(f"view '{name}': shift must look like shift:dx,dy with integers") from None
            if max(abs(dx), abs(dy)) > MAX_SHIFT_PX:
                raise ConfigError(f"view '{name}': shifts are limited to {MAX_SHIFT_PX} px")
            steps.append(("shift", dx, dy))
            continue
        raise ConfigError(f"view '{name}': unknown step '{token}' (valid: identity, hflip, shift:dx,dy)")
    return tuple(steps)


def apply_view(x: torch.Tensor, steps: tuple[Step, ...], pad: str = "reflect") -> torch.Tensor:
    for step in steps:
        x = hflip(x) if step[0] == "hflip" else shift(x, step[1], step[2], pad)
    return x


# ----------------------------------------------------------------------------------------------- plans
@dataclass(frozen=True)
class TTAPlan:
    """What to run: view names, their weights (summing to 1), how to average, how to pad shifts."""

    level: str
    views: tuple[str, ...]
    weights: tuple[float, ...]
    average: str = "logits"
    pad: str = "reflect"
    steps: tuple = field(init=False, repr=False, compare=False)  # parsed views, filled in __post_init__

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ConfigError(f"unknown TTA level '{self.level}' (valid: {', '.join(LEVELS)})")
        if self.average not in AVERAGES:
            raise ConfigError(f"unknown TTA average '{self.average}' (valid: {', '.join(AVERAGES)})")
        if self.pad not in PADS:
            raise ConfigError(f"unknown TTA padding '{self.pad}' (valid: {', '.join(PADS)})")
        if not self.views:
            raise ConfigError("TTA needs at least one view; set predict.views for tta: custom")
        if len(self.weights) != len(self.views) or abs(sum(self.weights) - 1.0) > 1e-6:
            raise ConfigError("TTA weights must be one per view and sum to 1")
        object.__setattr__(self, "steps", tuple(parse_view(v) for v in self.views))

    @property
    def n_views(self) -> int:
        return len(self.views)

    def describe(self) -> str:
        """The string stored with logits: enough to tell exactly which TTA produced them."""
        if self.level == "none":
            return "none"
        return f"{self.level}[{'|'.join(self.views)}] average={self.average} pad={self.pad}"


PLAIN = TTAPlan("none", ("identity",), (1.0,))


def make_plan(level: str, views: tuple[str, ...] = (), average: str = "logits", pad: str = "reflect") -> TTAPlan:
    if level == "custom":
        if not views:
            raise ConfigError("predict.tta is custom but predict.views is empty; list views such as "
                              "[identity, hflip, 'shift:1,0']")
        return TTAPlan(level, tuple(views), tuple(1.0 / len(views) for _ in views), average, pad)
    if level not in LEVEL_VIEWS:
        raise ConfigError(f"unknown TTA level '{level}' (valid: {', '.join(LEVELS)})")
    if views:
        raise ConfigError(f"predict.views is only used with tta: custom (tta is '{level}')")
    names, weights = zip(*LEVEL_VIEWS[level])
    return TTAPlan(level, names, weights, average, pad)


def plan_from_config(cfg) -> TTAPlan:
    """Build the plan from a ``PredictConfig``."""
    return make_plan(cfg.tta, tuple(cfg.views), cfg.average, cfg.pad)


# ------------------------------------------------------------------------------------ batched inference
def stack_views(x: torch.Tensor, plan: TTAPlan) -> torch.Tensor:
    """(B, C, H, W) -> (V*B, C, H, W), view-major, so one forward sees every view of every image."""
    if plan.n_views == 1 and not plan.steps[0]:
        return x
    return torch.cat([apply_view(x, steps, plan.pad) for steps in plan.steps])


def combine(view_logits: torch.Tensor, plan: TTAPlan) -> torch.Tensor:
    """(V, B, K) -> (B, K): weighted mean of logits, or log of the weighted mean of probabilities."""
    w = torch.tensor(plan.weights, dtype=view_logits.dtype, device=view_logits.device).view(-1, 1, 1)
    if plan.average == "logits":
        return (w * view_logits).sum(0)
    return torch.logsumexp(torch.log_softmax(view_logits, dim=-1) + w.log(), dim=0)


def forward_tta(model: torch.nn.Module, x: torch.Tensor, plan: TTAPlan) -> torch.Tensor:
    """Logits for one normalised batch under ``plan``: a single forward over all its views."""
    out = model(stack_views(x, plan)).float()
    if plan.n_views == 1:
        return out
    return combine(out.view(plan.n_views, x.shape[0], -1), plan)


def images_per_forward(batch_size: int, plan: TTAPlan) -> int:
    """Images per chunk so that a forward holds at most ``batch_size`` views (memory does not grow with V)."""
    return max(1, batch_size // plan.n_views)
