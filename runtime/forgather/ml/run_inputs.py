"""The local files a run read (the run contract's `forgather_files.run_inputs`, under the
runtime's import path): the data readers call `note_file`, `fgc run` writes `read_files()` into
the run record."""

from forgather_files.run_inputs import forget, note_file, read_files

__all__ = ["forget", "note_file", "read_files"]
