"""The reference engine, loaded from `source/backprop/` so there is one copy of it.

`toolbox_solution.toolbox` and `toolbox_solution.nn` are the instructor's
source files themselves. `nn.py` imports its sibling as plain `toolbox` (as
students' code does), so while it loads, that name points at the reference.
"""

import importlib.util
import sys
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent.parent / "source" / "backprop"


def _load(name):
    path = SOURCE_DIR / f"{name}.py"
    if not path.is_file():
        raise ImportError(
            f"toolbox_solution needs {path}, which does not exist; run from a full course checkout."
        )
    spec = importlib.util.spec_from_file_location(f"{__name__}.{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _load_with_sibling(name, sibling_name, sibling):
    previous = sys.modules.get(sibling_name)
    sys.modules[sibling_name] = sibling
    try:
        return _load(name)
    finally:
        if previous is None:
            del sys.modules[sibling_name]
        else:
            sys.modules[sibling_name] = previous


toolbox = _load("toolbox")
nn = _load_with_sibling("nn", "toolbox", toolbox)
gradcheck = _load("gradcheck")
drawgraph = _load("drawgraph")
