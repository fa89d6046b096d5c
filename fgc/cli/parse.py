"""`fgc parse FILE`: dump the template AST of FILE (for debugging the front end).

`--config` renders FILE and dumps the config AST of the rendered YAML instead.
"""

from __future__ import annotations


from .common import (
    add_examples,
    add_format_option,
    add_input_options,
    read_input,
    report,
    usage_error,
    write_output,
)


def add_parser(sub) -> None:
    p = sub.add_parser(
        "parse",
        help="dump the template AST of a file (or, with --config, the config AST)",
        description="Parse FILE with the template grammar and print its AST, one node per line "
        "with its line:col span. With --config, render FILE and print the AST of the YAML.",
    )
    add_input_options(p)
    p.add_argument("--config", action="store_true", help="render, then dump the config (YAML) AST")
    add_format_option(p, 'the output itself is then one {"output": TEXT} line before the diagnostics')
    add_examples(
        p,
        'fgc parse exp.fg                  the template AST, one node per line with its span',
        "fgc parse exp.fg --config         the rendered YAML's AST",
    )
    p.set_defaults(handler=run)


def run(args) -> int:
    path, variables = read_input(args)
    if args.config:
        from .. import pipeline
        from ..syntax import config_ast

        result = pipeline.frontend(path, args.include_dirs, variables)
        if result.document is not None:
            write_output(config_ast.dump(result.document, str(path)), args.format)
        return report(result.diagnostics, args.format)

    from ..syntax.template_ast import dump
    from ..syntax.template_parser import parse_template

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return usage_error(f"cannot read {path}: {e}", args.format)
    template, diags = parse_template(text, str(path.resolve()), path.name)
    write_output(dump(template), args.format)
    return report(diags, args.format)
