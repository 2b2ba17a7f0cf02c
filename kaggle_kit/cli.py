"""``kaggle-kit``: a thin argparse front over the library.

Each module in ``kaggle_kit.commands`` adds its own subcommands through ``register(subparsers)``, so a
stage's CLI lives beside nothing else and the front never needs editing when a stage is added.
Expected failures (``KitError``) print one ``error: ...`` line and exit 2 (bad input) or 1 (runtime). An
``OSError`` that escapes the checks (a path that turned unusable, a full disk) is also one line naming the path,
exit 1; ``--verbose`` shows the traceback of either. Output never fails on a character the locale cannot encode
(it is escaped), so an ASCII-only terminal or ``LC_ALL=C`` does not stop a command halfway; a reader that closes
stdout (``| head``) ends the command quietly, exit 1. Ctrl-C (SIGINT) and ``kill`` (SIGTERM) take the same path:
the command's cleanups run, one ``error: interrupted ...`` (or ``terminated ...``) line, exit 130 (or 143).
"""
from __future__ import annotations

import argparse
import codecs
import contextlib
import difflib
import importlib
import os
import pkgutil
import re
import sys
import traceback

from kaggle_kit import commands
from kaggle_kit.errors import KitError
from kaggle_kit.interrupts import Terminated, terminate_as_interrupt
from kaggle_kit.text import spelled_out
from kaggle_kit.torchcache import remove_at_exit_if_left_empty


# --help lists the commands in the order of the work (the whole flow first), not alphabetically
WORKFLOW_ORDER = ("run", "data", "models", "train", "predict", "ensemble", "validate", "submit", "sync", "report",
                  "kernel")


def _rank(module: str) -> int:
    return WORKFLOW_ORDER.index(module) if module in WORKFLOW_ORDER else len(WORKFLOW_ORDER)


# the value only: how the choices after it are written changed (quoted up to Python 3.12.7, not from 3.12.8)
_INVALID_CHOICE = re.compile(r"argument (\S+): invalid choice: (['\"])(.*?)\2[ ,]")


def subcommand_names(parser: argparse.ArgumentParser) -> list[str]:
    """The commands (or actions) ``parser`` dispatches to, from the parser itself rather than its error text."""
    return [name for action in parser._actions if isinstance(action, argparse._SubParsersAction)
            for name in action.choices]


class KitArgumentParser(argparse.ArgumentParser):
    """argparse with the toolkit's error contract: a usage mistake is one ``error: ...`` line saying what to do
    (a mistyped command or action gets the nearest valid one), exit 2. Subparsers inherit the class."""

    def error(self, message: str):  # type: ignore[override]
        found = _INVALID_CHOICE.match(message)
        if found and found.group(1) in ("COMMAND", "ACTION"):
            what, given = found.group(1).lower(), found.group(3)
            near = difflib.get_close_matches(given, subcommand_names(self), n=1)
            hint = f"; did you mean {near[0]}?" if near else ""
            line = f"{self.prog}: unknown {what} '{given}'{hint} (`{self.prog} --help` lists them)"
        elif message.startswith("unrecognized arguments:") and "--verbose" in message.split():
            line = (f"{self.prog}: {message} (--verbose goes before the command: "
                    f"`kaggle-kit --verbose COMMAND ...`)")
        elif message.startswith("unrecognized arguments:"):  # the root parser reports a subcommand's extras
            line = f"{self.prog}: {message} (`kaggle-kit COMMAND --help` lists a command's options)"
        else:
            line = f"{self.prog}: {message} (`{self.prog} --help` says how to use it)"
        self.exit(2, f"error: {line}\n")


# the libraries that decide what a run trains and what an upload sends: a bug report needs their versions
VERSIONED = ("torch", "torchvision", "timm", "numpy", "scikit-learn", "kaggle")


def version_line() -> str:
    """Read from the installed packages' metadata, not by importing them (torch alone takes seconds)."""
    import platform  # here: 1.2 ms that no other command needs
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    libraries = ", ".join(f"{name} {installed(name)}" for name in VERSIONED)
    return f"kaggle-kit {installed('kaggle-kit')} (Python {platform.python_version()}; {libraries})"


class _VersionAction(argparse.Action):
    """argparse's own ``version`` action formats its text when the parser is built, for every command."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_line())  # to stdout, as argparse's own version action does: `kaggle-kit --version > file`
        parser.exit(0)


def build_parser() -> argparse.ArgumentParser:
    parser = KitArgumentParser(
        prog="kaggle-kit",
        description="From competition data to a validated, uploaded submission and a gap report.",
    )
    parser.add_argument("--verbose", action="store_true", help="show tracebacks for expected errors too")
    parser.add_argument("--version", action=_VersionAction,
                        help="print the toolkit's version and those of the libraries its results depend on")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: (_rank(m.name), m.name)):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    _describe_commands(parser)
    return parser


def _describe_commands(parser: argparse.ArgumentParser) -> None:
    """Give each command (and action) that has no description its one-line help, so ``kaggle-kit report --help``
    opens by saying what the command does, as ``kaggle-kit --help`` lists it, instead of going straight to usage."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                sub = action.choices[choice.dest]
                if sub.description is None and choice.help:
                    sub.description = choice.help[0].upper() + choice.help[1:] + "."
                _describe_commands(sub)


def os_error_line(err: OSError) -> str:
    """One line for an OSError, naming the path it concerns (a rename's destination: the user's path, not the
    temporary file beside it)."""
    path = err.filename2 if err.filename2 is not None else err.filename
    what = err.strerror or str(err) or err.__class__.__name__
    return f"{path}: {what} ({err.__class__.__name__})" if path is not None else f"{what} ({err.__class__.__name__})"


BYTES_OR_ESCAPE = "kaggle_kit.bytes_or_escape"


def _bytes_or_escape(err: UnicodeError) -> tuple[bytes, int]:
    """Encoding error handler: a surrogate that stands for a byte the locale could not decode (U+DC80-U+DCFF, a
    file name's 'ó' under ``LC_ALL=C``) is written as that byte, so a path prints as ``ls`` prints it and can be
    pasted back; any other character the encoding lacks is written as its backslash escape."""
    if not isinstance(err, UnicodeEncodeError):
        raise err
    chunk = err.object[err.start:err.end]
    return b"".join(bytes([ord(c) - 0xDC00]) if "\udc80" <= c <= "\udcff" else c.encode("ascii", "backslashreplace")
                    for c in chunk), err.end


codecs.register_error(BYTES_OR_ESCAPE, _bytes_or_escape)


def _tolerant_streams() -> None:
    """Let stdout and stderr write any character: under a C/POSIX locale or ``PYTHONIOENCODING=ascii`` a path
    with accents or a message's dash would otherwise raise UnicodeEncodeError mid-command, after minutes of
    work. A file name's undecodable bytes go out as the bytes they were (backslash escapes of them, as before,
    printed a path under LC_ALL=C as 'pr\\udcc3\\udcb3j'); what else the encoding cannot hold is written as a
    backslash escape; a UTF-8 stream that keeps undecodable file-name bytes (surrogateescape) is left as it is."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None:  # closed (None) or replaced by an object without it
            continue
        utf = codecs.lookup(getattr(stream, "encoding", None) or "ascii").name.startswith("utf")
        if not (utf and stream.errors == "surrogateescape"):
            reconfigure(errors=BYTES_OR_ESCAPE)


def encoding_line(err: UnicodeEncodeError) -> str:
    """One line for text that could not be encoded, with the usual cure when the locale is not UTF-8."""
    line = f"cannot write {err.object[err.start:err.end]!r} as {err.encoding} ({err.reason})"
    if codecs.lookup(sys.getfilesystemencoding()).name != "utf-8":
        line += (f"; this locale reads names as {sys.getfilesystemencoding()}: run with a UTF-8 locale "
                 f"(LC_ALL=C.UTF-8) or PYTHONUTF8=1")
    return line


UNSUPPORTED_PLATFORM = ("kaggle-kit runs on Linux and macOS; on Windows use WSL2 (`wsl --install`, then install "
                        "kaggle-kit inside it)")


def platform_problem() -> str | None:
    """Why the toolkit cannot run here, or None. Its folder and ledger locks are POSIX ``flock``s (released by the
    OS when their process dies, which the crash-safety of training and submitting relies on), so on Windows,
    where there is no ``fcntl``, every command would otherwise die importing its module with a traceback."""
    try:
        import fcntl  # noqa: F401
    except ImportError:
        return UNSUPPORTED_PLATFORM
    return None


def main(argv: list[str] | None = None) -> int:
    _tolerant_streams()
    if problem := platform_problem():  # before any command module is imported: they need fcntl
        print(f"error: {problem}", file=sys.stderr)
        return 1
    remove_at_exit_if_left_empty()  # torch's compile cache folder, which torch makes even when nothing compiles
    parser = build_parser()
    args = parser.parse_args(argv)
    args.command_line = list(sys.argv[1:] if argv is None else argv)  # what a dry run tells the user to run again
    try:
        with terminate_as_interrupt():
            return int(args.func(args) or 0)
    except KitError as err:
        if args.verbose:
            traceback.print_exc()
        print(f"error: {spelled_out(str(err))}", file=sys.stderr)  # it may quote Kaggle's reply: one line, no escapes
        return err.exit_code
    except UnicodeEncodeError as err:  # a path or text from a non-UTF-8 locale that a UTF-8 output cannot hold
        if args.verbose:
            traceback.print_exc()
        print(f"error: {encoding_line(err)}", file=sys.stderr)
        return 1
    except BrokenPipeError as err:
        if err.filename is not None:
            print(f"error: {os_error_line(err)}", file=sys.stderr)
            return 1
        # stdout's reader went away (`kaggle-kit models | head -1`): stop quietly, as a Unix tool ended by SIGPIPE
        # does; pointing stdout at /dev/null keeps the exit's final flush from failing again
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as err:
        if args.verbose:
            traceback.print_exc()
        print(f"error: {spelled_out(os_error_line(err))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as err:
        print(f"error: {interrupted_line(err)}", file=sys.stderr)
        return 143 if isinstance(err, Terminated) else 130


def interrupted_line(err: KeyboardInterrupt) -> str:
    """What an interrupted command says: the usual reassurance, or the step's own word where a rerun needs
    one first (an upload that Kaggle may have recorded), given as the interrupt's message."""
    what = "terminated" if isinstance(err, Terminated) else "interrupted"
    detail = err.args[0] if err.args and isinstance(err.args[0], str) else "finished work is kept and a rerun resumes it"
    return f"{what}; {spelled_out(detail)}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
