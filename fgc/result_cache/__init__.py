"""The on-disk result cache of whole commands (`fgc check`): a warm process answers without
importing the compiler.

    store    the entries, their key (command line, fgc, Python, sys.path, cwd) and eviction
    inputs   what a compilation read (templates, search-path probes, Python files), re-checked
             on every hit
    command  `run_cached(command, args, extra, body)`: replay, or run with the inputs recorded
             and stdout/stderr kept, to replay them byte for byte

Disabled by `FGC_NO_CACHE=1` or a command's `--no-cache`; located in `$FGC_CACHE_DIR/results`
or the user cache directory (see `store.cache_dir`).
"""
