"""Make tests/casefile.py and the helpers of this directory importable (appended to sys.path,
so that nothing under tests/ can shadow an installed package)."""

import sys
from pathlib import Path

for _path in (Path(__file__).parent, Path(__file__).parent.parent):
    if str(_path) not in sys.path:
        sys.path.append(str(_path))
