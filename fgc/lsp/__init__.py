"""`fgc lsp`: the language server (pygls 2, stdio or TCP) over the workspace layer.

    settings     initializationOptions and workspace settings (`fgc.lsp.import`, `fgc.includePaths`,
                 `fgc.lsp.debounceMs`)
    convert      fgc positions and diagnostics -> LSP types (UTF-16 at this edge only); `untitled:`
    worker       the analysis thread: checks on snapshots, newer requests supersede older ones
    publish      diagnostics per file across experiments; the cross-template copy at `extends`
    cursor       what the template text has under the cursor (references, blocks, tags, words)
    query        a request's context: the newest analysis for a file, stale or not
    hover, definition, completion, symbols, actions   one feature each
    exports, pysource   a module's exported names and a callable's source, never run
    server       the LanguageServer: document sync, scheduling, publication
    main         the process: the server with its features registered, over stdio or TCP
"""
