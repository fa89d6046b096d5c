"""What a run read (the run contract's `forgather_files.run_inputs`, under the runtime's import
path): the data readers call `note_file` and `note_dataset`, the pretrained-model loader
`note_model_dir`; `fgc run` writes what they noted into the run record."""

from forgather_files.run_inputs import (
    forget,
    note_dataset,
    note_file,
    note_model_dir,
    read_datasets,
    read_files,
    read_model_dirs,
)

__all__ = ["forget", "note_dataset", "note_file", "note_model_dir", "read_datasets", "read_files", "read_model_dirs"]
