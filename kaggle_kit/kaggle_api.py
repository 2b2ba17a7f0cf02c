"""The one module that talks to Kaggle, through the official ``kaggle`` client (2.2.4), imported lazily.

Why lazily: importing ``kaggle`` authenticates at once and prints a help text (and would exit) when no
credentials exist, so the toolkit first decides from the files and variables the client reads whether any
credentials exist at all (``find_credentials``), without importing it.

Why a wrapper: the client never retries competition calls, returns "Could not submit to competition" instead
of raising when the file upload fails, and surfaces HTTP errors as ``requests.HTTPError``. Here every call
gets bounded exponential backoff on 429/5xx/connection errors, and each failure becomes one ``KitError``
line that says what to do. Credentials are read by the client only; nothing here prints or stores them.

Why a hook on ``requests``: the client sends every request (its API calls and the file PUT) without a timeout, so a
server that accepts the connection and then says nothing held `kaggle-kit submit` forever. The client's sessions
are made inside its methods, out of reach, so while one of our calls runs, ``HTTPAdapter.send`` (wrapped once,
inert outside our calls) gives each request a timeout of ``KAGGLE_KIT_KAGGLE_TIMEOUT_S`` seconds of silence. Each
request still runs in the calling thread, so nothing is left behind to finish later.
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime
import functools
import io
import json
import os
import random
import re
import shutil
import stat
import sys
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, TypeVar
from urllib.parse import urlsplit

from kaggle_kit.config import COMPETITION_SLUG
from kaggle_kit.errors import CredentialsError, DataFormatError, KaggleError, SubmissionLimitError, UsageError
from kaggle_kit.fsio import check_dir_target, escape_problem, new_paths
from kaggle_kit.text import spelled_out

T = TypeVar("T")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
UPLOAD_FAILED = "Could not submit to competition"  # kaggle 2.2.4: KaggleApi.COMPETITION_SUBMIT_UPLOAD_FAILED_MESSAGE
ACCEPTED_REF = "kaggle_ref"  # on a KeyboardInterrupt out of submit(): the ref of the file Kaggle had already taken
TOKEN_URL = "https://www.kaggle.com/settings/api"


# ------------------------------------------------------------------------------------------ environment
def client_env(port: int, config_dir: str | Path) -> dict[str, str]:
    """Variables that send the unmodified client to a local (fake) server on ``127.0.0.1:port``.

    ``LOCALHOST`` makes the client call ``http://localhost/api/v1/...``; the proxy variables route those
    requests, and the file URLs the server hands out, to the port. ``NO_PROXY`` is cleared because a
    ``localhost`` entry there would bypass the proxy."""
    proxy = f"http://127.0.0.1:{int(port)}"
    return {"KAGGLE_API_ENVIRONMENT": "LOCALHOST", "HTTP_PROXY": proxy, "http_proxy": proxy,
            "NO_PROXY": "", "no_proxy": "", "KAGGLE_CONFIG_DIR": str(config_dir)}


def write_kaggle_json(config_dir: str | Path, username: str, key: str) -> Path:
    """Write ``kaggle.json`` as Kaggle's settings page would hand it out, readable by the owner only."""
    path = Path(config_dir) / "kaggle.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"username": username, "key": key}, fh)
    os.chmod(path, 0o600)
    return path


@contextlib.contextmanager
def applied_env(env: Mapping[str, str] | None, unset: tuple[str, ...] = ()) -> Iterator[None]:
    """Set (and unset) environment variables for the block, restoring the previous values afterwards."""
    env = dict(env or {})
    saved = {k: os.environ.get(k) for k in (*env, *unset)}
    for k in unset:
        os.environ.pop(k, None)
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def kaggle_env(server: Any, config_dir: str | Path, username: str | None = None,
               key: str | None = None) -> Iterator[dict[str, str]]:
    """Point this process's client at a fake server (an object with ``.port``, or a port number) for the
    duration of the block; with ``username``/``key`` also write ``kaggle.json`` there and make those the
    credentials the client uses (the user's own KAGGLE_* credential variables are set aside, so they are
    neither rejected by nor sent to the fake). Restores os.environ."""
    port = server if isinstance(server, int) else server.port
    env = client_env(port, config_dir)
    own_credentials = username is not None and key is not None
    if own_credentials:
        write_kaggle_json(config_dir, username, key)
        env.update(KAGGLE_USERNAME=username, KAGGLE_KEY=key)
    with applied_env(env, unset=("KAGGLE_API_TOKEN",) if own_credentials else ()):
        yield env


# ------------------------------------------------------------------------------------------ credentials
@dataclass(frozen=True)
class CredentialSource:
    """Where the client will find credentials; a description only, never the secret itself."""

    kind: str    # access token | api key | oauth
    where: str   # a variable name or a file path


def kaggle_config_dir() -> Path:
    """The folder kaggle 2.2.4 reads ``kaggle.json`` from: $KAGGLE_CONFIG_DIR, ~/.kaggle, or (Linux, when
    ~/.kaggle does not exist) $XDG_CONFIG_HOME/kaggle."""
    if os.environ.get("KAGGLE_CONFIG_DIR"):
        return Path(os.environ["KAGGLE_CONFIG_DIR"])
    home = Path(os.path.expanduser("~"))
    legacy = home / ".kaggle"
    if sys.platform.startswith("linux") and not legacy.exists():
        return Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "kaggle"
    return legacy


def _nonempty_file(path: str | Path) -> bool:
    p = Path(path)
    try:
        return p.is_file() and bool(p.read_text().strip())
    except (OSError, UnicodeDecodeError):
        return False


def _token_source() -> CredentialSource | None:
    """Access tokens, in the client's order: the kernel's token file, $KAGGLE_API_TOKEN (value or file),
    ~/.kaggle/access_token(.txt)."""
    if os.environ.get("KAGGLE_KERNEL_RUN_TYPE") and os.environ.get("KAGGLE_DATA_PROXY_URL"):
        token_file = os.environ.get("KAGGLE_API_V1_TOKEN")
        if token_file and _nonempty_file(token_file):
            return CredentialSource("access token", "KAGGLE_API_V1_TOKEN")
    token = os.environ.get("KAGGLE_API_TOKEN")
    if token:
        if not Path(token).exists() or _nonempty_file(token):
            return CredentialSource("access token", "KAGGLE_API_TOKEN")
        return None  # the client stops here too: an empty token file means no token
    for name in ("access_token", "access_token.txt"):
        path = Path(os.path.expanduser("~/.kaggle")) / name
        if _nonempty_file(path):
            return CredentialSource("access token", str(path))
    return None


def _api_key_source() -> CredentialSource | None:
    """Username and key from $KAGGLE_USERNAME/$KAGGLE_KEY (these win) and kaggle.json; a broken file is an
    error unless the variables supply both values."""
    env_user, env_key = os.environ.get("KAGGLE_USERNAME"), os.environ.get("KAGGLE_KEY")
    path = kaggle_config_dir() / "kaggle.json"
    if env_user and env_key:
        return CredentialSource("api key", "KAGGLE_USERNAME/KAGGLE_KEY")
    fix = f"download a new kaggle.json from {TOKEN_URL} or set KAGGLE_USERNAME and KAGGLE_KEY"
    if not path.is_file():
        if env_user or env_key:
            have, lack = ("KAGGLE_USERNAME", "KAGGLE_KEY") if env_user else ("KAGGLE_KEY", "KAGGLE_USERNAME")
            raise CredentialsError(f"{have} is set but {lack} is not; set both, or use a kaggle.json in {path.parent}")
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CredentialsError(f"{path} is not valid JSON; {fix}") from None
    except OSError as err:
        raise CredentialsError(f"{path} cannot be read ({err.strerror}); fix its permissions with chmod 600") from None
    if not isinstance(data, dict):
        raise CredentialsError(f"{path} is not a JSON object with 'username' and 'key'; {fix}")
    for field_name, env_value in (("username", env_user), ("key", env_key)):
        if not env_value and not data.get(field_name):
            raise CredentialsError(f"{path} has no '{field_name}' field; {fix}")
    return CredentialSource("api key", str(path))


def find_credentials() -> CredentialSource | None:
    """Which credentials the client will use, or None; raises CredentialsError for a broken or exposed
    kaggle.json. Follows kaggle 2.2.4: access token, then API key, then an OAuth login."""
    path = kaggle_config_dir() / "kaggle.json"
    if os.name != "nt" and path.is_file() and path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH):
        raise CredentialsError(f"{path} is readable by other users; run `chmod 600 {path}` and rerun")
    token = _token_source()
    if token is not None:
        return token
    try:
        key = _api_key_source()
    except CredentialsError:
        if _oauth_source() is not None:
            return _oauth_source()
        raise
    return key or _oauth_source()


def _oauth_source() -> CredentialSource | None:
    path = Path(os.path.expanduser("~/.kaggle/credentials.json"))
    try:
        data = json.loads(path.read_text()) if path.is_file() else None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return CredentialSource("oauth", str(path)) if isinstance(data, dict) and data.get("refresh_token") else None


def has_credentials() -> bool:
    """True when the client will find credentials (decides upload vs dry run); never imports kaggle."""
    return find_credentials() is not None


def require_credentials() -> CredentialSource:
    source = find_credentials()
    if source is None:
        raise CredentialsError(
            f"no Kaggle credentials found; create an API token at {TOKEN_URL} and save kaggle.json in "
            f"{kaggle_config_dir()} (chmod 600), or set KAGGLE_USERNAME and KAGGLE_KEY")
    return source


# ------------------------------------------------------------------------------------------ retries
@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff: ``attempts`` tries, waits base*factor^i (jittered), each at most max."""

    attempts: int = 5
    base_delay_s: float = 2.0
    factor: float = 2.0
    max_delay_s: float = 60.0
    jitter: float = 0.25  # +-25 % so many clients do not retry in lockstep


DEFAULT_RETRY = RetryPolicy()


def backoff_delays(policy: RetryPolicy, rng: random.Random | None = None) -> list[float]:
    """The waits between the attempts of ``policy`` (one fewer than attempts)."""
    rng = rng or random.Random()
    out = []
    for i in range(max(0, policy.attempts - 1)):
        d = min(policy.max_delay_s, policy.base_delay_s * policy.factor ** i)
        out.append(max(0.0, min(policy.max_delay_s, d * (1 + policy.jitter * (2 * rng.random() - 1)))))
    return out


# A file PUT that failed after this long was a dropped connection the client already retried (urllib3, 10 times
# with backoff: about 6 minutes in kaggle 2.2.4); trying again would repeat that, so it is not retried here.
CLIENT_RETRIED_S = 60.0


# ------------------------------------------------------------------------------------------ silence
TIMEOUT_ENV = "KAGGLE_KIT_KAGGLE_TIMEOUT_S"
# Kaggle answers its API calls in seconds; a minute of silence on one request is a connection that went dead
DEFAULT_TIMEOUT_S = 60.0
CREATE_SUBMISSION = "CreateSubmission"  # the one call whose silence may hide a submission Kaggle recorded


def timeout_s() -> float:
    """How long one request to Kaggle may go without a byte from the server: $KAGGLE_KIT_KAGGLE_TIMEOUT_S or 60."""
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise UsageError(f"{TIMEOUT_ENV} must be a number of seconds above 0, found '{text[:40]}'")
    return value


class Stalled(Exception):
    """A request the server accepted and then left unanswered for ``seconds`` (``request``: the API method, or
    ``file upload``/``file download``)."""

    def __init__(self, request: str, seconds: float):
        super().__init__(f"{request}: no answer in {seconds:g} s")
        self.request, self.seconds = request, seconds


@dataclass
class _Watch:
    seconds: float
    silent: list[str]  # the requests that timed out, in order


_WATCH: contextvars.ContextVar[_Watch | None] = contextvars.ContextVar("kaggle_kit_watch", default=None)


def _timed_out(err: BaseException, depth: int = 0) -> bool:
    """Whether ``err`` (or an error it wraps: requests and urllib3 nest them in ``args`` and ``reason``) is a
    timeout: a read, a connect or a socket send that waited its limit. A refused connection is not one, although
    urllib3's ``NewConnectionError`` subclasses ``ConnectTimeoutError``."""
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError

    if isinstance(err, NewConnectionError):
        return False
    if isinstance(err, (ReadTimeoutError, ConnectTimeoutError, TimeoutError)):
        return True
    inner = [a for a in (*err.args, getattr(err, "reason", None)) if isinstance(a, BaseException)]
    return depth < 4 and any(_timed_out(e, depth + 1) for e in inner)


@functools.cache
def _silence_ends() -> type:
    """urllib3's ``Retry`` that ends at the first timeout. The client's file PUT retries 10 times with backoff
    (``Retry(total=10, backoff_factor=0.5)``), which made one timeout of T seconds into 11 T plus 6 minutes."""
    from urllib3.exceptions import MaxRetryError
    from urllib3.util.retry import Retry

    class SilenceEnds(Retry):
        def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
            if error is not None and _timed_out(error):
                raise MaxRetryError(_pool, url, error) from error
            return super().increment(method, url, response, error, _pool, _stacktrace)

    return SilenceEnds


# The client's API calls: /v1/<service>/<Method>, under https://api.kaggle.com on Kaggle itself and under /api
# elsewhere (the fake); every service's name ends in "Service". Anything else is a file's URL (signed storage URLs)
_API_METHOD = re.compile(r"/v1/[\w.]+Service/(\w+)/?$")


def _request_name(request: Any) -> str:
    m = _API_METHOD.search(urlsplit(str(request.url)).path)
    if m:
        return m.group(1)
    return "file upload" if request.method == "PUT" else "file download"


def _capped(timeout: Any, seconds: float) -> Any:
    """A request's timeout limited to ``seconds``: none becomes ``seconds``, a longer one is shortened (the client's
    resumed file download asks for 300 s per read, so one silent server took 60 + 5 x 300 s to give up)."""
    if timeout is None:
        return seconds
    if isinstance(timeout, (int, float)):
        return min(timeout, seconds)
    if isinstance(timeout, tuple):  # (connect, read)
        return tuple(seconds if t is None else min(t, seconds) for t in timeout)
    return timeout


def _install_timeout_hook() -> None:
    """Wrap ``HTTPAdapter.send`` once: within ``_watched`` a request without a timeout gets the watch's, its retries
    end at a timeout, and a timeout is noted (the client swallows the PUT's, answering "Could not submit")."""
    from requests.adapters import HTTPAdapter

    original = HTTPAdapter.send
    if getattr(original, "_kaggle_kit_hook", False):
        return

    @functools.wraps(original)
    def send(adapter: Any, request: Any, stream: bool = False, timeout: Any = None, verify: Any = True,
             cert: Any = None, proxies: Any = None) -> Any:
        watch = _WATCH.get()
        if watch is None:
            return original(adapter, request, stream, timeout, verify, cert, proxies)
        retries = adapter.max_retries
        ending = retries.new()  # a copy that ends at a timeout; the adapter gets its own back afterwards
        ending.__class__ = _silence_ends()
        adapter.max_retries = ending
        try:
            return original(adapter, request, stream, _capped(timeout, watch.seconds), verify, cert, proxies)
        except Exception as err:
            if _timed_out(err):
                watch.silent.append(_request_name(request))
            raise
        finally:
            adapter.max_retries = retries

    send._kaggle_kit_hook = True  # type: ignore[attr-defined]
    HTTPAdapter.send = send  # type: ignore[method-assign]


def _watched(fn: Callable[[], T], seconds: float) -> T:
    """``fn()`` with every request it makes limited to ``seconds`` of silence; a failure after a timeout is
    ``Stalled``, naming the request that timed out. A success stands even after one (a download the client
    resumed)."""
    _install_timeout_hook()
    watch = _Watch(seconds, [])
    token = _WATCH.set(watch)
    try:
        return fn()
    except Exception as err:
        if watch.silent:
            raise Stalled(watch.silent[0], seconds) from err
        raise
    finally:
        _WATCH.reset(token)


def _silent_request() -> str | None:
    """The request that timed out so far in the running ``_watched`` call, if any."""
    watch = _WATCH.get()
    return watch.silent[0] if watch is not None and watch.silent else None


class UploadFailed(Exception):
    """The client's "Could not submit to competition" reply: the file PUT did not complete."""

    def __init__(self, message: str, seconds: float = 0.0):
        super().__init__(message)
        self.seconds = seconds  # how long the client spent on it


def _status(err: BaseException) -> int | None:
    response = getattr(err, "response", None)
    return getattr(response, "status_code", None)


def _is_transient(err: BaseException) -> bool:
    import requests

    if isinstance(err, UploadFailed):
        return err.seconds < CLIENT_RETRIED_S
    if isinstance(err, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)):
        return True
    return isinstance(err, requests.HTTPError) and _status(err) in RETRY_STATUSES


def _retry_after(err: BaseException, cap: float) -> float | None:
    response = getattr(err, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return min(cap, max(0.0, float(value))) if value is not None else None
    except ValueError:
        return None


def _one_line(text: str, limit: int = 200) -> str:
    """Kaggle's words on one line and without escape sequences: an error quoting them reaches the terminal through
    more than the CLI's error line (the pipeline's sync stage, submit's warnings)."""
    text = spelled_out(" ".join(str(text).split()))
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Target:
    """What a call is about, for error messages: ``kind`` competition|kernel, its name, a phrase."""

    kind: str
    name: str
    what: str


def _forbidden_advice(competition: str) -> str:
    """What to do about a competition's 403. Kaggle answers 403 ('competitions.participate' was denied), not 404,
    for a name that does not exist, so a name other than the toolkit's may be a typo rather than unaccepted rules."""
    rules = f"https://www.kaggle.com/competitions/{competition}/rules"
    if competition == COMPETITION_SLUG:
        return f"accept the competition's rules at {rules}, then rerun"
    return (f"check --competition: Kaggle answers 403 for a competition that does not exist (this toolkit's is "
            f"{COMPETITION_SLUG}); if the name is right, join it and accept its rules at {rules}, then rerun")


def map_error(err: BaseException, target: Target, attempts: int = 1) -> Exception:
    """One KitError, saying what went wrong and what to do, for an exception the client raised."""
    import requests

    tried = f" after {attempts} attempts" if attempts > 1 else ""
    if isinstance(err, Stalled):
        return KaggleError(_stalled_words(err, target))
    if isinstance(err, UploadFailed):
        if err.seconds >= CLIENT_RETRIED_S:
            tried = f"{tried} (the kaggle client retried its connection for {err.seconds / 60:.0f} min)"
        return KaggleError(f"the file upload for {target.what} failed{tried} (Kaggle: '{UPLOAD_FAILED}'); "
                           f"nothing was submitted, rerun the command later")
    if isinstance(err, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)):
        return KaggleError(f"could not reach Kaggle for {target.what}{tried} ({type(err).__name__}); "
                           f"check the network or proxy settings and rerun")
    code = _status(err)
    message = _one_line(err.args[0] if err.args else err)
    if code == 401:
        source = find_credentials()
        where = source.where if source else "your credentials"
        return CredentialsError(f"Kaggle rejected the credentials from {where} (401 Unauthorized); create a new "
                                f"API token at {TOKEN_URL} and update {where}")
    if code == 403 and target.kind == "competition":
        return KaggleError(f"Kaggle refused {target.what} (403: {message}); {_forbidden_advice(target.name)}")
    if code == 403:
        return KaggleError(f"Kaggle refused {target.what} (403: {message}); check that kernel '{target.name}' "
                           f"exists and belongs to your account")
    if code == 404 and target.kind == "competition":
        return KaggleError(f"competition '{target.name}' was not found on Kaggle (404); check --competition "
                           f"(this toolkit's competition is {COMPETITION_SLUG})")
    if code == 404:
        return KaggleError(f"kernel '{target.name}' was not found on Kaggle (404); check the name or push it "
                           f"first with `kaggle-kit kernel push`")
    if code == 429:
        return KaggleError(f"Kaggle kept answering 429 Too Many Requests to {target.what}{tried}; wait a few "
                           f"minutes and rerun")
    if code is not None and code >= 500:
        return KaggleError(f"Kaggle answered {code} ({message}) to {target.what}{tried}; Kaggle may be down, "
                           f"rerun later")
    if code is not None and "allowance" in message.lower():
        return SubmissionLimitError(f"Kaggle refused {target.what}: {message}")
    if code is not None:
        return KaggleError(f"Kaggle refused {target.what} ({code}: {message})")
    if isinstance(err, ValueError):  # the client's own checks (kernel access, metadata, sizes)
        return KaggleError(f"{target.what} failed: {_one_line(str(err).split('. ')[0])}")
    return KaggleError(f"{target.what} failed: {type(err).__name__}: {message}")


def _stalled_words(err: Stalled, target: Target) -> str:
    if err.request == CREATE_SUBMISSION:
        advice = ("Kaggle may still record it: run `kaggle-kit sync` in a few minutes to see whether it arrived before "
                  "submitting the file again")
    elif err.request in ("file upload", "StartSubmissionUpload"):
        advice = "nothing was submitted; rerun the command later"
    else:
        advice = "check the network and Kaggle's status, then rerun"
    what = f"the {err.request}" if " " in err.request else f"Kaggle's {err.request} call"
    return (f"{what} for {target.what} got no answer in {err.seconds:g} s (the connection stayed open and silent); "
            f"{advice} ({TIMEOUT_ENV} sets the wait)")


def with_retries(fn: Callable[[], T], target: Target, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, log: Callable[[str], None] | None = None) -> T:
    """Call ``fn``; retry transient failures with backoff (honouring Retry-After); map the final error."""
    import requests

    policy = policy or DEFAULT_RETRY
    delays = backoff_delays(policy)
    log = log or (lambda line: print(line, file=sys.stderr))
    for attempt in range(1, policy.attempts + 1):
        try:
            return fn()
        except (requests.RequestException, UploadFailed, Stalled, ValueError) as err:
            if attempt < policy.attempts and _is_transient(err):
                wait = _retry_after(err, policy.max_delay_s)
                wait = delays[attempt - 1] if wait is None else wait
                code = _status(err)
                why = f"HTTP {code}" if code else type(err).__name__
                log(f"kaggle: {target.what}: {why}; retrying in {wait:.1f} s (attempt {attempt + 1}/{policy.attempts})")
                sleep(wait)
                continue
            raise map_error(err, target, attempt) from None
    raise AssertionError("unreachable")  # pragma: no cover


# ------------------------------------------------------------------------------------------ the client
@contextlib.contextmanager
def _makeable_config_dir() -> Iterator[dict[str, str]]:
    """kaggle 2.2.4 creates its config folder when it is imported and fails if it cannot: a read-only or
    absent HOME (CI, a container run as another user) stopped every upload with "~/.config: Permission denied"
    although the credentials came from KAGGLE_USERNAME/KAGGLE_KEY. A folder that cannot be made holds no
    kaggle.json, so the client is then given a private empty one for the block (the environment to apply is
    yielded; ``{}`` changes nothing). So is a relative one, which only a HOME that could not be found gives (a
    container user without a passwd entry): the client would make a folder named '~' in the project.

    The private folder is a fresh ``mkdtemp`` removed after the block, not a fixed name in the temporary folder:
    another user of a shared /tmp could make a fixed name first and put a kaggle.json of theirs in it."""
    folder = kaggle_config_dir()
    makeable = False
    try:
        if folder.is_dir() or folder.is_absolute():
            folder.mkdir(parents=True, exist_ok=True)  # what the client's import would do
            makeable = True
    except OSError:
        pass
    if makeable:
        yield {}
        return
    with tempfile.TemporaryDirectory(prefix="kaggle-kit-client-config-") as spare:
        yield {"KAGGLE_CONFIG_DIR": spare}


def _client() -> Any:
    """An authenticated ``KaggleApi`` configured from the environment as it is now.

    The client fixes its config folder and endpoint (``KAGGLE_CONFIG_DIR``, ``KAGGLE_API_ENVIRONMENT``)
    when it is first imported; a long-lived process (tests, notebooks) may change them later, so the
    instance gets the values the client would compute today. In a fresh process they are the same."""
    source = require_credentials()
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet), _makeable_config_dir() as spare_env, applied_env(spare_env):
        from kaggle.api.kaggle_api_extended import KaggleApi

        api = KaggleApi()
        api.config_dir = str(kaggle_config_dir())
        api.config = os.path.join(api.config_dir, api.config_file)
        local = os.environ.get("KAGGLE_API_ENVIRONMENT") == "LOCALHOST"
        api.args = [a for a in api.args if a != "--local"] + (["--local"] if local else [])
        try:
            api.authenticate()
        except SystemExit:
            raise CredentialsError(f"Kaggle did not accept the credentials from {source.where}; create a new "
                                   f"API token at {TOKEN_URL}") from None
    return api


def _call(target: Target, op: Callable[[Any], T], policy: RetryPolicy | None = None) -> T:
    """``op`` on a fresh client, each attempt's requests limited to ``timeout_s()`` of silence; a timeout is not
    retried: a server that went silent for that long would take as long again, once per attempt."""
    seconds = timeout_s()
    return with_retries(lambda: _watched(lambda: op(_client()), seconds), target, policy)


def current_username(policy: RetryPolicy | None = None) -> str:
    """The Kaggle user the credentials belong to (kernel ids are ``<user>/<slug>``)."""
    return _call(Target("kernel", "", "signing in"), lambda api: str(api.config_values.get("username") or ""), policy)


@dataclass(frozen=True)
class Limits:
    num_today: int
    num_total: int
    num_allowed_now: int
    limited_by_total: bool


def submission_limits(competition: str = COMPETITION_SLUG, policy: RetryPolicy | None = None) -> Limits:
    def op(api: Any) -> Limits:
        r = api.competition_get_submission_limits(competition)
        return Limits(int(r.num_today), int(r.num_total), int(r.num_allowed_now), bool(r.limited_by_total))

    return _call(Target("competition", competition, "the submission-limits request"), op, policy)


def _recent_ref(api: Any, competition: str, file_name: str, message: str,
                since: datetime.datetime) -> str | None:
    """The ref of a submission of ``file_name`` with ``message`` that Kaggle recorded since ``since``, or None."""
    for s in api.competition_submissions(competition, page_size=20) or []:
        when = s.date.replace(tzinfo=datetime.timezone.utc) if s and s.date else None
        if when and when >= since and s.file_name == file_name and s.description == message:
            return str(s.ref)
    return None


def as_utf8(text: str) -> str:
    """``text`` as Kaggle can store it: under a C locale without UTF-8 mode an argument's non-ASCII bytes reach
    Python as surrogates ('r\\udcc3\\udca9sum\\udcc3\\udca9'), which the client would send as such; they are
    read as the UTF-8 the terminal sent, any other byte replaced."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def submit(csv_path: str | Path, message: str, competition: str = COMPETITION_SLUG,
           policy: RetryPolicy | None = None) -> str:
    """Upload a CSV (StartSubmissionUpload, PUT, CreateSubmission); return Kaggle's submission ref.

    A retry first looks for the submission among the team's recent ones: a CreateSubmission whose reply was
    lost (a 5xx or a dropped connection after Kaggle recorded it) must not cost a second daily slot. So does a
    last look after the final attempt failed that way: its submission may be on Kaggle too, and an error would
    invite a rerun that spends a second slot on the same file. A CreateSubmission that went silent (``timeout_s``)
    gets that look at once; not found, the error says to `sync` later, since Kaggle may record it after the look.

    Ctrl-C or a kill once the client has Kaggle's answer (on the way back from here) leaves the KeyboardInterrupt
    with the new submission's ref as its ``ACCEPTED_REF`` attribute: the caller still records it, where a bare
    interrupt would leave a spent slot that no ledger row names."""
    started = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=2)  # clock skew
    name = Path(csv_path).name
    message = as_utf8(message)
    attempts = 0
    lost_reply = False  # the last attempt's CreateSubmission may have taken effect
    latest: Any = None  # the client's latest reply, or the ref last looked for on Kaggle: what an interrupt records

    def op(api: Any) -> str:
        nonlocal attempts, lost_reply, latest
        attempts += 1
        if attempts > 1:
            latest = _recent_ref(api, competition, name, message, started)
            if latest is not None:
                return latest
        t0 = time.monotonic()
        try:
            # the client prints the error of a failed PUT (its only word on it) before answering "Could not submit"
            with contextlib.redirect_stdout(io.StringIO()):
                latest = r = api.competition_submit(str(csv_path), message, competition, quiet=True)
        except Exception as err:
            silent = _silent_request()
            lost_reply = _is_transient(err) if silent is None else silent == CREATE_SUBMISSION
            raise
        lost_reply = False
        if r.message == UPLOAD_FAILED:
            raise UploadFailed(r.message, time.monotonic() - t0)
        return str(r.ref)

    target = Target("competition", competition, f"the submission of {name}")
    try:
        try:
            return _call(target, op, policy)
        except KaggleError as err:
            if not lost_reply:
                raise
            try:
                latest = _call(Target("competition", competition, f"the check whether {name} reached Kaggle"),
                               lambda api: _recent_ref(api, competition, name, message, started), policy)
            except KaggleError:
                raise err from None
            if latest is None:
                raise
            return latest
    except KeyboardInterrupt as interrupt:
        ref = _accepted_ref(latest)
        if ref is not None:
            setattr(interrupt, ACCEPTED_REF, ref)
        raise


def _accepted_ref(answer: Any) -> str | None:
    """The ref in ``submit``'s latest answer: a ref found on Kaggle, or a reply that is not the failed upload's."""
    if answer is None or isinstance(answer, str):
        return answer
    return None if answer.message == UPLOAD_FAILED else str(answer.ref)


@dataclass(frozen=True)
class RemoteSubmission:
    ref: str
    date: str
    description: str
    file_name: str
    status: str           # PENDING | COMPLETE | ERROR
    public_score: str     # '' until scored (and private until the competition ends)
    private_score: str
    error_description: str


def _utc_iso(when: Any) -> str:
    """The client parses Kaggle's UTC times into naive datetimes; write them like the ledger's own times."""
    if not when:
        return ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.astimezone(datetime.timezone.utc).isoformat(timespec="seconds")


def _remote(s: Any) -> RemoteSubmission:
    return RemoteSubmission(
        ref=str(s.ref), date=_utc_iso(s.date), description=s.description or "", file_name=s.file_name or "",
        status=getattr(s.status, "name", str(s.status)), public_score=s.public_score or "",
        private_score=s.private_score or "", error_description=s.error_description or "")


def list_submissions(competition: str = COMPETITION_SLUG, policy: RetryPolicy | None = None,
                     page_size: int = 50, max_pages: int = 40) -> list[RemoteSubmission]:
    """Every submission of the user's team, newest first (all pages).

    Kaggle's server caps the page size, so a page shorter than ``page_size`` is not necessarily the last: pages
    are read until one is empty or brings no ref not seen before (a server that ignored the page number would
    repeat itself). The wrapper in kaggle 2.2.4 drops ``nextPageToken``, so pages are asked for by number."""
    target = Target("competition", competition, "the submission list")
    out: dict[str, RemoteSubmission] = {}
    for page in range(1, max_pages + 1):
        batch = _call(target, lambda api: api.competition_submissions(competition, page_number=page,
                                                                      page_size=page_size) or [], policy)
        fresh = [_remote(s) for s in batch if s is not None and str(s.ref) not in out]
        if not fresh:
            break
        out.update((r.ref, r) for r in fresh)
    return list(out.values())


def _check_members(archive: Path, zf: zipfile.ZipFile, dest: Path, shown: Path) -> None:
    """Refuse the whole archive, before anything is extracted, if any member would land outside ``dest``
    (``shown``: the folder named in the message), needs a password (zipfile raises a bare RuntimeError for it
    half-way through) or is a second copy of a file (which copy wins differs between unzip tools)."""
    seen: set[str] = set()
    for info in zf.infolist():
        if escape_problem(info.filename, dest) is not None:
            raise DataFormatError(f"{archive.name}: member '{info.filename}' would be written outside {shown}; "
                                  f"refusing to unzip it")
        if info.flag_bits & 0x1:
            raise DataFormatError(f"{archive.name}: member '{info.filename}' is password-protected, which "
                                  f"Kaggle's archives are not; refusing to unzip it")
        if not info.is_dir():  # a folder of a file's name is a clash, which the extraction names as such
            key = os.path.normpath(info.filename.replace("\\", "/"))
            if key in seen:
                raise DataFormatError(f"{archive.name}: member '{info.filename}' appears twice; refusing to unzip it")
            seen.add(key)


def _check_room(archive: Path, zf: zipfile.ZipFile, dest: Path, shown: Path) -> None:
    """Refuse, before extracting anything, an archive whose members add up to more than the free space: a zip
    bomb (or a disk nearly full) would otherwise fill the disk first and fail after. zipfile stops reading a
    member at its declared size (a longer stream fails its CRC check), so the declared sizes bound the writes."""
    needed = sum(info.file_size for info in zf.infolist() if not info.is_dir())
    try:
        free = shutil.disk_usage(dest).free
    except OSError:
        return  # nothing to measure with: the writes themselves report a full disk
    if needed > free:
        mib = 1 << 20
        raise KaggleError(f"{archive.name}: unzipping it needs {needed / mib:,.0f} MiB but only {free / mib:,.0f} "
                          f"MiB are free where {shown} is; free some space or choose another --dest")


def _corrupt(archive: Path, detail: object) -> KaggleError:
    text = " ".join(str(detail).split()) or detail.__class__.__name__
    return KaggleError(f"{archive.name}: the downloaded archive is corrupt; download it again ({text})")


def _safe_extract(archive: Path, dest: Path, shown: Path | None = None) -> list[Path]:
    """Unzip into ``dest`` after checking every member name; each member's CRC is verified while reading.

    Callers extract into an empty staging folder and move the result into place only when this returns, so
    a corrupt or hostile archive leaves nothing behind. ``shown`` is the folder named in messages."""
    shown = dest if shown is None else shown
    written = []
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as err:
        raise _corrupt(archive, err if str(err) else "not a valid zip file") from None
    with zf:
        _check_members(archive, zf, dest, shown)
        _check_room(archive, zf, dest, shown)
        dest_resolved = dest.resolve()
        for info in zf.infolist():
            target = (dest_resolved / info.filename).resolve()
            try:
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError) as err:
                raise _corrupt(archive, err) from None
            except (FileExistsError, NotADirectoryError, IsADirectoryError):
                raise DataFormatError(f"{archive.name}: member '{info.filename}' clashes with another member "
                                      f"(a file and a folder of the same name); download it again") from None
            except OSError as err:
                raise KaggleError(f"{archive.name}: could not unzip member '{info.filename}' "
                                  f"({err.strerror or err}); free some space or choose another --dest") from None
            written.append(target)
    return written


def download_competition_data(dest: str | Path = "data", competition: str = COMPETITION_SLUG,
                              policy: RetryPolicy | None = None) -> Path:
    """Download the competition's files with the official client and unzip them into ``dest``.

    ``dest`` is checked before any network call. The zip is downloaded and extracted into a hidden staging folder
    inside ``dest`` (``staged_move``) and moved in only once every member is safe and intact: a failed download, a
    corrupt or hostile archive, a failure or Ctrl-C while the files move in leaves ``dest`` as it was (and removes
    it if this call created it). A move that a kill cut short is undone first, and staging folders that killed
    downloads left are removed (``staged_move.remove_stale``).
    `kaggle-kit data download` calls this, then verifies the layout with `data verify`."""
    from kaggle_kit import staged_move
    from kaggle_kit.upload import check_competition  # upload imports this module

    check_competition(competition)
    dest = check_dir_target(Path(dest), "data folder")
    created = (new_paths(dest.absolute()) or [None])[-1]  # the highest folder this call would make
    staged_move.remove_stale(dest)
    staging, held = staged_move.make(dest)
    try:
        archive_dir, files = staging / "archive", staging / "files"
        archive_dir.mkdir()
        files.mkdir()
        try:
            _call(Target("competition", competition, f"the download of {competition}'s data"),
                  lambda api: api.competition_download_files(competition, path=str(archive_dir), force=True,
                                                             quiet=True),
                  policy)
        except OSError as err:  # the client's own write failed (its network errors are mapped by _call)
            raise KaggleError(f"could not save the download of {competition}'s data in {dest} "
                              f"({err.strerror or err}); free some space or choose another --dest") from None
        archives = sorted(archive_dir.glob("*.zip"))
        if not archives:
            found = ", ".join(p.name for p in archive_dir.iterdir()) or "nothing"
            raise KaggleError(f"the download of {competition} did not produce a zip (found: {found}); rerun it")
        for archive in archives:
            _safe_extract(archive, files, dest)
        try:
            staged_move.move_into(staging, dest)
        except OSError as err:
            raise KaggleError(f"could not move the downloaded files into {dest} ({err.strerror or err}); {dest} "
                              f"holds what it held before") from None
    except BaseException:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise
    finally:
        if not (staging / staged_move.JOURNAL).exists():  # else it holds old files an undo could not put back
            shutil.rmtree(staging, ignore_errors=True)
        if held is not None:
            os.close(held)
    return dest


# ------------------------------------------------------------------------------------------ kernels
@dataclass(frozen=True)
class PushedKernel:
    ref: str       # owner/slug
    url: str
    version: int


def push_kernel(folder: str | Path, accelerator: str | None = None,
                policy: RetryPolicy | None = None) -> PushedKernel:
    """Push a kernel folder (``kernel-metadata.json`` + script); Kaggle queues a run of the new version."""
    meta = json.loads((Path(folder) / "kernel-metadata.json").read_text(encoding="utf-8"))
    ref = meta.get("id", "")
    target = Target("kernel", ref, f"the push of kernel {ref}")

    def op(api: Any) -> PushedKernel:
        r = api.kernels_push(str(folder), acc=accelerator)
        if r.error:
            bad = [*r.invalid_competition_sources, *r.invalid_dataset_sources, *r.invalid_kernel_sources]
            extra = f" (invalid sources: {', '.join(bad)})" if bad else ""
            comps = list(r.invalid_competition_sources or [])
            hint = (f"check the competition slug (--competition) and that you accepted its rules at "
                    f"https://www.kaggle.com/competitions/{comps[0]}/rules" if comps
                    else "check kernel-metadata.json")
            raise KaggleError(f"Kaggle refused the push of kernel {ref}: {_one_line(r.error)}{extra}; {hint}")
        # Kaggle's words, printed by `kernel push`: on one line and without escape sequences
        return PushedKernel(ref=ref, url=spelled_out(r.url or ""), version=int(r.version_number or 0))

    return _call(target, op, policy)


@dataclass(frozen=True)
class KernelStatus:
    ref: str
    status: str           # QUEUED | RUNNING | COMPLETE | ERROR | CANCEL_REQUESTED | CANCEL_ACKNOWLEDGED
    failure_message: str


def kernel_status(ref: str, policy: RetryPolicy | None = None) -> KernelStatus:
    def op(api: Any) -> KernelStatus:
        r = api.kernels_status(ref)
        return KernelStatus(ref, getattr(r.status, "name", str(r.status)), r.failure_message or "")

    return _call(Target("kernel", ref, f"the status of kernel {ref}"), op, policy)


def kernel_output(ref: str, dest: str | Path, policy: RetryPolicy | None = None) -> list[Path]:
    """Download a finished kernel's output files (and its log, as ``<slug>.log``) into ``dest``."""
    def op(api: Any) -> list[Path]:
        files, _ = api.kernels_output(ref, str(dest), force=True, quiet=True)
        return [Path(f) for f in files]

    return _call(Target("kernel", ref, f"the output download of kernel {ref}"), op, policy)
