"""nnlab — the shared library behind the nnlab book.

Every lab imports what it needs from here, so that a second lab never copies code
from a first one. Importing ``nnlab`` is cheap: it sets quiet defaults for the
deep-learning backends (before Keras is imported) and checks ``KERAS_BACKEND``;
the heavy modules (Keras models, training) are imported only when a lab asks.

Modules, each introduced in the lab named in its docstring:

- ``nnlab.profiles``  smoke / quick / full: one code path, scaled data and epochs
- ``nnlab.seeding``   one helper that seeds every random number generator
- ``nnlab.data``      MNIST, Fashion-MNIST and CIFAR-10: hash-checked, cached, mirrored
- ``nnlab.splits``    train / validation / test arrays ready for a model
- ``nnlab.models``    Keras 3 model builders (MLP, CNN)
- ``nnlab.training``  training with cached results ("train or load")
- ``nnlab.plots``     figures that share one look
- ``nnlab.claims``    the "what the reports claimed, and what we found" tables
- ``nnlab.results``   headline numbers recorded by the labs, for the results page and ``bench``
- ``nnlab.bench``, ``nnlab.throughput``   ``python -m nnlab bench``: every lab in one profile; lab 5c's
  CNN training images/s, naive set-up vs ours
- ``nnlab.numpy_mlp``, ``nnlab.gradcheck``, ``nnlab.init_experiments``   lab 1
- ``nnlab.inspect``   layer outputs, activation statistics and per-layer gradients (labs 1, 2, 5)
- ``nnlab.sweeps``    a grid of configurations → a results table and curves (labs 2, 3, 5)
- ``nnlab.knobs``, ``nnlab.search``   optimizers, losses and a budgeted KerasTuner search (lab 3)
- ``nnlab.permute``   pixel permutations and the exact first-layer argument (lab 4)
- ``nnlab.cnn_tools`` confusion matrices, mistakes, augmentation, a fast CIFAR recipe (lab 5)
- ``nnlab.clocks``, ``nnlab.clock_models``   clock images, time error, five model families (lab 6)
- ``nnlab.widgets``   interactive explorers with static fallbacks for the website
"""

from __future__ import annotations

from nnlab import _environment

_environment.configure()

from nnlab.profiles import Profile, get_profile  # noqa: E402
from nnlab.seeding import set_seed  # noqa: E402
from nnlab.lab import start_lab  # noqa: E402

__version__ = "0.1.0"
__all__ = ["Profile", "get_profile", "set_seed", "start_lab", "__version__"]
