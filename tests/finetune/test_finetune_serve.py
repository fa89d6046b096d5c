"""`fgc serve` (issue 20, part 6): a real HTTP request to `transformers serve` started by fgc on a
tiny model of the project's own architecture (its code ships with it), answered with the model's
chat template; and the server command for each kind of directory."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from forgather.ml.finetune import load_pretrained_tokenizer, prepare_tokenizer
from forgather.ml.models.hf_convert import to_forgather

pytest.importorskip("fastapi")
pytest.importorskip("openai")


def fgc(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fgc", *map(str, args)], capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def served_dir(llama_dir, tmp_path_factory):
    """The tiny Llama converted to the project's blocks, with a ChatML tokenizer."""
    base = tmp_path_factory.mktemp("serve") / "base"
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(llama_dir)
    tokenizer = prepare_tokenizer(load_pretrained_tokenizer(llama_dir), chat_template="chatml")
    model.resize_token_embeddings(len(tokenizer))
    model.save_pretrained(base)
    tokenizer.save_pretrained(base)
    out = base.parent / "ours"
    to_forgather(base, out)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def request(url: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as response:
        return json.loads(response.read())


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of the group exists (another user's: never ours)
        return True
    return True


@pytest.fixture
def server(served_dir, tmp_path):
    """`fgc serve` in its own process group; the whole group is killed at teardown, also when the
    test failed, so that no server outlives the test."""
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    process = subprocess.Popen([sys.executable, "-m", "fgc", "serve", served_dir, "--port", str(port), "--device", "cpu"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path,
                               start_new_session=True)
    try:
        yield process, f"http://localhost:{port}"
    finally:
        if group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()


def test_a_chat_completion_over_http(server, served_dir):
    process, base = server
    deadline = time.monotonic() + 300  # a generous bound against a hang, not a timing check
    while True:
        assert process.poll() is None, process.stdout.read()
        try:
            request(f"{base}/health")
            break
        except (urllib.error.URLError, ConnectionError):
            assert time.monotonic() < deadline, "the server never answered"
            time.sleep(1)
    (name,) = [m["id"] for m in request(f"{base}/v1/models")["data"]]
    assert name.endswith(served_dir.name)  # fgc printed it: a view of the directory (fgc/cli/serve.py)
    answer = request(f"{base}/v1/chat/completions", {
        "model": name, "max_tokens": 5,
        "messages": [{"role": "user", "content": "What is 2 plus 3?"}],
    })
    choice = answer["choices"][0]
    assert choice["message"]["role"] == "assistant" and isinstance(choice["message"]["content"], str)
    # the prompt is the chat template's rendering: ChatML's markers count as one token each
    assert answer["usage"]["completion_tokens"] <= 5 and answer["usage"]["prompt_tokens"] > 5
    # fgc terminated alone takes the server with it: nothing of its process group is left
    process.terminate()
    process.wait(timeout=120)
    deadline = time.monotonic() + 120
    while group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not group_alive(process.pid), "the server outlived fgc serve"


def test_the_server_command(served_dir, llama_dir, tmp_path):
    ours = fgc("serve", served_dir, "--print-command", "--port", "9001", "--", "--log-level", "warning")
    assert ours.returncode == 0, ours.stderr
    words = ours.stdout.split()
    assert words[1:3] == ["serve", str(served_dir)] and "--trust-remote-code" in words  # its code ships with it
    assert words[-2:] == ["--log-level", "warning"] and "9001" in words
    native = fgc("serve", llama_dir, "--print-command")
    assert native.returncode == 0 and "--trust-remote-code" not in native.stdout  # a plain Llama
    empty = fgc("serve", tmp_path, "--print-command")
    assert empty.returncode == 2 and "no saved model here" in empty.stderr
    vllm = fgc("serve", served_dir, "--engine", "vllm", "--print-command")
    assert vllm.returncode == 2 and ("vLLM is not installed" in vllm.stderr or "convert it first" in vllm.stderr)
