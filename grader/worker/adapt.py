"""Run code a TA accepts that today's PyTorch, on the grader's CPU, would refuse.

Students ran their notebooks on a GPU, or with an older PyTorch. Each shim here does
what the student's own environment did, and records that it was needed
(``runtime.adapted``): the judge notes it on the check's card and applies the
rubric's policy for it (``[adaptations]`` in the suite's ``rubric.toml``; no
deduction by default). Nothing here changes what correct modern code computes.

``cuda_on_cpu`` (installed only when grading on the CPU): ``.cuda()``,
``.to('cuda')``, ``.type(torch.cuda.FloatTensor)``, ``torch.cuda.FloatTensor(...)``,
``torch.set_default_tensor_type('torch.cuda.FloatTensor')`` and ``device='cuda'`` in
the tensor factories run on the CPU. ``old_torch``: ``loss.data[0]`` and
``loss.data.numpy()[0]`` on a 0-dim loss give its number, as before PyTorch 0.4;
``import torch.tensor as tensor`` binds ``torch.tensor``, as it did while
``torch/tensor.py`` existed.
"""

import importlib.abc
import importlib.util
import sys

import numpy

from .runtime import adapted

LEGACY_TYPES = (
    "FloatTensor",
    "DoubleTensor",
    "HalfTensor",
    "BFloat16Tensor",
    "LongTensor",
    "IntTensor",
    "ShortTensor",
    "CharTensor",
    "ByteTensor",
    "BoolTensor",
)
FACTORIES = (
    "tensor",
    "as_tensor",
    "randn",
    "rand",
    "randint",
    "zeros",
    "ones",
    "empty",
    "full",
    "arange",
    "linspace",
    "logspace",
    "eye",
    "normal",
    "randperm",
    "zeros_like",
    "ones_like",
    "randn_like",
    "rand_like",
    "empty_like",
    "full_like",
)
_INSTALLED: set[str] = set()


def install(device):
    """The shims for grading on ``device`` (once per process)."""
    if "old_torch" not in _INSTALLED:
        _INSTALLED.add("old_torch")
        _install_old_torch()
    if device == "cpu" and "cuda_on_cpu" not in _INSTALLED:
        _INSTALLED.add("cuda_on_cpu")
        _install_cuda_on_cpu()


def _is_cuda(device):
    if isinstance(device, str):
        return device.split(":")[0].strip() == "cuda"
    return getattr(device, "type", None) == "cuda" and type(device).__name__ == "device"


def _install_cuda_on_cpu():
    import torch

    tensor = torch.Tensor
    to, type_ = tensor.to, tensor.type

    def cuda(self, device=None, non_blocking=False, **kwargs):
        adapted("cuda_on_cpu", "`.cuda()`")
        return to(self, "cpu", copy=True)  # a copy, as on a GPU: not a leaf when it has a graph

    def to_cpu(self, *args, **kwargs):
        if (args and _is_cuda(args[0])) or _is_cuda(kwargs.get("device")):
            adapted("cuda_on_cpu", "`.to('cuda')`")
            args = ("cpu",) + args[1:] if args and _is_cuda(args[0]) else args
            if "device" in kwargs:
                kwargs["device"] = "cpu"
            kwargs["copy"] = True
        return to(self, *args, **kwargs)

    def type_cpu(self, dtype=None, *args, **kwargs):
        name = (
            dtype
            if isinstance(dtype, str)
            else getattr(dtype, "__module__", "") + "." + getattr(dtype, "__name__", "")
        )
        if isinstance(name, str) and name.startswith("torch.cuda."):
            adapted("cuda_on_cpu", "`.type(torch.cuda.FloatTensor)`")
            dtype = "torch." + name.rsplit(".", 1)[1]
        if dtype is None:
            return type_(self, *args, **kwargs)
        return type_(self, dtype, *args, **kwargs)

    tensor.cuda, tensor.to, tensor.type = cuda, to_cpu, type_cpu
    for name in FACTORIES:
        factory = getattr(torch, name, None)
        if factory is not None:
            setattr(torch, name, _on_cpu(factory, name))
    for name in LEGACY_TYPES:
        if hasattr(torch, name):
            setattr(torch.cuda, name, _legacy_on_cpu(getattr(torch, name), name))
    set_default = torch.set_default_tensor_type

    def set_default_on_cpu(kind):
        name = kind if isinstance(kind, str) else f"{kind.__module__}.{kind.__name__}"
        if name.startswith("torch.cuda."):
            adapted("cuda_on_cpu", f"`torch.set_default_tensor_type('{name}')`")
            kind = "torch." + name.rsplit(".", 1)[1]
        return set_default(kind)

    torch.set_default_tensor_type = set_default_on_cpu


def _on_cpu(factory, name):
    def make(*args, **kwargs):
        if _is_cuda(kwargs.get("device")):
            adapted("cuda_on_cpu", f"`torch.{name}(..., device='cuda')`")
            kwargs["device"] = "cpu"
        return factory(*args, **kwargs)

    make.__name__ = make.__qualname__ = name
    make.__doc__ = factory.__doc__
    return make


def _legacy_on_cpu(cpu_type, name):
    """``torch.cuda.FloatTensor(...)`` and friends, made on the CPU; ``.type()`` and
    ``torch.set_default_tensor_type`` read the CUDA name off it."""

    def make(*args, **kwargs):
        adapted("cuda_on_cpu", f"`torch.cuda.{name}(...)`")
        return cpu_type(*args, **kwargs)

    make.__module__, make.__name__, make.__qualname__ = "torch.cuda", name, name
    return make


def _install_old_torch():
    import torch

    getitem = torch.Tensor.__getitem__

    def old_getitem(self, index):
        try:
            return getitem(self, index)
        except IndexError:
            if not (type(index) is int and index in (0, -1) and self.dim() == 0):
                raise
            adapted("old_torch", "`loss.data[0]` on a 0-dim loss (today: `loss.item()`)")
            return self if self.requires_grad else self.item()

    to_numpy = torch.Tensor.numpy

    def old_numpy(self, *args, **kwargs):
        array = to_numpy(self, *args, **kwargs)
        return array.view(_OldScalar) if array.ndim == 0 else array

    torch.Tensor.__getitem__ = old_getitem
    torch.Tensor.numpy = old_numpy
    sys.meta_path.insert(0, _OldModules())


class _OldScalar(numpy.ndarray):
    """The 0-dim array of a 0-dim tensor's ``.numpy()``, which also gives its number as
    ``[0]``: ``loss.data.numpy()[0]``, from when a loss was a 1-element vector."""

    def __getitem__(self, index):
        if self.ndim == 0 and type(index) is int and index in (0, -1):
            adapted("old_torch", "`loss.data.numpy()[0]` on a 0-dim loss (today: `loss.item()`)")
            return numpy.ndarray.__getitem__(self, ())
        return numpy.ndarray.__getitem__(self, index)

    def __repr__(self):
        return repr(self.view(numpy.ndarray))

    def __array_wrap__(self, array, context=None, return_scalar=False):
        """Arithmetic on it gives what it gives on a plain 0-dim array: a numpy scalar."""
        array = array.view(numpy.ndarray)
        return array[()] if array.ndim == 0 else array


class _OldModules(importlib.abc.MetaPathFinder):
    """``import torch.tensor as tensor``: binds the function ``torch.tensor``, as the
    module that older PyTorch releases had made Python do."""

    def find_spec(self, name, path=None, target=None):
        if name != "torch.tensor":
            return None
        adapted("old_torch", "`import torch.tensor as tensor` (today: `from torch import tensor`)")
        return importlib.util.spec_from_loader(name, _Existing())


class _Existing(importlib.abc.Loader):
    def create_module(self, spec):
        import torch

        return torch.tensor  # the import then rebinds torch.tensor to itself

    def exec_module(self, module):
        pass
