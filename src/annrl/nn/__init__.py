"""annrl's engine: layers with explicit forward and backward, a population axis, plain arrays.

>>> from annrl.nn import MLP, SGD, fit
>>> net = MLP([2, 2, 1], hidden="sigmoid", output="identity", population=100, seed=0)
>>> X = [[0, 0], [0, 1], [1, 0], [1, 1]]
>>> Y = [[0], [1], [1], [0]]
>>> history = fit(net, X, Y, loss="mse", optimizer=SGD(lr=0.02, momentum=0.9), epochs=2000)
>>> history.loss.shape
(2000, 100)
"""

from annrl.nn.activations import ACTIVATIONS, Activation, get_activation
from annrl.nn.conv import AvgPool2D, Conv2D, Flatten, MaxPool2D
from annrl.nn.fit import EpochState, History, Trainer, fit
from annrl.nn.gradcheck import GradCheck, gradcheck
from annrl.nn.init import INITS, He, Init, Normal, TorchDefault, Uniform, Xavier, get_init
from annrl.nn.layers import ActivationLayer, Dense, Layer
from annrl.nn.losses import LOSSES, MSE, BCEWithLogits, Huber, Loss, SoftmaxCrossEntropy, get_loss
from annrl.nn.model import MLP, Network
from annrl.nn.optim import OPTIMIZERS, SGD, Adam, Optimizer, RMSprop, get_optimizer
from annrl.nn.params import ParameterLayout, ParamSpec
from annrl.nn.recurrent import GRU, LSTM, ElmanRNN, PerStep, TakeLast
from annrl.nn.torch_bridge import from_torch, to_torch

__all__ = [
    "ACTIVATIONS", "Activation", "ActivationLayer", "Adam", "AvgPool2D", "BCEWithLogits", "Conv2D", "Dense",
    "ElmanRNN", "EpochState", "Flatten", "GRU", "GradCheck", "He", "History", "Huber", "INITS", "Init", "LOSSES",
    "LSTM", "Layer", "Loss", "MLP", "MSE", "MaxPool2D", "Network", "Normal", "OPTIMIZERS", "Optimizer", "ParamSpec",
    "ParameterLayout", "PerStep", "RMSprop", "SGD", "SoftmaxCrossEntropy", "TakeLast", "TorchDefault", "Trainer",
    "Uniform", "Xavier", "fit", "from_torch", "get_activation", "get_init", "get_loss", "get_optimizer", "gradcheck",
    "to_torch",
]
