"""A fake Kaggle server for tests and demos: the unmodified official client talks to it over real HTTP.

Why a real server and not mocks: the upload path (StartSubmissionUpload, the PUT of the file, CreateSubmission)
and the client's error handling are where submissions go wrong, so tests must exercise the client's own
requests. With ``KAGGLE_API_ENVIRONMENT=LOCALHOST`` the client (kaggle 2.2.4) sends
``POST http://localhost/api/v1/<service>/<Method>`` with camelCase JSON; with ``HTTP_PROXY`` pointing here
every such request, and every file URL this server hands out (all on host ``localhost``), arrives here.

What it models: submissions scored against a labels CSV with a fixed, seeded public/private split of the ids
(the public score at once, the private one only when configured visible, as after a competition ends);
malformed CSVs end as status ERROR with an error description; a daily submission limit; credentials
(HTTP basic ``username:key`` or a bearer access token) checked with 401; the rules gate (403);
competition data files and their zip; kernels that "run" (copying configured outputs, or executing the pushed
script locally) and expose their outputs. Faults are injected by configuration: an HTTP status for the first N
calls of a method, slow replies, dropped connections, calls never answered (a blackholed request).

Run it standalone for a demo::

    python -m kaggle_kit.testing.fake_kaggle --labels ../shared/data/standin/labels.csv --port 8765
"""
from __future__ import annotations

import argparse
import base64
import csv
import datetime as _dt
import io
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import asdict, dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import quote, unquote, urlsplit

COMPETITION = "deep-learning-spring-2025-project-1"
DEFAULT_USER = "kit-user"
DEFAULT_KEY = "kit-fake-key-0123456789abcdef"
RULES_DOWNLOAD = "You must accept this competition's rules before you'll be able to download files."
RULES_SUBMIT = "You must accept this competition's rules before you'll be able to submit."
# What Kaggle answers for a competition name that does not exist (a typo): a 403, not a 404 (Kaggle/kaggle-cli
# issues #530, #488, #555); ``unknown_competition_status=404`` gives the older "NotFound" answer (issue #21).
UNKNOWN_COMPETITION = "Permission 'competitions.participate' was denied"
UPLOAD_METHOD = "upload"  # the fault-injection name of the file PUT
FILE_METHOD = "file"      # the fault-injection name of file GETs (data files, kernel outputs)


# ------------------------------------------------------------------------------------------- scoring
@dataclass(frozen=True)
class Score:
    status: str                 # COMPLETE | ERROR
    public_score: str = ""
    private_score: str = ""
    error: str = ""


def write_competition(folder: str | Path, n: int, seed: int = 0) -> dict[str, Any]:
    """A small competition for tests: ``folder/cifar_test_nolabel.pkl`` in the competition's format (blank
    images, shuffled ids from 1000) and ``folder/labels.csv``, its hidden labels (the fake server's solution)."""
    import pickle

    import numpy as np

    rng = np.random.default_rng(seed)
    ids = rng.permutation(np.arange(1000, 1000 + n))
    labels = rng.integers(0, 10, n)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pkl = folder / "cifar_test_nolabel.pkl"
    pkl.write_bytes(pickle.dumps({b"data": np.zeros((n, 32, 32, 3), np.uint8), b"ids": ids}, protocol=4))
    labels_csv = folder / "labels.csv"
    labels_csv.write_text("ID,Labels\n" + "".join(f"{i},{l}\n" for i, l in zip(ids, labels)))
    return {"pickle": pkl, "labels_csv": labels_csv, "ids": ids, "labels": labels}


def read_solution(path: str | Path) -> dict[int, int]:
    """``ID,Labels`` -> {id: label}: the hidden answers only the server knows."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "ID" not in reader.fieldnames or "Labels" not in reader.fieldnames:
            raise ValueError(f"{path}: expected columns ID,Labels, found {reader.fieldnames}")
        return {int(r["ID"]): int(r["Labels"]) for r in reader}


def public_ids(ids: list[int] | Mapping[int, Any], fraction: float, seed: int) -> frozenset[int]:
    """A fixed, seeded subset of the ids scored on the public leaderboard; the rest are private."""
    order = sorted(ids)
    random.Random(seed).shuffle(order)
    return frozenset(order[: int(round(fraction * len(order)))])


def score_submission(data: bytes, solution: Mapping[int, int], public: frozenset[int]) -> Score:
    """Score a CSV as Kaggle's accuracy metric would, or say why Kaggle would reject it."""
    def error(msg: str) -> Score:
        return Score(status="ERROR", error=msg)

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return error("Submission file could not be read as UTF-8 text.")
    if not text.strip():
        return error("Submission file is empty.")
    rows = list(csv.reader(io.StringIO(text)))
    header = [h.strip() for h in rows[0]]
    for col in ("ID", "Labels"):
        if col not in header:
            return error(f"Submission must have a column named '{col}' (found: {', '.join(header)[:80]}).")
    extra = [h for h in header if h not in ("ID", "Labels")]
    if extra:
        return error(f"Submission has unexpected column '{extra[0]}'.")
    i_id, i_label = header.index("ID"), header.index("Labels")
    body = [r for r in rows[1:] if r]
    if len(body) != len(solution):
        return error(f"Submission must have {len(solution)} rows (found {len(body)}).")
    preds: dict[int, int] = {}
    for n, row in enumerate(body, start=2):
        if len(row) != len(header):
            return error(f"Row {n} has {len(row)} fields, expected {len(header)}.")
        try:
            row_id = int(row[i_id])
        except ValueError:
            return error(f"Could not parse '{row[i_id][:20]}' into expected type of Int32 for column 'ID' (row {n}).")
        try:
            label = int(row[i_label])
        except ValueError:
            return error(f"Could not parse '{row[i_label][:20]}' into expected type of Int32 for column 'Labels' "
                         f"(row {n}).")
        if row_id not in solution:
            return error(f"Submission contains ID {row_id} which is not in the solution file.")
        if row_id in preds:
            return error(f"Submission contains duplicate ID {row_id}.")
        preds[row_id] = label

    def accuracy(ids: Any) -> str:
        ids = list(ids)
        return f"{sum(preds[i] == solution[i] for i in ids) / len(ids):.5f}" if ids else ""

    return Score(status="COMPLETE", public_score=accuracy(public),
                 private_score=accuracy(i for i in solution if i not in public))


# ------------------------------------------------------------------------------------------- configuration
@dataclass
class Fault:
    """Answer matching calls badly. ``method``: an API method (``CreateSubmission``), ``upload`` (the file PUT),
    ``file`` (file GETs) or ``*``. ``status``: the HTTP status to answer with (0 drops the connection without
    a reply; None answers normally, after ``delay_s``). ``times``: how many calls it affects (None = all).
    ``after``: API calls only: the call takes effect first and only its reply is lost (a 5xx on the way back).
    ``body_bytes``: file GETs only: answer 200 with the file's full Content-Length but send only this many bytes
    of it, then hang up (a download cut off half-way); ``status`` is then ignored.
    ``stall``: the call is read, then never answered: the connection stays open and silent until the server stops
    (a blackholed request; with ``after`` the call takes effect first)."""

    status: int | None = 429
    times: int | None = 1
    method: str = "*"
    delay_s: float = 0.0
    retry_after_s: float | None = None
    message: str = ""
    after: bool = False
    body_bytes: int | None = None
    stall: bool = False

    def matches(self, method: str) -> bool:
        return (self.times is None or self.times > 0) and self.method in ("*", method)


@dataclass(frozen=True)
class KernelResult:
    status: str                  # COMPLETE | ERROR
    failure_message: str = ""
    log: str = ""


@dataclass
class FakeKaggleConfig:
    competition: str = COMPETITION
    labels_csv: str | Path | None = None     # ID,Labels; None: submissions cannot be scored (ERROR)
    public_fraction: float = 0.5
    split_seed: int = 0
    daily_limit: int = 5
    total_limit: int | None = None            # a lifetime cap (GetSubmissionLimits' limitedByTotal); None: none
    users: Mapping[str, str] = field(default_factory=lambda: {DEFAULT_USER: DEFAULT_KEY})  # username -> key
    tokens: Mapping[str, str] = field(default_factory=dict)  # access token -> username
    rules_accepted: bool = True
    unknown_competition_status: int = 403     # Kaggle's answer to a competition name it does not know
    private_visible: bool = False             # True after the competition ended: private scores are shown
    pending_polls: int = 0                    # ListSubmissions calls a new submission stays PENDING for
    max_page_size: int = 200                  # the server caps pageSize ("Default and max page size are set by
                                              # the mid-tier code", kaggle 2.2.4's cli.py); a page may be shorter
    data_files: Mapping[str, str | Path] = field(default_factory=dict)  # name in the download -> local file
    kernel_outputs: Mapping[str, str | Path] = field(default_factory=dict)  # "owner/slug" -> folder of outputs
    kernel_runner: Callable[["KernelRecord", Path], KernelResult] | None = None  # replaces kernel_outputs
    kernel_running_polls: int = 1             # status calls that answer RUNNING before the result shows
    faults: list[Fault] = field(default_factory=list)
    verbose: bool = False
    submissions_file: str | Path | None = None  # JSON kept across restarts (the demo's): Kaggle remembers them


# ------------------------------------------------------------------------------------------- state
class ApiError(Exception):
    """An error reply: Kaggle sends the status and a JSON body ``{"code": ..., "message": ...}``."""

    def __init__(self, code: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.code, self.message, self.headers = code, message, dict(headers or {})


@dataclass(frozen=True)
class Redirect:
    """Download calls answer with a redirect to the file (a signed storage URL on the real Kaggle)."""

    location: str


@dataclass
class SubmissionRecord:
    ref: int
    user: str
    date: _dt.datetime
    description: str
    file_name: str
    size: int
    score: Score
    polls_left: int

    def to_api(self, private_visible: bool) -> dict:
        status = "PENDING" if self.polls_left > 0 else self.score.status
        done = status == "COMPLETE"
        return {
            "ref": self.ref, "totalBytes": self.size, "date": _iso(self.date), "description": self.description,
            "errorDescription": self.score.error if status == "ERROR" else "", "fileName": self.file_name,
            "publicScore": self.score.public_score if done else "",
            "privateScore": self.score.private_score if done and private_visible else "",
            "status": status, "submittedBy": self.user, "teamName": self.user,
        }


@dataclass
class KernelRecord:
    owner: str
    slug: str
    version: int
    request: dict               # the SaveKernel body as sent (camelCase)
    workdir: Path
    status: str = "QUEUED"
    failure_message: str = ""
    log: str = ""
    polls: int = 0
    thread: threading.Thread | None = None
    process: subprocess.Popen | None = None

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.slug}"


def _iso(dt: _dt.datetime) -> str:
    return dt.astimezone(_dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


class FakeKaggleState:
    """Everything the server remembers, behind one lock. Each API method is a method of the same name taking
    (authenticated user, JSON body, Host header) and returning the JSON reply, a Redirect, or raising ApiError."""

    def __init__(self, config: FakeKaggleConfig, workdir: Path, secret: str):
        self.config = config
        self.workdir = workdir
        self.secret = secret
        self.lock = threading.RLock()
        self.solution = read_solution(config.labels_csv) if config.labels_csv else {}
        self.public = public_ids(self.solution, config.public_fraction, config.split_seed)
        self.submissions: list[SubmissionRecord] = self._load_submissions()
        self.uploads: dict[str, dict] = {}
        self.kernels: dict[str, KernelRecord] = {}
        self.calls: list[tuple[str, int | None]] = []
        self._next_ref = max([s.ref for s in self.submissions], default=40_000_000) + 1
        self._archive: Path | None = None

    def _load_submissions(self) -> list[SubmissionRecord]:
        """The submissions of earlier starts (``submissions_file``); an unreadable file starts afresh."""
        path = self.config.submissions_file
        if path is None or not Path(path).is_file():
            return []
        try:
            rows = json.loads(Path(path).read_text(encoding="utf-8"))
            return [SubmissionRecord(**{**r, "date": _dt.datetime.fromisoformat(r["date"]),
                                        "score": Score(**r["score"])}) for r in rows]
        except (OSError, ValueError, TypeError, KeyError):
            return []

    def _save_submissions(self) -> None:
        path = self.config.submissions_file
        if path is None:
            return
        from kaggle_kit.fsio import atomic_write_text

        rows = [{**asdict(s), "date": s.date.isoformat()} for s in self.submissions]
        atomic_write_text(path, json.dumps(rows, indent=1))

    # ---- helpers
    def _competition(self, body: dict, rules_message: str | None = None) -> str:
        name = body.get("competitionName") or ""
        if name != self.config.competition:
            if self.config.unknown_competition_status == 404:
                raise ApiError(404, "NotFound")
            raise ApiError(self.config.unknown_competition_status, UNKNOWN_COMPETITION)
        if rules_message and not self.config.rules_accepted:
            raise ApiError(403, rules_message)
        return name

    def today_count(self, user: str) -> int:
        today = _dt.datetime.now(_dt.timezone.utc).date()
        return sum(1 for s in self.submissions
                   if s.user == user and s.date.date() == today and s.score.status != "ERROR")

    def host_url(self, host: str) -> str:
        return f"http://{host or 'localhost'}"

    # ---- competitions
    def StartSubmissionUpload(self, user: str, body: dict, host: str) -> dict:
        self._competition(body, RULES_SUBMIT)
        token = secrets.token_hex(12)
        self.uploads[token] = {"user": user, "file_name": body.get("fileName") or "submission.csv",
                               "content_length": int(body.get("contentLength") or 0), "data": None}
        return {"token": token, "createUrl": f"{self.host_url(host)}/upload/{self.secret}/{token}"}

    def CreateSubmission(self, user: str, body: dict, host: str) -> dict:
        competition = self._competition(body, RULES_SUBMIT)
        upload = self.uploads.get(body.get("blobFileTokens") or "")
        if upload is None or upload["user"] != user or upload["data"] is None:
            raise ApiError(400, "The submission file was not uploaded (unknown or incomplete blob token).")
        total = sum(1 for s in self.submissions if s.user == user and s.score.status != "ERROR")
        if self.config.total_limit is not None and total >= self.config.total_limit:
            raise ApiError(400, f"Submission not allowed: Your team has used its total Submission allowance "
                                f"({self.config.total_limit}).")
        if self.today_count(user) >= self.config.daily_limit:
            raise ApiError(400, f"Submission not allowed: Your team has used its daily Submission allowance "
                                f"({self.config.daily_limit}) today, please try again tomorrow UTC.")
        if self.solution:
            score = score_submission(upload["data"], self.solution, self.public)
        else:
            score = Score(status="ERROR", error="The fake server has no solution file (start it with --labels).")
        ref = self._next_ref
        self._next_ref += 1
        self.submissions.append(SubmissionRecord(
            ref=ref, user=user, date=_dt.datetime.now(_dt.timezone.utc),
            description=body.get("submissionDescription") or "", file_name=upload["file_name"],
            size=len(upload["data"]), score=score, polls_left=self.config.pending_polls))
        del self.uploads[body["blobFileTokens"]]
        self._save_submissions()
        return {"message": f"Successfully submitted to {competition}", "ref": ref}

    def ListSubmissions(self, user: str, body: dict, host: str) -> dict:
        self._competition(body)
        mine = sorted((s for s in self.submissions if s.user == user), key=lambda s: (s.date, s.ref), reverse=True)
        size = min(int(body.get("pageSize") or 20), self.config.max_page_size)
        page = int(body.get("pageToken") or body.get("page") or 1)
        chunk = mine[(page - 1) * size: page * size]
        out = [s.to_api(self.config.private_visible) for s in chunk]
        for s in chunk:
            s.polls_left = max(0, s.polls_left - 1)
        more = page * size < len(mine)
        return {"submissions": out, "nextPageToken": str(page + 1) if more else ""}

    def GetSubmissionLimits(self, user: str, body: dict, host: str) -> dict:
        self._competition(body)
        today = self.today_count(user)
        total = sum(1 for s in self.submissions if s.user == user and s.score.status != "ERROR")
        daily = self.config.daily_limit - today
        lifetime = daily if self.config.total_limit is None else self.config.total_limit - total
        return {"numToday": today, "numTotal": total, "numAllowedNow": max(0, min(daily, lifetime)),
                "limitedByTotal": lifetime < daily}

    def GetLeaderboard(self, user: str, body: dict, host: str) -> dict:
        self._competition(body)
        best: dict[str, SubmissionRecord] = {}
        for s in self.submissions:
            if s.score.status != "COMPLETE" or s.polls_left > 0:
                continue
            if s.user not in best or float(s.score.public_score) > float(best[s.user].score.public_score):
                best[s.user] = s
        ranked = sorted(best.values(), key=lambda s: float(s.score.public_score), reverse=True)
        users = sorted(self.config.users)
        return {"submissions": [{"teamId": 1000 + (users.index(s.user) if s.user in users else 99),
                                 "teamName": s.user, "submissionDate": _iso(s.date),
                                 "score": s.score.public_score} for s in ranked],
                "nextPageToken": ""}

    def ListDataFiles(self, user: str, body: dict, host: str) -> dict:
        self._competition(body)
        files = []
        for name, path in sorted(self.config.data_files.items()):
            st = Path(path).stat()
            files.append({"ref": name, "name": name, "totalBytes": st.st_size,
                          "url": f"{self.host_url(host)}/files/{self.secret}/{quote(name)}",
                          "creationDate": _iso(_dt.datetime.fromtimestamp(st.st_mtime, _dt.timezone.utc))})
        return {"files": files, "nextPageToken": ""}

    def DownloadDataFile(self, user: str, body: dict, host: str) -> Redirect:
        self._competition(body, RULES_DOWNLOAD)
        name = body.get("fileName") or ""
        if name not in self.config.data_files:
            raise ApiError(404, f"File '{name}' was not found in competition {self.config.competition}.")
        return Redirect(f"{self.host_url(host)}/files/{self.secret}/{quote(name)}")

    def DownloadDataFiles(self, user: str, body: dict, host: str) -> Redirect:
        competition = self._competition(body, RULES_DOWNLOAD)
        if not self.config.data_files:
            raise ApiError(404, f"Competition {competition} has no data files.")
        return Redirect(f"{self.host_url(host)}/archive/{self.secret}/{competition}.zip")

    def archive_path(self) -> Path:
        """The competition's zip, built once (stored, not deflated: the batches do not compress)."""
        with self.lock:
            if self._archive is None:
                path = self.workdir / f"{self.config.competition}.zip"
                with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
                    for name, src in sorted(self.config.data_files.items()):
                        zf.write(src, name)
                self._archive = path
            return self._archive

    # ---- kernels
    def _kernel(self, user: str, body: dict) -> KernelRecord:
        ref = f"{body.get('userName') or ''}/{body.get('kernelSlug') or ''}"
        record = self.kernels.get(ref)
        if record is None:
            raise ApiError(404, f"Kernel '{ref}' was not found.")
        if record.owner != user and record.request.get("isPrivate", True):
            raise ApiError(403, "Permission 'kernels.get' was denied")
        return record

    def SaveKernel(self, user: str, body: dict, host: str) -> dict:
        slug_full = body.get("slug") or ""
        if slug_full.count("/") != 1:
            raise ApiError(400, f"Kernel slug '{slug_full}' must be owner/slug.")
        owner, slug = slug_full.split("/")
        if owner != user:
            raise ApiError(403, "Permission 'kernels.create' was denied")
        if body.get("language") != "python" or body.get("kernelType") not in ("script", "notebook"):
            raise ApiError(400, "Only python scripts and notebooks are supported by the fake server.")
        bad = [c for c in body.get("competitionDataSources") or [] if c != self.config.competition]
        if bad:
            return {"ref": "", "url": "", "error": "Invalid competition data sources", "invalidCompetitionSources": bad}
        previous = self.kernels.get(slug_full)
        if previous is not None and previous.status in ("QUEUED", "RUNNING"):
            raise ApiError(409, f"Kernel '{slug_full}' is still running; wait for it to finish.")
        version = previous.version + 1 if previous else 1
        workdir = self.workdir / "kernels" / owner / slug / f"v{version}"
        workdir.mkdir(parents=True)
        record = KernelRecord(owner=owner, slug=slug, version=version, request=dict(body), workdir=workdir)
        self.kernels[slug_full] = record
        record.thread = threading.Thread(target=self._run_kernel, args=(record,), daemon=True,
                                         name=f"fake-kernel-{slug}")
        record.thread.start()
        return {"ref": f"/code/{slug_full}", "url": f"{self.host_url(host)}/code/{slug_full}",
                "versionNumber": version, "kernelId": 7_000_000 + len(self.kernels)}

    def _run_kernel(self, record: KernelRecord) -> None:
        with self.lock:
            record.status = "RUNNING"
        try:
            runner = self.config.kernel_runner or StaticOutputs(self.config.kernel_outputs)
            result = runner(record, record.workdir)
        except Exception as err:  # a runner bug must show as a failed kernel, not a hung one
            result = KernelResult("ERROR", f"{type(err).__name__}: {err}")
        with self.lock:
            record.status, record.failure_message, record.log = result.status, result.failure_message, result.log

    def GetKernelSessionStatus(self, user: str, body: dict, host: str) -> dict:
        record = self._kernel(user, body)
        record.polls += 1
        status = record.status
        if status in ("COMPLETE", "ERROR") and record.polls <= self.config.kernel_running_polls:
            status = "RUNNING"
        out = {"status": status}
        if status == "ERROR":
            out["failureMessage"] = record.failure_message
        return out

    def ListKernelSessionOutput(self, user: str, body: dict, host: str) -> dict:
        record = self._kernel(user, body)
        if record.status not in ("COMPLETE", "ERROR"):
            return {"files": [], "log": "", "nextPageToken": ""}
        names = sorted(p.relative_to(record.workdir).as_posix() for p in record.workdir.rglob("*") if p.is_file())
        size = int(body.get("pageSize") or 20)
        start = int(body.get("pageToken") or 0)
        chunk = names[start:start + size]
        base = f"{self.host_url(host)}/kernel-output/{self.secret}/{record.owner}/{record.slug}"
        files = [{"fileName": n, "url": f"{base}/{quote(n)}"} for n in chunk]
        more = start + size < len(names)
        return {"files": files, "log": record.log if start == 0 else "",
                "nextPageToken": str(start + size) if more else ""}

    def file_for(self, path: str) -> Path | None:
        """Map a file URL path this server handed out to the local file, or None."""
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if len(parts) < 3 or parts[1] != self.secret:
            return None
        kind, rest = parts[0], parts[2:]
        if kind == "files":
            src = self.config.data_files.get("/".join(rest))
            return Path(src) if src else None
        if kind == "archive" and rest == [f"{self.config.competition}.zip"]:
            return self.archive_path()
        if kind == "kernel-output" and len(rest) >= 3:
            record = self.kernels.get(f"{rest[0]}/{rest[1]}")
            if record is None:
                return None
            target = (record.workdir / "/".join(rest[2:])).resolve()
            inside = record.workdir.resolve() in target.parents
            return target if inside and target.is_file() else None
        return None


# ------------------------------------------------------------------------------------------- kernel runners
class StaticOutputs:
    """Completes a kernel by copying a configured folder of outputs (``owner/slug`` -> folder) into its
    working directory: what a kernel that trained and predicted would have left behind."""

    def __init__(self, outputs: Mapping[str, str | Path]):
        self.outputs = dict(outputs)

    def __call__(self, record: KernelRecord, workdir: Path) -> KernelResult:
        src = self.outputs.get(record.ref)
        if src is None:
            return KernelResult("COMPLETE", log=f"{record.ref}: no outputs configured on the fake server\n")
        shutil.copytree(src, workdir, dirs_exist_ok=True)
        return KernelResult("COMPLETE", log=f"{record.ref}: copied outputs from {src}\n")


class ScriptRunner:
    """Completes a kernel by running the pushed script here, as Kaggle would on its machine: in a fresh
    process with ``KAGGLE_KERNEL_RUN_TYPE`` set, the working directory as ``/kaggle/working`` (passed as
    ``KAGGLE_KIT_KERNEL_WORKDIR``), the competition data as ``KAGGLE_KIT_DATA``, no proxy (no internet) and a
    temporary folder of its own that goes when the kernel ends, as Kaggle's machine does: the script unpacks
    the toolkit there, and with the host's TMPDIR each test run left a copy of it in /tmp."""

    def __init__(self, data_dir: str | Path | None = None, timeout_s: float = 600.0,
                 extra_env: Mapping[str, str] | None = None):
        self.data_dir = data_dir
        self.timeout_s = timeout_s
        self.extra_env = dict(extra_env or {})

    def __call__(self, record: KernelRecord, workdir: Path) -> KernelResult:
        script = workdir.parent / f"{record.slug}.py"
        script.write_text(record.request.get("text") or "", encoding="utf-8")
        with tempfile.TemporaryDirectory(prefix=f"{record.slug}-v{record.version}-tmp-",
                                         dir=workdir.parent, ignore_cleanup_errors=True) as machine_tmp:
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir.parent),
                   "KAGGLE_KERNEL_RUN_TYPE": "Batch", "KAGGLE_KIT_KERNEL_WORKDIR": str(workdir),
                   "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "TMPDIR": machine_tmp, **self.extra_env}
            if self.data_dir is not None:
                env["KAGGLE_KIT_DATA"] = str(self.data_dir)
            proc = subprocess.Popen([sys.executable, str(script)], cwd=workdir, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            record.process = proc
            try:
                out, _ = proc.communicate(timeout=self.timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                out, _ = proc.communicate()
                return KernelResult("ERROR", f"timed out after {self.timeout_s:.0f} s", out.decode(errors="replace"))
        log = out.decode(errors="replace")
        if proc.returncode != 0:
            last = log.strip().splitlines()[-1] if log.strip() else ""
            return KernelResult("ERROR", f"script exited with code {proc.returncode}: {last}"[:300], log)
        return KernelResult("COMPLETE", log=log)


# ------------------------------------------------------------------------------------------- HTTP
def _basic_user(header: str, users: Mapping[str, str], tokens: Mapping[str, str]) -> str | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return tokens.get(value.strip())
    if scheme.lower() == "basic":
        try:
            user, _, key = base64.b64decode(value.strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return user if users.get(user) == key and key else None
    return None


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt: str, *args: Any) -> None:
        if self.server.fake.config.verbose:
            sys.stderr.write("fake-kaggle: " + (fmt % args) + "\n")

    # ---- plumbing
    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send_json(self, code: int, obj: Any, headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, err: ApiError) -> None:
        self._send_json(err.code, {"code": err.code, "message": err.message}, err.headers)

    def _send_redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _take_fault(self, method: str) -> Fault | None:
        """The first matching fault (counted as used), after its delay; None when no fault answers the call."""
        fake = self.server.fake
        with fake.state.lock:
            fault = next((f for f in fake.config.faults if f.matches(method)), None)
            if fault is not None and fault.times is not None:
                fault.times -= 1
        if fault is not None and fault.delay_s:
            time.sleep(fault.delay_s)
        answers = fault is not None and (fault.status is not None or fault.body_bytes is not None or fault.stall)
        return fault if answers else None

    def _answer_fault(self, method: str, fault: Fault) -> None:
        if fault.stall:  # recorded as status None: the call arrived and was never answered
            self.server.fake.record(method, None)
            self.server.fake.stopping.wait()
            self.close_connection = True
            return
        self.server.fake.record(method, fault.status)
        if fault.status == 0:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        headers = {"Retry-After": f"{fault.retry_after_s:g}"} if fault.retry_after_s is not None else {}
        default = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
                   503: "Service Unavailable"}
        self._send_error(ApiError(fault.status, fault.message or default.get(fault.status, "Injected fault"), headers))

    def _path(self) -> str:
        return urlsplit(self.path).path  # absolute-form (through a proxy) or origin-form

    # ---- verbs
    def do_POST(self) -> None:
        fake = self.server.fake
        path = self._path()
        body_bytes = self._body()
        if not path.startswith("/api/v1/"):
            self._send_error(ApiError(404, f"No route for POST {path}"))
            return
        service, _, method = path[len("/api/v1/"):].partition("/")
        fault = self._take_fault(method)
        if fault is not None and not fault.after:
            self._answer_fault(method, fault)
            return
        try:
            body = json.loads(body_bytes or b"{}")
        except json.JSONDecodeError:
            fake.record(method, 400)
            self._send_error(ApiError(400, "Request body is not JSON."))
            return
        if method == "IntrospectToken":
            user = fake.config.tokens.get(body.get("token") or "")
            fake.record(method, 200)
            self._send_json(200, {"active": bool(user), "username": user or ""})
            return
        user = _basic_user(self.headers.get("Authorization") or "", fake.config.users, fake.config.tokens)
        if user is None:
            fake.record(method, 401)
            self._send_error(ApiError(401, "Unauthenticated"))
            return
        handler = getattr(fake.state, method, None) if method[:1].isupper() else None
        if handler is None:
            fake.record(method, 404)
            self._send_error(ApiError(404, f"Unknown method {service}/{method}"))
            return
        try:
            with fake.state.lock:
                reply = handler(user, body, self.headers.get("Host") or "localhost")
        except ApiError as err:
            fake.record(method, err.code)
            self._send_error(err)
            return
        if isinstance(reply, Redirect):
            fake.record(method, 302)
            self._send_redirect(reply.location)
            return
        if fault is not None:  # the call took effect; its reply is lost
            self._answer_fault(method, fault)
            return
        fake.record(method, 200)
        self._send_json(200, reply)

    def do_PUT(self) -> None:
        fake = self.server.fake
        parts = self._path().strip("/").split("/")
        data = self._body()
        fault = self._take_fault(UPLOAD_METHOD)
        if fault is not None:
            self._answer_fault(UPLOAD_METHOD, fault)
            return
        if len(parts) != 3 or parts[0] != "upload" or parts[1] != fake.state.secret:
            fake.record(UPLOAD_METHOD, 404)
            self._send_error(ApiError(404, "Unknown upload URL"))
            return
        with fake.state.lock:
            upload = fake.state.uploads.get(parts[2])
            if upload is None:
                code = 404
            else:
                upload["data"] = data
                code = 200
        fake.record(UPLOAD_METHOD, code)
        self._send_json(code, {} if code == 200 else {"code": 404, "message": "Upload expired"})

    def do_GET(self) -> None:
        fake = self.server.fake
        fault = self._take_fault(FILE_METHOD)
        if fault is not None and fault.body_bytes is None:
            self._answer_fault(FILE_METHOD, fault)
            return
        src = fake.state.file_for(self._path())
        if src is None or not src.is_file():
            fake.record(FILE_METHOD, 404)
            self._send_error(ApiError(404, "Not found"))
            return
        st = src.stat()
        modified = formatdate(st.st_mtime, usegmt=True)
        start = self._range_start(st.st_size, modified)
        fake.record(FILE_METHOD, 206 if start else 200)
        self.send_response(206 if start else 200)
        self.send_header("Content-Type", "application/zip" if src.suffix == ".zip" else "application/octet-stream")
        self.send_header("Content-Length", str(st.st_size - start))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{st.st_size - 1}/{st.st_size}")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", modified)
        self.end_headers()
        with open(src, "rb") as fh:
            fh.seek(start)
            if fault is not None:  # cut off half-way: the promised length, fewer bytes, a closed connection
                self.wfile.write(fh.read(min(fault.body_bytes, st.st_size - start)))
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            shutil.copyfileobj(fh, self.wfile, 1 << 20)


    def _range_start(self, size: int, modified: str) -> int:
        """Where a ``Range: bytes=N-`` request (a client resuming a cut-off download) starts, as storage
        servers answer it: 0 (the whole file) for no or another kind of range, one past the end, or an
        ``If-Range`` that no longer matches the file."""
        m = re.fullmatch(r"bytes=(\d+)-", (self.headers.get("Range") or "").strip())
        if_range = self.headers.get("If-Range")
        if m is None or (if_range is not None and if_range != modified) or int(m.group(1)) >= size:
            return 0
        return int(m.group(1))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: "FakeKaggle"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up (or an injected dropped connection) is normal here, not a traceback."""
        if self.fake.config.verbose:
            super().handle_error(request, client_address)


class FakeKaggle:
    """The server: ``with FakeKaggle(config) as fk: ...`` or ``start()``/``stop()``; ``.port``, ``.url``.

    ``calls`` lists ``(method, status)`` of every call answered (status None: held unanswered by a ``stall`` fault),
    for tests to assert on retries; ``faults`` can be appended while it runs; ``submissions`` and ``kernels`` show
    what was received.
    """

    def __init__(self, config: FakeKaggleConfig | None = None, port: int = 0, **overrides: Any):
        self.config = config or FakeKaggleConfig(**overrides)
        if config is not None and overrides:
            raise TypeError("pass either a FakeKaggleConfig or keyword settings, not both")
        self._requested_port = port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.state: FakeKaggleState | None = None
        self.stopping = threading.Event()  # releases the calls a ``stall`` fault holds

    # ---- lifecycle
    def start(self) -> "FakeKaggle":
        if self._httpd is not None:
            return self
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-kaggle-")
        self.stopping.clear()
        self.state = FakeKaggleState(self.config, Path(self._tmp.name), secrets.token_hex(8))
        self._httpd = _Server(("127.0.0.1", self._requested_port), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name="fake-kaggle")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        for record in list(self.state.kernels.values()):
            if record.process is not None and record.process.poll() is None:
                os.killpg(record.process.pid, signal.SIGKILL)
            if record.thread is not None:
                record.thread.join(timeout=10)
        self._tmp.cleanup()
        self._httpd = None

    def __enter__(self) -> "FakeKaggle":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ---- introspection
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the fake Kaggle server is not running; call start() first")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def calls(self) -> list[tuple[str, int | None]]:
        with self.state.lock:
            return list(self.state.calls)

    @property
    def faults(self) -> list[Fault]:
        return self.config.faults

    @property
    def submissions(self) -> list[SubmissionRecord]:
        with self.state.lock:
            return list(self.state.submissions)

    @property
    def kernels(self) -> dict[str, KernelRecord]:
        with self.state.lock:
            return dict(self.state.kernels)

    def record(self, method: str, status: int | None) -> None:
        with self.state.lock:
            self.state.calls.append((method, status))

    def wait_for_kernel(self, ref: str, timeout_s: float = 60.0) -> KernelRecord:
        """Block until a pushed kernel finished (tests use it instead of sleeping)."""
        record = self.kernels[ref]
        if record.thread is not None:
            record.thread.join(timeout=timeout_s)
        return record

    def client_env(self, config_dir: str | Path) -> dict[str, str]:
        """Environment that points the official client at this server (see ``kaggle_api.client_env``)."""
        from kaggle_kit.kaggle_api import client_env

        return client_env(self.port, config_dir)

    def sandbox_env(self, root: str | Path, credentials: bool = True) -> dict[str, str | None]:
        """A complete, isolated client environment under ``root`` (None = unset the variable): its own HOME
        (so no real ~/.kaggle is read), a config folder holding a kaggle.json for the first configured user
        when ``credentials``, no credential variables, and the proxy settings for this server."""
        from kaggle_kit.kaggle_api import write_kaggle_json

        root = Path(root)
        home, config_dir = root / "home", root / "kaggle-config"
        home.mkdir(parents=True, exist_ok=True)
        config_dir.mkdir(parents=True, exist_ok=True)
        if credentials:
            user, key = next(iter(self.config.users.items()))
            write_kaggle_json(config_dir, user, key)
        return {"HOME": str(home), "XDG_CONFIG_HOME": None, "KAGGLE_USERNAME": None, "KAGGLE_KEY": None,
                "KAGGLE_API_TOKEN": None, "KAGGLE_KERNEL_RUN_TYPE": None, "HTTPS_PROXY": None,
                "https_proxy": None, "ALL_PROXY": None, "all_proxy": None, **self.client_env(config_dir)}


# ------------------------------------------------------------------------------------------- CLI
def _data_files_from(folder: str | None) -> dict[str, Path]:
    if not folder:
        return {}
    root = Path(folder)
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kaggle_kit.testing.fake_kaggle",
                                description="Run a fake Kaggle server on 127.0.0.1 for demos.")
    p.add_argument("--labels", help="ID,Labels CSV the submissions are scored against")
    p.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    p.add_argument("--competition", default=COMPETITION)
    p.add_argument("--public-fraction", type=float, default=0.5)
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--daily-limit", type=int, default=5)
    p.add_argument("--user", default=DEFAULT_USER)
    p.add_argument("--key", default=DEFAULT_KEY)
    p.add_argument("--data-dir", help="serve every file under this folder as the competition's data")
    p.add_argument("--kernel-data", help="run pushed kernels locally with this folder as their input data")
    p.add_argument("--private-visible", action="store_true", help="show private scores (competition ended)")
    p.add_argument("--rules-not-accepted", action="store_true", help="answer downloads and submits with 403")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = p.parse_args(argv)
    config = FakeKaggleConfig(
        competition=args.competition, labels_csv=args.labels, public_fraction=args.public_fraction,
        split_seed=args.split_seed, daily_limit=args.daily_limit, users={args.user: args.key},
        rules_accepted=not args.rules_not_accepted, private_visible=args.private_visible,
        data_files=_data_files_from(args.data_dir), verbose=args.verbose,
        kernel_runner=ScriptRunner(args.kernel_data) if args.kernel_data else None)
    try:  # a Ctrl-C at any point once the server is up, even while its banner is printed, is a clean stop
        with FakeKaggle(config, port=args.port) as fake:
            print(f"fake Kaggle server on {fake.url} (competition {config.competition}, user {args.user})")
            print("point the official client at it with:")
            print("  export KAGGLE_API_ENVIRONMENT=LOCALHOST")
            print(f"  export HTTP_PROXY={fake.url} http_proxy={fake.url} NO_PROXY= no_proxy=")
            print(f"  export KAGGLE_USERNAME={args.user} KAGGLE_KEY={args.key}   # the fake's own demo credentials")
            print("press Ctrl-C to stop", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
