"""The template pass, the stage between the template ASTs and rendering: the inheritance graph
(`template_pass.py`) and the knobs an ancestor's `set` replaces (`knobs.py`)."""
