"""Parameter counts, the competition's parameter budget, and FLOPs measured by PyTorch itself.

Counts follow the competition rule (trainable parameters). Keras-written papers report a "total" that also
includes BatchNorm moving mean and variance; PyTorch keeps those as buffers, so ``count_bn_statistics`` gives
the number to add when comparing with such a paper (``num_batches_tracked`` is PyTorch-only and excluded).
"""
from __future__ import annotations

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from kaggle_kit.config import COMPETITION_MAX_PARAMS, budget_relation, check_max_params
from kaggle_kit.errors import ParameterBudgetError

DEFAULT_MAX_PARAMS = COMPETITION_MAX_PARAMS  # trainable parameters the competition allows


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Parameters (shared tensors once); trainable_only=False also counts frozen ones."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_bn_statistics(model: nn.Module) -> int:
    """Elements of BatchNorm running_mean + running_var: what Keras lists as non-trainable parameters."""
    return sum(m.running_mean.numel() + m.running_var.numel()
               for m in model.modules()
               if isinstance(m, nn.modules.batchnorm._NormBase) and m.running_mean is not None)


def check_parameter_budget(model: nn.Module, name: str, max_params: int = DEFAULT_MAX_PARAMS) -> int:
    """Trainable parameter count, or ParameterBudgetError naming the model unless it is under the budget.

    Strictly under: the competition allows models "under 5 million parameters", so exactly 5,000,000 is refused.
    ``max_params`` passes config's rule for model.max_params (ConfigError otherwise): it may be lower than the
    competition's limit, never higher."""
    max_params = check_max_params(max_params)
    n = count_parameters(model, trainable_only=True)
    relation = budget_relation(n, max_params)
    if relation is not None:
        raise ParameterBudgetError(
            f"model {name} has {n:,} trainable parameters, {relation} the budget of {max_params:,}; "
            f"choose a smaller model or narrower model.kwargs")
    return n


def combined_parameters_note(counts: list[int], max_params: int = DEFAULT_MAX_PARAMS) -> str | None:
    """A line for predictions that come from several models not under ``max_params`` together, else None.

    Each model passes the competition's budget on its own; whether the budget covers everything behind one
    submission is the course's reading, not the toolkit's, so the user hears the total before training and
    again before uploading rather than learning it from a disqualification."""
    total = sum(counts)
    if len(counts) < 2 or budget_relation(total, max_params) is None:
        return None
    return (f"note: these predictions come from {len(counts)} models with {total:,} trainable parameters in all "
            f"(each at most {max(counts):,}, under the {max_params:,} budget); if the competition's limit covers "
            f"everything behind a submission, submit one model")


def model_flops(model: nn.Module, input_size: tuple[int, ...] = (1, 3, 32, 32)) -> float:
    """Forward FLOPs per image (one multiply-add = 2 FLOPs), counted by torch.utils.flop_counter.

    Runs one no-grad forward in eval mode on the model's own device (a model built on the ``meta`` device
    costs nothing), then restores the training flag. Only convolutions and matrix products are counted;
    BatchNorm, activations, residual adds, SE gates and pooling would add about 0.4-1.1% on the seed networks
    (Mish taken as 5 FLOPs per element) and 2-3% on the tiny test models.
    """
    param = next(iter(model.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    x = torch.zeros(input_size, device=device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
    return counter.get_total_flops() / input_size[0]
