"""Files that the compiler (`fgc`) and the runtime (`forgather`) both write, in one place.

Neither layer may import the other (the compiler never loads the runtime; a build runs where fgc
is not installed), so what both need lives here, importing only the standard library:

    atomic          replace a file or directory so that a reader sees the old or the new one,
                    never a half-written one
    model_package   the files of a portable model package: `modeling.py` and the closure of its
                    single-dot relative imports
    runs            the run contract: the environment of a run's processes, the run record's
                    name and statuses, the build snapshot, the files of a running job
                    (`fgc ctl` requests, the stop note, rank files), `RunStopped`
    checkpoints     checkpoint names, and when a checkpoint is complete (one definition)
    run_inputs      the local files a run read, with their sha256 (the run record's data_files)
"""
