"""Make tests/casefile.py and the helpers of this directory importable."""

import sys
from pathlib import Path

for _path in (Path(__file__).parent, Path(__file__).parent.parent):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
