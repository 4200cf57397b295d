"""python -m mlplat.cloudinit — render and check cloud-init user data.

    python -m mlplat.cloudinit render gpu-node \
        --inputs cloud-init/examples/gpu-node--ansible-pull.yaml [--out user-data] [--validate]
    python -m mlplat.cloudinit validate user-data
    python -m mlplat.cloudinit inputs-table

Exit codes: 0 ok, 1 the user data failed validation, 2 bad inputs or usage.
Errors name the file and the field; the output file is written whole or not at all.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import yaml
from pydantic import ValidationError

from mlplat.cloudinit.errors import describe
from mlplat.cloudinit.models import TEMPLATE_MODELS
from mlplat.cloudinit.render import TemplateNotFound, render
from mlplat.cloudinit.tables import inputs_table
from mlplat.cloudinit.validate import SchemaToolMissing, validate_user_data

EXIT_INVALID_USER_DATA = 1
EXIT_USAGE = 2


class _Fail(Exception):
    def __init__(self, lines: list[str], code: int = EXIT_USAGE) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines
        self.code = code


def _load_inputs(path: Path) -> dict[str, object]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _Fail([f"{path}: cannot read inputs: {exc.strerror or exc}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise _Fail([f"{path}: not valid YAML{where}: {problem}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _Fail([f"{path}: the inputs must be a YAML mapping, got {type(data).__name__}"])
    return data


def _write_atomically(out: Path, text: str) -> None:
    directory = out.parent if str(out.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise _Fail([f"{out}: cannot write: {exc.strerror or exc}"]) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _Fail([f"{out}: cannot write: {exc.strerror or exc}"]) from None
        raise


def _check(text: str, label: str) -> None:
    try:
        problems = validate_user_data(text)
    except SchemaToolMissing as exc:
        raise _Fail([f"{label}: {exc}"]) from None
    if problems:
        raise _Fail([f"{label}: {p}" for p in problems], EXIT_INVALID_USER_DATA)


def _cmd_render(args: argparse.Namespace) -> None:
    inputs_path = Path(args.inputs)
    data = _load_inputs(inputs_path)
    try:
        text = render(args.template, data)
    except ValidationError as exc:
        raise _Fail([f"{inputs_path}: {line}" for line in describe(exc)]) from None
    except TemplateNotFound as exc:
        raise _Fail([str(exc)]) from None
    if args.validate:
        _check(text, f"rendered {args.template} from {inputs_path}")
    if args.out:
        _write_atomically(Path(args.out), text)
    else:
        sys.stdout.write(text)


def _cmd_validate(args: argparse.Namespace) -> None:
    path = Path(args.user_data)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _Fail([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    _check(text, str(path))
    print(f"{path}: valid cloud-config")


def _cmd_inputs_table(_: argparse.Namespace) -> None:
    sys.stdout.write(inputs_table())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mlplat.cloudinit",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("render", help="render a template from an inputs YAML file")
    r.add_argument("template", choices=sorted(TEMPLATE_MODELS), help="template name")
    r.add_argument("--inputs", required=True, metavar="FILE.yaml", help="inputs (YAML mapping)")
    r.add_argument("--out", metavar="FILE", help="write here (atomically) instead of stdout")
    r.add_argument(
        "--validate",
        action="store_true",
        help="also run validate_user_data (cloud-init schema + top-level keys)",
    )
    r.set_defaults(func=_cmd_render)
    v = sub.add_parser("validate", help="check a rendered user-data file")
    v.add_argument("user_data", metavar="FILE")
    v.set_defaults(func=_cmd_validate)
    t = sub.add_parser("inputs-table", help="print the README's generated inputs tables")
    t.set_defaults(func=_cmd_inputs_table)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        args.func(args)
    except _Fail as fail:
        for line in fail.lines:
            print(f"error: {line}", file=sys.stderr)
        return fail.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
