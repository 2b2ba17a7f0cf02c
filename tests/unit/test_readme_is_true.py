"""The README is a newcomer's manual, and it must stay true at every commit: every command, option, pipeline
setting, file, environment variable, make target and module it names has to exist. Each check reads the README
as a browser would (markdown-it), from its code spans and code blocks, so prose is never mistaken for a name. The
benchmark commands the README and the recorded results give must run with options their scripts take."""
from __future__ import annotations

import argparse
import ast
import collections.abc
import dataclasses
import re
import shlex
import typing
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from kaggle_kit import cli, config

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def code_texts(markdown: str) -> list[str]:
    """Inline code spans, and each line of the code blocks, in reading order."""
    found: list[str] = []

    def walk(tokens):
        for token in tokens:
            if token.type == "code_inline":
                found.append(token.content)
            elif token.type in ("fence", "code_block"):
                found.extend(line for line in token.content.splitlines() if line.strip())
            if token.children:
                walk(token.children)

    walk(MarkdownIt("commonmark").enable("table").parse(markdown))
    return found


def command_lines(texts: list[str]) -> list[list[str]]:
    """The words after ``kaggle-kit`` of every command written out (shell comments and the chain
    around it dropped); ``[--set k=v]``'s brackets are notation, not words."""
    lines = []
    for text in texts:
        for part in re.split(r"&&|\|\||;|\|", text):
            try:
                words = shlex.split(part, comments=True)
            except ValueError:
                continue
            at = [i for i, w in enumerate(words) if Path(w).name == "kaggle-kit"]
            if at:
                lines.append([w.strip("[]") for w in words[at[0] + 1:] if w.strip("[]")])
    return lines


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return {name: p for action in parser._actions if isinstance(action, argparse._SubParsersAction)
            for name, p in action.choices.items()}


def command_problems(words: list[str], root: argparse.ArgumentParser) -> list[str]:
    """What in one written-out command the parser would not take: an unknown command or action, an option its
    (sub)command lacks, a ``--set`` key no pipeline has. Upper-case words (``COMMAND``, ``FILE.csv``) are
    placeholders and end the check of the words they stand for."""
    problems: list[str] = []
    parsers = [root]
    rest = list(words)
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option not in root._option_string_actions:
            problems.append(f"kaggle-kit has no option {option}")
    while rest and _subparsers(parsers[-1]) and not rest[0].startswith("-"):
        name = rest.pop(0)
        if name.isupper() or set(name) == {"."}:
            return problems
        choices = _subparsers(parsers[-1])
        unknown = [n for n in name.split("/") if n not in choices]  # `kernel push/status/pull`: three actions
        if unknown:
            return problems + [f"no command or action {'/'.join(unknown)!r} in `kaggle-kit {' '.join(words)}`"]
        parsers.append(choices[name.split("/")[0]])
    for word, following in zip(rest, rest[1:] + [""]):
        if re.fullmatch(r"--?[A-Za-z][\w-]*(=.*)?", word):
            option = word.split("=")[0]
            if option not in parsers[-1]._option_string_actions:
                problems.append(f"`kaggle-kit {' '.join(words)}`: {parsers[-1].prog} has no option {option}")
            if option == "--set" and "." in following.split("=")[0]:
                problems += setting_problems(following.split("=")[0])
    return problems


def pipeline_keys(cls: type = config.PipelineConfig, prefix: str = "") -> set[str]:
    """Every dotted setting a pipeline YAML (or ``--set``) takes; a mapping (``model.kwargs``) takes any key."""
    keys = set()
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        key = f"{prefix}{field.name}"
        keys.add(key)
        kind = hints[field.name]
        if dataclasses.is_dataclass(kind):
            keys |= pipeline_keys(kind, key + ".")
        elif typing.get_origin(kind) in (dict, collections.abc.Mapping):
            keys.add(key + ".*")
    return keys


SECTIONS = {f.name for f in dataclasses.fields(config.PipelineConfig)}


def setting_problems(key: str, keys: set[str] | None = None) -> list[str]:
    keys = pipeline_keys() if keys is None else keys
    parts = key.split(".")
    if key in keys or any(".".join(parts[:i]) + ".*" in keys for i in range(1, len(parts))):
        return []
    return [f"no pipeline setting {key}"]


FILE_SUFFIXES = ("pt", "csv", "json", "yaml", "npz", "md", "html", "png")


def settings_named(texts: list[str]) -> set[str]:
    """``train.epochs``, ``train.select_best: true``, ``--set submit.upload=always``: a code span that starts
    with a pipeline section and a dot names a setting."""
    pattern = re.compile(rf"(?:--set )?((?:{'|'.join(sorted(SECTIONS))})(?:\.\w+)+)(?:[:=]|$)")
    named = {m.group(1) for text in texts if (m := pattern.match(text.strip()))}
    return {key for key in named if key.rsplit(".", 1)[1] not in FILE_SUFFIXES}  # `model.pt` is a file


REPO_FOLDERS = ("kaggle_kit", "pipelines", "benchmarks", "scripts", "tests")


def paths_named(texts: list[str]) -> set[str]:
    """Repository paths a reader would open: under the project's own folders, a top-level ``.txt``, ``.cfg`` or
    ``.toml`` file or upper-case ``.md``, and a bare pipeline ``NAME.yaml``. A folder the user makes (``runs/<id>/``)
    is not the repository's; a ``*`` must match something."""
    found = set()
    for text in texts:
        for word in re.findall(r"[\w./*-]+", text):
            top = word.split("/")[0]
            if ("/" in word and top in REPO_FOLDERS) or re.fullmatch(r"[\w-]+\.(txt|cfg|toml)|[A-Z]+\.md", word):
                found.add(word.rstrip("/."))
            elif re.fullmatch(r"[\w-]+\.yaml", word):  # `fast.yaml is our short-schedule recipe`
                found.add(f"pipelines/{word}")
    return found


def every_option(parser: argparse.ArgumentParser) -> set[str]:
    """The options of the command line and of every command and action under it."""
    return set(parser._option_string_actions).union(*(every_option(p) for p in _subparsers(parser).values()))


def options_named(texts: list[str]) -> set[str]:
    """An option written on its own, as the tables and prose do (`--parallel-members N`, `--resume RUN`)."""
    return {m.group(1) for text in texts if (m := re.match(r"(--[a-z][\w-]*)(?:[ =]|$)", text))}


def test_code_texts_reads_spans_and_blocks_not_prose():
    texts = code_texts("Run `make test` now, not make demo.\n\n```bash\nkaggle-kit sync  # pull\n\nls\n```\n")
    assert texts == ["make test", "kaggle-kit sync  # pull", "ls"]


def test_command_lines_find_kaggle_kit_anywhere_in_a_chain():
    lines = command_lines(["cd demo && KAGGLE_KIT_DATA=x ../.venv/bin/kaggle-kit report",
                           "kaggle-kit run PIPELINE [--set k=v]", "make demo    # kaggle-kit demo"])
    assert lines == [["report"], ["run", "PIPELINE", "--set", "k=v"]]


def test_command_problems_names_what_the_parser_would_refuse():
    root = cli.build_parser()
    assert command_problems(["sync"], root) == []
    assert command_problems(["kernel", "push/status/pull"], root) == []
    assert command_problems(["COMMAND", "--help"], root) == []
    assert command_problems(["report", "--no-such"], root) == ["`kaggle-kit report --no-such`: kaggle-kit report "
                                                               "has no option --no-such"]
    assert command_problems(["kernel", "push/stats"], root) == ["no command or action 'stats' in "
                                                                "`kaggle-kit kernel push/stats`"]
    assert command_problems(["syncc"], root) == ["no command or action 'syncc' in `kaggle-kit syncc`"]
    assert command_problems(["run", "p.yaml", "--set", "train.epochz=5"], root) == ["no pipeline setting "
                                                                                    "train.epochz"]


def test_options_and_paths_are_read_from_code_spans():
    assert options_named(["--resume RUN", "--set train.epochs=5", "--verbose", "a --flag", "--"]) == {
        "--resume", "--set", "--verbose"}
    assert paths_named(["kaggle-kit run pipelines/x.yaml", "`fast.yaml`", "runs/<id>/", "setup.cfg",
                        "gap.md", "README.md"]) == {"pipelines/x.yaml", "pipelines/fast.yaml", "setup.cfg",
                                                    "README.md"}
    assert {"--verbose", "--parallel-members", "--build-only", "--no-md5"} <= every_option(cli.build_parser())


def test_settings_are_read_from_the_pipeline_dataclasses():
    keys = pipeline_keys()
    assert {"train.epochs", "train.augment.preset", "submit.upload", "model.kwargs.*"} <= keys
    assert setting_problems("model.kwargs.width", keys) == []
    assert setting_problems("train.augment.nope", keys) == ["no pipeline setting train.augment.nope"]
    assert settings_named(["train.select_best: true", "--set submit.upload=always", "data.comp_subset",
                           "training.epochs", "train.epochs is 5", "model.pt"]) == {"train.select_best", "submit.upload",
                                                                        "data.comp_subset"}


@pytest.fixture(scope="module")
def readme() -> tuple[str, list[str]]:
    text = README.read_text(encoding="utf-8")
    return text, code_texts(text)


def test_every_command_written_in_the_readme_parses(readme):
    _, texts = readme
    root = cli.build_parser()
    lines = command_lines(texts)
    assert len(lines) >= 20, "the README's commands were not found"
    problems = [p for words in lines for p in command_problems(words, root)]
    assert problems == []


def test_every_command_is_in_the_readme_table(readme):
    text, _ = readme
    table = {m.group(1) for m in re.finditer(r"^\| `kaggle-kit (\w+)", text, re.M)}
    assert table == set(_subparsers(cli.build_parser()))


def test_every_option_the_readme_names_on_its_own_exists(readme):
    _, texts = readme
    named = options_named(texts)
    assert {"--parallel-members", "--resume", "--set"} <= named
    assert sorted(named - every_option(cli.build_parser())) == []


def test_every_setting_the_readme_names_exists(readme):
    _, texts = readme
    named = settings_named(texts)
    assert len(named) >= 10, "the README's settings were not found"
    keys = pipeline_keys()
    assert [p for key in sorted(named) for p in setting_problems(key, keys)] == []


def test_every_path_the_readme_names_exists(readme):
    _, texts = readme
    named = paths_named(texts)
    assert {"pipelines/default.yaml", "constraints.txt", "benchmarks/RESULTS.md"} <= named
    missing = [p for p in sorted(named) if "<" not in p and not any(ROOT.glob(p))]
    assert missing == []


def test_every_make_target_the_readme_names_exists(readme):
    _, texts = readme
    targets = {t for text in texts for t in re.findall(r"^make (\w+)", text)}
    assert {"demo", "test", "submit", "install"} <= targets
    defined = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    assert targets - defined == set()


def test_every_environment_variable_the_readme_names_is_read(readme):
    text, _ = readme
    named = set(re.findall(r"\b(KAGGLE_KIT_[A-Z_]+)", text))
    assert len(named) >= 4
    sources = "".join(p.read_text(encoding="utf-8") for folder in ("kaggle_kit", "tests")
                      for p in (ROOT / folder).rglob("*.py"))
    assert [name for name in sorted(named) if f'"{name}"' not in sources] == []


def layout_entry(text: str, folder: str) -> str:
    block = re.search(r"## Layout\n+```\n(.*?)```", text, re.S).group(1)
    entry = re.search(rf"^{re.escape(folder)}\s+(.*?)(?=^\S)", block + "end\n", re.S | re.M).group(1)
    return " ".join(entry.split())


def test_the_layout_lists_every_module_of_the_package(readme):
    text, _ = readme
    entry = layout_entry(text, "kaggle_kit/")
    package = ROOT / "kaggle_kit"
    modules = {p.stem for p in package.glob("*.py") if not p.stem.startswith("__")}
    modules |= {p.name for p in package.iterdir() if (p / "__init__.py").exists()} - {"commands", "testing"}
    modules |= {p.stem for p in (package / "gap").glob("*.py") if not p.stem.startswith("__")}
    unlisted = sorted(m for m in modules if not re.search(rf"(?<![\w/]){m}\b", entry))
    assert unlisted == []
    listed = re.sub(r"\([^,()]*\)", "", entry.split(":", 1)[1])  # a note in brackets explains, a list names
    named = {piece.split()[-1].rstrip("/") for piece in re.split(r"[,;+()]", listed) if piece.strip()}
    assert len(named) >= 30
    assert sorted(named - modules) == []


RECORDS = ("README.md", "benchmarks/RESULTS.md", "benchmarks/PREREGISTERED.md", "benchmarks/RESULTS_*.md")


def script_options(script: Path) -> set[str]:
    """The ``--options`` a script's argparse takes, read from its source (running ``--help`` imports torch)."""
    return {arg.value for node in ast.walk(ast.parse(script.read_text(encoding="utf-8")))
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument"
            for arg in node.args if isinstance(arg, ast.Constant) and str(arg.value).startswith("--")}


def benchmark_commands(text: str) -> list[tuple[str, list[str]]]:
    """``benchmarks/NAME.py --opt value ...`` as written (a shell line continued by backslashes too): the script and
    the options after it."""
    found = re.findall(r"(benchmarks/\w+\.py)((?:[ \t]+(?:\\\n\s*)?(?:--[\w-]+|[^\s`|\\-][^\s`|]*))*)", text)
    return [(script, re.findall(r"--[\w-]+", rest)) for script, rest in found]


def test_benchmark_commands_are_read_with_their_options():
    text = ("run `.venv/bin/python benchmarks/bench_gap.py --models weak_cnn --tables t.md` then\n"
            "    benchmarks/bench_domain_ci.py \\\n      --repeats 3 | tee x\nand benchmarks/bench_memory.py alone")
    assert benchmark_commands(text) == [("benchmarks/bench_gap.py", ["--models", "--tables"]),
                                        ("benchmarks/bench_domain_ci.py", ["--repeats"]),
                                        ("benchmarks/bench_memory.py", [])]
    assert {"--models", "--tables", "--rows", "--no-write"} <= script_options(ROOT / "benchmarks" / "bench_gap.py")


def test_every_benchmark_command_the_records_give_runs_with_options_its_script_takes():
    """The recorded results are only as good as the commands that reproduce them."""
    texts = [p.read_text(encoding="utf-8") for pattern in RECORDS for p in sorted(ROOT.glob(pattern))]
    commands = [c for text in texts for c in benchmark_commands(text)]
    assert len(commands) >= 20
    problems = []
    for script, options in commands:
        if not (ROOT / script).is_file():
            problems.append(f"{script}: no such script")
            continue
        taken = script_options(ROOT / script)
        problems += [f"{script} has no option {option}" for option in options if option not in taken]
    assert problems == []
