import os
import sys
import tempfile
from pathlib import Path

# pipeline_testlib and the worker sit next to the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent))
# Models loaded with trust_remote_code are copied into HF_MODULES_CACHE: keep ours out of ~/.cache.
os.environ.setdefault("HF_MODULES_CACHE", tempfile.mkdtemp(prefix="fg-hf-modules-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
