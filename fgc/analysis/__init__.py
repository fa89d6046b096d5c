"""The query layer: what the command line's tools and the language server ask of a compilation,
answered once, here (as rust-analyzer's IDE layer sits between its database and its clients).

    inputs      a template file or a PROJECT_DIR -> what to compile (search path, globals,
                variables, dynamic args): one resolver for the command line, the API and the server
    blocks      a block's extent in its file, from the compiler's statement pairing
    values      a graph value or a config node as short text
    chain       who set a value: the override chain of a key, with the parent blocks it replaced
                and the knobs (`-- set`, `-D`) its line renders (`fgc explain`, hover,
                the value chains of `fgc run`'s errors)
    graph_diff  two graphs compared by config path (`fgc diff`)

It sits in the driver, above the pipeline and `fgc/project/`, below `fgc/cli/` and `fgc/lsp/`
(tests/architecture/test_layering.py). Nothing is imported here at package level, so that the
command line's fast paths can import one module of it.
"""
