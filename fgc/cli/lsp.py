"""`fgc lsp`: the language server over stdio (what editors start), or TCP for debugging."""

from __future__ import annotations

import logging

from .common import add_examples


def add_parser(sub) -> None:
    p = sub.add_parser(
        "lsp",
        help="run the language server (stdio; --tcp PORT for debugging)",
        description="Serve fgc's diagnostics, hover, go-to-definition, completion, symbols, folding "
        "and fixes to an editor over the Language Server Protocol. Settings come as "
        "initializationOptions: `fgc.lsp.import` (on, cached-only, off) and `fgc.includePaths`.",
    )
    p.add_argument("--tcp", type=int, metavar="PORT", default=None, help="listen on 127.0.0.1:PORT instead of stdio")
    p.add_argument("--log-file", metavar="FILE", default=None, help="write the server's log to FILE")
    add_examples(
        p,
        'fgc lsp                          what an editor starts (stdio)',
        'fgc lsp --tcp 2087 --log-file lsp.log',
    )
    p.set_defaults(handler=run)


def run(args) -> int:
    # stdout carries the protocol: the log goes to stderr or a file, never to stdout.
    logging.basicConfig(
        filename=args.log_file, level=logging.INFO if args.log_file else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    from ..lsp.main import serve

    serve(args.tcp)
    return 0
