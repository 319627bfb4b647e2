"""A small neural-network library on the ``autograd`` engine, and the article's network."""

from . import (
    code_templates,  # noqa: F401  (registers how nn's primitives read in backward_code)
    functional,
    onnx_export,  # noqa: F401  (registers how nn's primitives are written as ONNX)
)
from .compare import GradientReport, GradientRow, broken_manual_gradients, compare_gradients
from .layers import (
    GELU,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Embedding,
    Flatten,
    LayerNorm,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)
from .losses import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, mse_loss
from .module import Module
from .optim import SGD, Adam, RMSprop
from .reference import NumpyTwoLayerNet
from .scalar import MLP, Layer, Neuron
from .training import OPTIMIZERS, TrainingResult, train_article_network
from .two_layer import ScalarTwoLayerNet, TwoLayerNet

__all__ = [
    "GELU",
    "MLP",
    "OPTIMIZERS",
    "SGD",
    "Adam",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "Dropout",
    "Embedding",
    "Flatten",
    "GradientReport",
    "GradientRow",
    "Layer",
    "LayerNorm",
    "Linear",
    "MaxPool2d",
    "Module",
    "Neuron",
    "NumpyTwoLayerNet",
    "RMSprop",
    "ReLU",
    "ScalarTwoLayerNet",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "TrainingResult",
    "TwoLayerNet",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "broken_manual_gradients",
    "compare_gradients",
    "cross_entropy",
    "functional",
    "mse_loss",
    "train_article_network",
]
