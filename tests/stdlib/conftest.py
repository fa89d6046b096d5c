"""Template-library tests: the helpers next to them importable."""

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# TrainingScript exports models that load with trust_remote_code: keep transformers' module cache
# out of ~/.cache, and never reach for the Hub.
os.environ.setdefault("HF_MODULES_CACHE", tempfile.mkdtemp(prefix="fg-hf-modules-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
