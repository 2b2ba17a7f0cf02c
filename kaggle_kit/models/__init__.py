"""Model zoo: the seed papers' networks, small test/demo models and adapted timm architectures.

``create_model(name, num_classes=10, **kw)`` builds any of them with random weights; ``list_models()`` names
the registered ones; ``timm/<arch>`` reaches any convolutional timm architecture. Importing this package
registers every built-in model.
"""
from kaggle_kit.models import seeds, small  # noqa: F401  (registers the built-in models)
from kaggle_kit.models.counting import (DEFAULT_MAX_PARAMS, check_parameter_budget, count_bn_statistics,
                                        count_parameters, model_flops)
from kaggle_kit.models.registry import TIMM_PREFIX, create_model, list_models, model_entry, register_model

__all__ = [
    "DEFAULT_MAX_PARAMS", "TIMM_PREFIX", "check_parameter_budget", "count_bn_statistics", "count_parameters",
    "create_model", "list_models", "model_entry", "model_flops", "register_model",
]
