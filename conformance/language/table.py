"""The allowlist of the spec language, as data: every name, attribute and callable a spec may use.

Note [The allowlist table]
~~~~~~~~~~~~~~~~~~~~~~~~~~
Nothing in this module runs code: it is a set of literal tables that ``allowlist`` resolves
against the installed torch and NumPy, that ``docs/spec-language.md`` is generated from
(``python -m conformance.language.docs``), and that tests check (every entry exists on the
installed torch unless it has a version floor; no module-level entry is a mutable container).

``NAMES`` maps a topic to ``{dotted name: cost}``, where the dotted name starts at a module's
real name (``torch.nn.Linear``; a spec writes it ``nn.Linear``).  ``ATTRIBUTES`` maps the
dotted name of a class to ``{topic: {attribute: cost}}``: the attributes and methods a spec may
use on its instances (and on subclasses' instances).  ``SETTABLE`` lists the attributes a spec
may assign.  ``BUILTINS`` are the bare names (``len``, ``isinstance`` ...).

The cost of an entry says how ``limits`` bounds what it allocates or computes before it runs:

  free        returns a view, a flag or a scalar, or allocates at most what it reads
  pointwise   output is the broadcast of its tensor arguments (checked)
  reduce      output is no larger than its input
  data        builds from a Python value whose size is already bounded
  shape       torch.zeros(2, 3) / torch.zeros((2, 3)) / size=...: product of the sizes
  first       the first argument is the shape (torch.full, np.zeros)
  arange      (stop - start) / step elements
  steps       ``steps`` / ``num`` elements
  eye         n * m elements
  randint     ``size`` argument
  product     product of the operands' element counts (outer, kron)
  matmul      FLOPs of a matrix product (batch * n * k * m)
  combine     sum of the element counts of a list of tensors (cat, stack)
  module      product of an nn.Module constructor's integer arguments
  repeat      element count times the repeat counts (Tensor.repeat, tile)
  new         a new tensor of the shape given in the arguments (Tensor.new_ones)
  newfirst    like ``new`` with the shape as first argument (Tensor.new_full)
  expand      logical element count of the requested shape (expand, broadcast_to)
  listing     materializes a Python list of the tensor's elements (tolist): at most MAX_SEQUENCE
  strjoin     str.join: result length bounded
  strreplace  str.replace: result length bounded
  strsplit    str.split: bounded by the input
  type        a class a spec may name (isinstance, ``is``) but not call
  context     a context manager type for ``with`` (exact type) or as a decorator of a spec lambda
  withonly    a context manager whose constructor changes global state: only directly in ``with``
  gradmode    set_grad_enabled: a context manager and decorator that may also be called plainly,
              because every example restores the grad mode it started with (Note [Grad mode set
              by a plain call] in running.py)
  absent      a name that exists only so that a spec can show it does *not* exist (the access
              must raise AttributeError; if the installed torch has it, the access is refused)
"""
from __future__ import annotations

BUILTINS = {
    "conversions": {
        "bool": "free", "int": "free", "float": "free", "complex": "free", "str": "listing",
        "repr": "listing", "list": "listing", "tuple": "listing", "set": "listing", "dict": "listing",
        "slice": "free",
    },
    "inspection": {
        "isinstance": "free", "issubclass": "free", "callable": "free", "len": "free",
        "hasattr": "free", "type_is": "free", "same_data": "free", "parses_as_python": "free",
    },
    "iteration": {
        "range": "free", "enumerate": "free", "zip": "free", "map": "free", "filter": "free",
        "reversed": "free", "sorted": "listing", "all": "free", "any": "free",
    },
    "arithmetic": {
        "abs": "free", "min": "free", "max": "free", "sum": "free", "pow": "free",
        "round": "free", "divmod": "free",
    },
    "data loading": {"TensorDataset": "free", "DataLoader": "free"},
    "exceptions and warnings": {
        name: "type"
        for name in (
            "Exception", "ArithmeticError", "AttributeError", "IndexError", "KeyError", "LookupError",
            "NotImplementedError", "RuntimeError", "TypeError", "ValueError", "ZeroDivisionError",
            "Warning", "UserWarning", "DeprecationWarning", "FutureWarning", "RuntimeWarning",
        )
    },
}

MATH = ("isclose", "isnan", "isinf", "isfinite", "sqrt", "exp", "log", "floor", "ceil", "fabs",
        "sin", "cos", "tanh", "pi", "e", "inf", "nan")

# Modules a spec may name (spec alias -> module); only their listed names are reachable.
ROOTS = {"torch": "torch", "nn": "torch.nn", "F": "torch.nn.functional", "optim": "torch.optim",
         "np": "numpy", "math": "math"}
MODULES = ("torch", "torch.nn", "torch.nn.functional", "torch.optim", "torch.autograd",
           "torch.autograd.graph", "torch.cuda", "torch.linalg", "numpy",
           "numpy.linalg")

_POINTWISE_TORCH = (
    "abs", "neg", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh",
    "sigmoid", "relu", "square", "sign", "floor", "ceil", "round", "trunc", "clamp", "clip",
    "add", "sub", "mul", "div", "true_divide", "pow", "maximum", "minimum", "where", "lerp",
    "eq", "ne", "lt", "le", "gt", "ge", "isclose", "isnan", "isinf", "isfinite", "logical_not",
    "logical_and", "logical_or", "real", "imag", "conj", "atan2", "erf", "reciprocal", "igamma",
)

NAMES = {
    "modules": {name: "free" for name in MODULES if "." in name},
    "tensor creation": {
        "torch.tensor": "data", "torch.as_tensor": "data", "torch.from_numpy": "free",
        "torch.zeros": "shape", "torch.ones": "shape", "torch.empty": "shape", "torch.rand": "shape",
        "torch.randn": "shape", "torch.full": "first", "torch.randint": "randint",
        "torch.arange": "arange", "torch.linspace": "steps", "torch.eye": "eye",
        "torch.zeros_like": "free", "torch.ones_like": "free", "torch.empty_like": "free",
        "torch.full_like": "free", "torch.rand_like": "free", "torch.randn_like": "free",
        "torch.Size": "data",
    },
    "tensor math": {**{f"torch.{name}": "pointwise" for name in _POINTWISE_TORCH},
                    "torch.sum": "reduce", "torch.mean": "reduce", "torch.prod": "reduce",
                    "torch.max": "reduce", "torch.min": "reduce", "torch.argmax": "reduce",
                    "torch.argmin": "reduce", "torch.norm": "reduce", "torch.all": "reduce",
                    "torch.any": "reduce", "torch.logsumexp": "reduce", "torch.histc": "steps", "torch.allclose": "reduce", "torch.equal": "reduce",
                    "torch.matmul": "matmul", "torch.mm": "matmul", "torch.dot": "matmul",
                    "torch.mv": "matmul", "torch.outer": "product",
                    "torch.cat": "combine", "torch.stack": "combine",
                    "torch.flatten": "free", "torch.reshape": "free", "torch.squeeze": "free",
                    "torch.unsqueeze": "free", "torch.transpose": "free", "torch.t": "free",
                    "torch.is_tensor": "free", "torch.is_floating_point": "free", "torch.numel": "free",
                    "torch.broadcast_to": "expand"},
    "dtypes and devices": {
        **{f"torch.{name}": "free" for name in (
            "float16", "bfloat16", "float32", "float64", "float", "double", "half", "complex64",
            "complex128", "int8", "int16", "int32", "int64", "long", "int", "uint8", "bool")},
        "torch.device": "free", "torch.dtype": "type", "torch.finfo": "free",
        "torch.get_default_dtype": "free", "torch.cuda.is_available": "free",
        "torch.cuda.device_count": "free",
    },
    "classes (for isinstance)": {
        "torch.Tensor": "type", "torch.nn.Module": "type", "torch.optim.Optimizer": "type",
        "numpy.ndarray": "type", "torch.autograd.Function": "type", "torch.autograd.graph.Node": "type",
    },
    "grad modes": {
        "torch.no_grad": "context", "torch.enable_grad": "context", "torch.inference_mode": "context",
        "torch.set_grad_enabled": "gradmode", "torch.is_grad_enabled": "free",
        "torch.is_inference_mode_enabled": "free",
        "torch.autograd.no_grad": "context", "torch.autograd.enable_grad": "context",
        "torch.autograd.set_grad_enabled": "gradmode", "torch.autograd.detect_anomaly": "context",
        "torch.autograd.set_detect_anomaly": "withonly", "torch.is_anomaly_enabled": "free",
        "torch.autograd.graph.saved_tensors_hooks": "context",
    },
    "autograd": {
        "torch.autograd.grad": "free", "torch.autograd.backward": "free", "torch.autograd.Variable": "free",
        "torch.autograd.gradcheck": "free", "torch.autograd.gradgradcheck": "free",
    },
    "neural network modules": {
        **{f"torch.nn.{name}": "module" for name in (
            "Linear", "Conv1d", "Conv2d", "ReLU", "Tanh", "Sigmoid", "Sequential", "MSELoss", "L1Loss",
            "CrossEntropyLoss", "Identity", "Flatten", "Dropout", "BatchNorm1d", "Softmax")},
        "torch.nn.Parameter": "free",
    },
    "functional": {f"torch.nn.functional.{name}": "pointwise" for name in (
        "relu", "sigmoid", "tanh", "mse_loss", "l1_loss", "softmax", "log_softmax", "cross_entropy",
        "linear", "dropout")},
    # convolutions: bounded by the product of the input's and the weight's element counts (an upper
    # bound of the multiply-adds)
    "convolution": {"torch.nn.functional.conv1d": "product", "torch.nn.functional.conv2d": "product"},
    "optimizers": {f"torch.optim.{name}": "free" for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad")},
    "linear algebra": {"torch.linalg.norm": "reduce", "torch.linalg.vector_norm": "reduce",
                       "numpy.linalg.norm": "reduce"},
    "numpy": {
        "numpy.array": "data", "numpy.asarray": "data", "numpy.zeros": "first", "numpy.ones": "first",
        "numpy.full": "first", "numpy.arange": "arange", "numpy.linspace": "steps",
        "numpy.array_equal": "reduce", "numpy.allclose": "reduce", "numpy.isclose": "pointwise",
        "numpy.add": "pointwise", "numpy.multiply": "pointwise", "numpy.sum": "reduce",
        "numpy.mean": "reduce", "numpy.abs": "pointwise", "numpy.exp": "pointwise", "numpy.sqrt": "pointwise",
        "numpy.may_share_memory": "free", "numpy.float32": "free", "numpy.float64": "free",
        "numpy.int64": "free", "numpy.int32": "free", "numpy.bool_": "free", "numpy.dtype": "type",
    },
}

# Names a spec may show to be absent (``hasattr`` needs no entry: it answers without running code).
ABSENT = ("backend", "fetch", "detch")

_TENSOR_POINTWISE = (
    "abs", "neg", "exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "relu", "square", "sign",
    "floor", "ceil", "round", "clamp", "add", "sub", "mul", "div", "pow", "eq", "ne", "lt", "le", "gt",
    "ge", "maximum", "minimum", "isclose", "isnan", "logical_not", "reciprocal", "conj",
)
_TENSOR_INPLACE = ("add_", "sub_", "mul_", "div_", "pow_", "zero_", "fill_", "copy_", "clamp_",
                   "neg_", "exp_", "sin_", "t_", "unsqueeze_", "requires_grad_", "detach_", "abs_", "sqrt_")

ATTRIBUTES = {
    "torch.Tensor": {
        "properties": {name: "free" for name in (
            "grad", "grad_fn", "requires_grad", "is_leaf", "data", "shape", "dtype", "device", "ndim",
            "T", "mT", "real", "imag", "is_cuda", "retains_grad", "output_nr", "volatile", "layout", "names")},
        "inspection": {name: "free" for name in (
            "size", "dim", "numel", "item", "is_contiguous", "is_floating_point", "is_complex",
            "element_size", "stride", "storage_offset", "equal", "allclose", "tolist", "numpy")},
        "autograd": {name: "free" for name in (
            "backward", "detach", "retain_grad", "register_hook", "requires_grad_", "detach_")},
        "shape and layout": {name: "free" for name in (
            "view", "view_as", "reshape", "reshape_as", "flatten", "squeeze", "unsqueeze", "t",
            "transpose", "permute", "contiguous", "clone", "to", "cpu", "cuda", "float", "double",
            "half", "bfloat16", "long", "int", "bool", "type_as", "select", "narrow", "flip", "cumsum",
            "softmax", "log_softmax")},
        "math": {**{name: "pointwise" for name in _TENSOR_POINTWISE},
                 **{name: "pointwise" for name in _TENSOR_INPLACE},
                 **{name: "reduce" for name in (
                     "sum", "mean", "prod", "max", "min", "argmax", "argmin", "norm", "all", "any",
                     "std", "var", "logsumexp")},
                 "matmul": "matmul", "mm": "matmul", "dot": "matmul", "mv": "matmul"},
        "allocation": {"new_ones": "new", "new_zeros": "new", "new_empty": "new", "new_full": "newfirst",
                       "new_tensor": "data", "repeat": "repeat", "tile": "repeat", "expand": "expand",
                       "expand_as": "free"},
        "listing": {"tolist": "listing", "unbind": "listing", "chunk": "listing", "split": "listing"},
    },
    "numpy.ndarray": {
        "properties": {name: "free" for name in ("shape", "dtype", "ndim", "size", "T", "flags", "real", "imag",
                                                  "strides", "itemsize")},
        "methods": {name: "free" for name in ("copy", "sum", "mean", "item", "reshape", "all", "any",
                                               "max", "min", "fill", "transpose", "flatten")},
        "listing": {"tolist": "listing"},
    },
    "numpy.generic": {"methods": {name: "free" for name in ("item", "dtype", "shape")}},
    "torch.nn.Module": {
        "methods": {name: "free" for name in (
            "parameters", "named_parameters", "buffers", "children", "modules", "zero_grad", "to", "cpu",
            "double", "float", "train", "eval", "requires_grad_", "forward", "register_forward_hook",
            "register_full_backward_hook", "state_dict")},
        "properties": {name: "free" for name in (
            "training", "in_features", "out_features", "reduction", "weight", "bias")},
    },
    "torch.optim.Optimizer": {
        "methods": {name: "free" for name in ("step", "zero_grad", "add_param_group")},
        "properties": {name: "free" for name in ("param_groups", "state", "defaults")},
    },
    "torch.Size": {"methods": {"numel": "free", "count": "free", "index": "free"}},
    "torch.dtype": {"properties": {"is_floating_point": "free", "is_complex": "free", "is_signed": "free",
                                   "itemsize": "free"}},
    "torch.device": {"properties": {"type": "free", "index": "free"}},
    "torch.finfo": {"properties": {name: "free" for name in ("eps", "max", "min", "tiny", "bits", "resolution")}},
    "autograd graph node": {
        "methods": {"name": "free", "register_hook": "free", "register_prehook": "free"},
        "properties": {"next_functions": "free", "variable": "free", "metadata": "free"},
    },
    "torch.utils.hooks.RemovableHandle": {"methods": {"remove": "free"}},
    "builtins.str": {
        "methods": {**{name: "free" for name in (
            "startswith", "endswith", "strip", "lstrip", "rstrip", "lower", "upper", "find", "count",
            "index", "isdigit", "isalpha", "isspace", "partition", "rpartition")},
            "split": "strsplit", "rsplit": "strsplit", "splitlines": "strsplit",
            "join": "strjoin", "replace": "strreplace"},
    },
    "builtins.list": {"methods": {name: "free" for name in (
        "append", "pop", "index", "count", "copy", "insert", "reverse", "remove", "clear")}},
    "builtins.tuple": {"methods": {"count": "free", "index": "free"}},
    "builtins.dict": {"methods": {name: "free" for name in ("keys", "values", "items", "get", "copy", "pop",
                                                            "setdefault")}},
    "builtins.set": {"methods": {name: "free" for name in ("add", "discard", "union", "intersection",
                                                           "difference", "issubset", "issuperset")}},
    "builtins.int": {"methods": {"bit_length": "free", "real": "free", "imag": "free"}},
    "builtins.float": {"methods": {"is_integer": "free", "real": "free", "imag": "free"}},
    "builtins.complex": {"methods": {"real": "free", "imag": "free", "conjugate": "free"}},
}

SETTABLE = {
    "torch.Tensor": ("grad", "requires_grad", "data", "volatile"),
    "torch.nn.Module": ("weight", "bias", "training"),
}

# Entries that do not exist on every torch of the matrix: name -> first torch version that has it.
FLOORS = {
    "torch.autograd.graph.saved_tensors_hooks": "1.10",
    "torch.is_inference_mode_enabled": "1.10",
    "torch.linalg.vector_norm": "1.10",
    "torch.autograd.graph.Node": "2.0",
    "torch.Tensor.mT": "1.11",
    "torch.optim.Optimizer.add_param_group": "1.0",
}
