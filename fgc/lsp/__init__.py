"""`fgc lsp`: the language server (pygls 2, stdio or TCP) over the workspace layer.

    settings     initializationOptions and workspace settings (`fgc.lsp.import`, `fgc.includePaths`)
    convert      fgc positions and diagnostics -> LSP types (UTF-16 at this edge only)
    publish      diagnostics per file across experiments; the cross-template copy at `extends`
    cursor       what the template text has under the cursor (references, blocks, tags, words)
    hover, definition, completion, symbols, actions   one feature each
    server       the LanguageServer: document sync, debounced checks, feature registration
"""
