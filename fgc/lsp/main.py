"""`fgc lsp`'s process: the server (`server.py`) with its query features, over stdio or TCP.

The features import the server's types and the server knows none of them: they are put
together here, above both.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys

from . import actions, completion, definition, hover, symbols
from .server import guarded, log, server


def register_features() -> None:
    """The query features, one module each, on the server."""
    for module in (hover, definition, completion, symbols, actions):
        module.register(server, guarded)


async def _serve_stdio() -> None:
    """The protocol over stdin and stdout, read by the event loop itself (pygls reads stdin
    through a thread pool, one hop per line: each hop waits for the analysis thread's GIL
    slice)."""
    from threading import Event

    from pygls.io_ import StdoutWriter, run_async

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 26, loop=loop)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=loop), sys.stdin.buffer)
    server.protocol.set_writer(StdoutWriter(sys.stdout.buffer))
    server._stop_event = Event()
    await run_async(stop_event=server._stop_event, reader=reader, protocol=server.protocol, logger=log,
                    error_handler=server.report_server_error)


def serve(tcp_port: int | None = None, host: str = "127.0.0.1") -> None:
    import gc

    register_features()
    # Answers wait for the analysis thread's slice of the interpreter's lock: hand it over every
    # millisecond, not every five. The whole heap is collected after each check is published
    # (`collect_garbage`), never because an allocation of a big check happens to trigger it:
    # Python collects only the young generations by itself.
    sys.setswitchinterval(0.001)
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 1 << 30)
    if tcp_port is not None:
        server.start_tcp(host, tcp_port)
        return
    mode = os.fstat(sys.stdin.fileno()).st_mode
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):  # a file or a terminal: pygls's reader
        server.start_io()
        return
    try:
        asyncio.run(_serve_stdio())
    except BrokenPipeError:
        log.error("fgc: the connection to the client is lost; stopping")
    finally:
        if server.worker is not None:
            server.worker.stop()
        server.shutdown()
