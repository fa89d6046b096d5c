"""The semantic passes over the config AST (after rendering and the config parse); `semantic.py`
runs them and `lower.py` turns the result into the config graph."""
