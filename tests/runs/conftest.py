"""Run tests: the helpers next to them (and the template-library ones) importable;
transformers' module cache out of ~/.cache and never the Hub."""

import os
import sys
import tempfile
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))
sys.path.insert(0, str(_HERE.parent / "stdlib"))

os.environ.setdefault("HF_MODULES_CACHE", tempfile.mkdtemp(prefix="fg-hf-modules-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
