"""Shared fixtures: a failing threading.excepthook, event recorders, emulator-backed drivers."""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

import pytest

from reolink.driver import AttributeEvent, ReolinkDriver, Timing

#: Driver timing for tests: every duration x0.01 (30 s back-off → 0.3 s), polls down to 10 ms.
FAST = Timing().scaled(0.01, min_status_interval_ms=10)


@pytest.fixture(autouse=True)
def fail_on_thread_exception(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An unhandled exception in any thread fails the test that was running."""
    errors: List[str] = []

    def hook(args: Any) -> None:
        name = args.thread.name if args.thread else "?"
        errors.append(f"{name}: {args.exc_type.__name__}: {args.exc_value}")

    monkeypatch.setattr(threading, "excepthook", hook)
    yield
    assert not errors, f"unhandled exception in a thread: {errors}"


class Recorder:
    """A driver callback that records events and lets a test wait for one."""

    def __init__(self) -> None:
        self.events: List[AttributeEvent] = []
        self._cond = threading.Condition()
        self.hook: Optional[Callable[[AttributeEvent], None]] = None

    def __call__(self, event: AttributeEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()
        if self.hook is not None:
            self.hook(event)

    def value(self, name: str, address: Optional[str] = None) -> Any:
        target = "device" if address is None else "zone"
        with self._cond:
            for event in reversed(self.events):
                if event.target == target and event.address == address and event.name == name:
                    return event.value
        return None

    def wait_for(
        self, name: str, value: Any, address: Optional[str] = None, timeout: float = 5.0
    ) -> bool:
        """Wait until the latest value of the attribute equals ``value``."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._latest(name, address) == (True, value), timeout
            )

    def _latest(self, name: str, address: Optional[str]) -> Any:
        target = "device" if address is None else "zone"
        for event in reversed(self.events):
            if event.target == target and event.address == address and event.name == name:
                return (True, event.value)
        return (False, None)

    def history(self, name: str, address: Optional[str] = None) -> List[Any]:
        target = "device" if address is None else "zone"
        with self._cond:
            return [
                e.value
                for e in self.events
                if e.target == target and e.address == address and e.name == name
            ]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def memory_driver(
    emulator: Any,
    zones: Any,
    callback: Callable[[AttributeEvent], None],
    *,
    timing: Timing = FAST,
    **attributes: str,
) -> ReolinkDriver:
    """A driver talking to ``emulator`` in-process (no sockets)."""
    from transports import MemoryTransport

    attrs = {
        "ip": "127.0.0.1",
        "username": "admin",
        "password": "admin123",
        "status_interval": "50",
        "request_timeout": "2000",
    }
    attrs.update(attributes)
    return ReolinkDriver(
        attrs,
        zones,
        callback,
        timing=timing,
        transport_factory=lambda config: MemoryTransport(emulator.app),
    )


def http_driver(
    emulator: Any,
    zones: Any,
    callback: Callable[[AttributeEvent], None],
    *,
    timing: Timing = FAST,
    **attributes: str,
) -> ReolinkDriver:
    """A driver talking to ``emulator`` over real HTTP(S) on loopback."""
    attrs = {
        "ip": emulator.host,
        "port": str(emulator.port),
        "protocol": emulator.scheme,
        "username": "admin",
        "password": "admin123",
        "status_interval": "50",
        "request_timeout": "2000",
    }
    attrs.update(attributes)
    return ReolinkDriver(attrs, zones, callback, timing=timing)


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Check ``predicate`` every 5 ms (an Event wait, no sleep) until it holds or ``timeout``
    passes; whether it holds. The one polling helper of the suite."""
    tick = threading.Event()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        tick.wait(0.005)
    return bool(predicate())


def pause(seconds: float) -> None:
    """Let the threads under test run for a while (an Event wait, not time.sleep)."""
    threading.Event().wait(seconds)


class FakeClock:
    """A clock that moves only when a test says so: pass it as ``clock=`` and call
    :meth:`advance` (the one fake clock of the suite)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def wait_requests(emulator: Any, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Wait, on the emulator's request log condition, until ``predicate()`` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not emulator.wait_for_requests(len(emulator.requests) + 1, remaining):
            return bool(predicate())
    return True


ROOT = Path(__file__).resolve().parent.parent
#: How long a command-line run may take before the test fails (not a speed bound: a hang).
CLI_TIMEOUT = 60.0


def cli_command(argv: Tuple[str, ...], port: Optional[int]) -> List[str]:
    """``python -m reolink.cli ARGV``, then ``--ip 127.0.0.1 --port PORT`` when a port is given."""
    target = ["--ip", "127.0.0.1", "--port", str(port)] if port is not None else []
    return [sys.executable, "-m", "reolink.cli", *argv, *target]


#: The installed console script (``pip install -e '.[test]'`` puts it beside the interpreter).
REOLINK_SCRIPT = Path(sys.executable).parent / "reolink"


def reolink_cmd(*argv: str) -> List[str]:
    """The installed ``reolink`` command with ``argv`` (asserting it is installed)."""
    assert REOLINK_SCRIPT.exists(), (
        f"{REOLINK_SCRIPT} missing: install the package (pip install -e '.[test]')"
    )
    return [str(REOLINK_SCRIPT), *argv]


def cli_env(password: Optional[str], env: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """This process's environment with ``REOLINK_PASSWORD`` set to ``password`` (removed when
    None), plus ``env``."""
    result = {k: v for k, v in os.environ.items() if k != "REOLINK_PASSWORD"}
    if password is not None:
        result["REOLINK_PASSWORD"] = password
    result.update(env or {})
    return result


def run_cli(
    *argv: str,
    port: Optional[int] = None,
    password: Optional[str] = None,
    env: Optional[Mapping[str, str]] = None,
    timeout: float = CLI_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run the command line to its end (see :func:`cli_command`, :func:`cli_env`); stdin is
    not a terminal; stdout and stderr are captured as text."""
    return subprocess.run(
        cli_command(argv, port),
        env=cli_env(password, env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


class _Text(io.StringIO):
    """A captured stdout/stderr: text, not a terminal (like a pipe)."""

    def isatty(self) -> bool:
        return False


def run_cli_inprocess(
    *argv: str,
    port: Optional[int] = None,
    password: Optional[str] = None,
    env: Optional[Mapping[str, str]] = None,
) -> subprocess.CompletedProcess[str]:
    """:func:`run_cli` without a new interpreter: ``reolink.cli.main`` runs in this process with
    the same argv, environment (``REOLINK_PASSWORD``, ``env``), a stdin that is not a terminal
    and stdout/stderr captured as text; the exit status is main's return (or SystemExit's code).
    The root logger's handlers and level (``-v`` adds one) are restored afterwards.

    For tests whose subject is what the command says and does; the ones whose point is the
    installed command or the process (signals, the interpreter's exit, packaging) use
    :func:`run_cli`/:func:`start_cli`.
    """
    from reolink.cli import main

    args = [*argv, *cli_command((), port)[3:]]
    wanted = cli_env(password, env)
    saved_env = dict(os.environ)
    root = logging.getLogger()
    saved_log = (list(root.handlers), root.level)
    saved_io = (sys.stdin, sys.stdout, sys.stderr)
    out, err = _Text(), _Text()
    os.environ.clear()
    os.environ.update(wanted)
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(""), out, err
    try:
        try:
            code = main(list(args))
        except SystemExit as leave:  # argparse's usage errors, --help
            code = leave.code if isinstance(leave.code, int) else (0 if leave.code is None else 1)
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved_io
        os.environ.clear()
        os.environ.update(saved_env)
        for handler in root.handlers[:]:
            if handler not in saved_log[0]:
                root.removeHandler(handler)
        root.setLevel(saved_log[1])
    return subprocess.CompletedProcess(["reolink", *args], code, out.getvalue(), err.getvalue())


#: ``python -c SIGINT_DEFAULT PROGRAM ARGS...`` runs PROGRAM with SIGINT at its default. A
#: process started where SIGINT is ignored (a shell's background job: ``pytest ... &``, CI
#: runners) passes that on, and Python then keeps it ignored: a test that sends Ctrl-C would see
#: the child run to its own end instead, and pass for the wrong reason or time out.
SIGINT_DEFAULT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def with_sigint_default(argv: List[str]) -> List[str]:
    """``argv`` (an absolute program path first) run with SIGINT at its default, same pid."""
    return [sys.executable, "-c", SIGINT_DEFAULT, *argv]


def start_cli(
    *argv: str,
    port: Optional[int] = None,
    password: Optional[str] = None,
    env: Optional[Mapping[str, str]] = None,
) -> subprocess.Popen[str]:
    """Start the command line (as :func:`run_cli`) with stdout and stderr as text pipes, and
    SIGINT at its default (:data:`SIGINT_DEFAULT`): a test may send it Ctrl-C."""
    return subprocess.Popen(
        with_sigint_default(cli_command(argv, port)),
        env=cli_env(password, env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


@contextlib.contextmanager
def reaped(proc: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    """Run the block with ``proc``; if it is still running when the block ends (an assertion
    failed, a wait timed out), kill it and collect it, so no test leaves a process behind."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def channel_of(command: Dict[str, Any]) -> Optional[int]:
    """The channel a JSON API command names, read straight from its ``param`` (GetAlarm nests
    it under ``Alarm``); None for a device-wide command. The tests' own reading, independent
    of the driver's."""
    param = command.get("param") or {}
    for value in [param, *param.values()]:
        if isinstance(value, dict) and isinstance(value.get("channel"), int):
            return int(value["channel"])
    return None


#: Property tests draw at most this many examples in the default run; ``--long-fuzz`` draws
#: the counts each test names (and hypothesis's 100 where it names none).
DEFAULT_EXAMPLES = 50
_long_fuzz = False


def examples(count: int) -> int:
    """The ``max_examples`` for a property test that asks for ``count``: all of them with
    ``--long-fuzz``, else at most :data:`DEFAULT_EXAMPLES` (called at import, i.e. collection,
    after the options are read)."""
    return count if _long_fuzz else min(count, DEFAULT_EXAMPLES)


_saved_bytecode_env: Optional[Dict[str, Optional[str]]] = None
_saved_bytecode_sys: Tuple[bool, Optional[str]] = (True, None)
_bytecode_dir_is_ours = False


def _share_bytecode_with_subprocesses() -> None:
    """Where the environment forbids bytecode files (``PYTHONDONTWRITEBYTECODE``), every
    interpreter the suite starts (the command line, the examples, the packaging checks) would
    compile the whole package again, about 0.3 s of CPU each. They share one bytecode cache in
    a temporary directory instead (``PYTHONPYCACHEPREFIX``): nothing is written beside the
    sources, and what runs is the same code. Undone at the end of the session.

    This process writes there too from now on: the package and the test modules (their
    asserts rewritten by pytest), compiled once for every child and every xdist worker (the
    controller fills the cache before its workers start: :func:`_prepare_bytecode_once`).
    Without a bytecode cache kept between runs, rewriting the test modules' asserts is most of
    a collection's time (about 4 of 6 s of CPU); ``REOLINK_TEST_PYCACHE=DIR`` keeps the cache in
    DIR (outside the sources) from one run to the next, and collection takes about 1.5 s."""
    global _saved_bytecode_env, _saved_bytecode_sys, _bytecode_dir_is_ours
    if not os.environ.get("PYTHONDONTWRITEBYTECODE") or "PYTHONPYCACHEPREFIX" in os.environ:
        return
    _saved_bytecode_env = {
        name: os.environ.get(name) for name in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    }
    kept = os.environ.get("REOLINK_TEST_PYCACHE")
    _bytecode_dir_is_ours = not kept
    del os.environ["PYTHONDONTWRITEBYTECODE"]
    os.environ["PYTHONPYCACHEPREFIX"] = kept or tempfile.mkdtemp(prefix="reolink-tests-pyc-")
    _saved_bytecode_sys = (sys.dont_write_bytecode, sys.pycache_prefix)
    sys.dont_write_bytecode = False
    sys.pycache_prefix = os.environ["PYTHONPYCACHEPREFIX"]


def pytest_unconfigure(config: pytest.Config) -> None:
    global _saved_bytecode_env
    if _saved_bytecode_env is None:
        return
    sys.dont_write_bytecode, sys.pycache_prefix = _saved_bytecode_sys
    prefix = os.environ.pop("PYTHONPYCACHEPREFIX", "")
    if _bytecode_dir_is_ours:
        shutil.rmtree(prefix, ignore_errors=True)
    for name, value in _saved_bytecode_env.items():
        if value is not None:
            os.environ[name] = value
    _saved_bytecode_env = None


def _distributed_workers(config: pytest.Config) -> int:
    """How many pytest-xdist workers this process (their controller) will start; 0 in a
    worker, in a run without xdist and with ``--collect-only``."""
    if hasattr(config, "workerinput") or config.getoption("collectonly"):
        return 0
    if getattr(config.option, "dist", "no") == "no":
        return 0
    count = getattr(config.option, "numprocesses", 0)
    return count if isinstance(count, int) else 0


def _files_to_rewrite(config: pytest.Config, fnpats: List[str]) -> List[Path]:
    """The modules under the run's paths whose asserts pytest rewrites at collection: every
    ``conftest.py`` and every file matching ``python_files``."""
    from _pytest.pathlib import fnmatch_ex

    found: List[Path] = []
    for arg in config.args:
        path = Path(config.invocation_params.dir, arg.split("::")[0]).resolve()
        candidates = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for fn in candidates:
            if (
                fn.suffix == ".py"
                and fn.is_file()
                and (fn.name == "conftest.py" or any(fnmatch_ex(pat, fn) for pat in fnpats))
            ):
                found.append(fn)
    return found


_IMPORT = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", re.MULTILINE)


def _installed_bytecode(sources: List[Path], prefix: str) -> List[Tuple[Path, Path]]:
    """(bytecode file, its place in the bytecode cache ``prefix``) for every installed module
    that ``sources`` or this process imports: the standard library's and site-packages' own
    ``__pycache__`` files, which are not looked for where a cache (``PYTHONPYCACHEPREFIX``) is
    set."""
    import importlib.util

    tag = f".{sys.implementation.cache_tag}.pyc"
    found: Dict[Path, Path] = {}

    def add(source: Path) -> None:
        pyc = source.parent / "__pycache__" / (source.stem + tag)
        if source.suffix == ".py" and ROOT not in source.parents and pyc.is_file():
            found[pyc] = Path(prefix, *source.parent.parts[1:], source.stem + tag)

    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str):
            add(Path(file))
    names = set()
    for source in sources:
        names.update(_IMPORT.findall(source.read_text(encoding="utf-8", errors="replace")))
    for name in sorted(names - {m.partition(".")[0] for m in sys.modules}):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.submodule_search_locations:
            for folder in spec.submodule_search_locations:
                for source in Path(folder).rglob("*.py"):
                    add(source)
        elif spec is not None and spec.origin:
            add(Path(spec.origin))
    return [(pyc, cached) for pyc, cached in found.items() if not cached.exists()]


def seed_bytecode_cache(prefix: Path) -> None:
    """Put the installed modules' own bytecode (see :func:`_installed_bytecode`; the test
    modules' imports) into ``prefix``, a new ``PYTHONPYCACHEPREFIX`` for a child interpreter:
    it then compiles only the sources that are new to it."""
    sources = sorted((ROOT / "tests").glob("*.py"))
    for pyc, cached in _installed_bytecode(sources, str(prefix)):
        _link_or_copy(pyc, cached)


def _link_or_copy(source: Path, target: Path) -> None:
    """A new ``target`` with ``source``'s content (a hard link where possible; else a copy,
    renamed into place, never written through an existing file: that may be a link to an
    installed module's bytecode). An existing ``target`` is left alone; no error raised."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except FileExistsError:
            pass
        except OSError:
            partial = target.with_name(f"{target.name}.{os.getpid()}")
            shutil.copyfile(source, partial)
            os.replace(partial, target)
    except OSError:
        pass


def _prepare_bytecode_once(config: pytest.Config) -> None:
    """In the controller of a pytest-xdist run: compile the package and the test helpers and
    rewrite the test modules' asserts into the bytecode cache once, before the workers start.

    Every worker collects the whole suite, and rewriting the test modules' asserts is most of a
    collection (about 4 of 6 s of CPU where there is no cache yet: a fresh clone, or
    ``PYTHONDONTWRITEBYTECODE``, see :func:`_share_bytecode_with_subprocesses`). The workers
    start together, so each did that work itself. Here it is done once, split over the CPUs
    (forked processes, where there is ``fork``), with pytest's own rewriting and cache format;
    the workers then find each module's rewritten code in the cache and check it against the
    source as always (a stale or missing entry is rewritten by the worker as before). This
    uses pytest's assertion-rewriting internals: if they are not as expected, or anything here
    fails, nothing is prepared and the workers do the work themselves, as before."""
    import compileall

    workers = _distributed_workers(config)
    if workers < 2 or sys.dont_write_bytecode or config.getoption("assertmode") != "rewrite":
        return
    try:
        from _pytest.assertion import rewrite

        state = config.stash[rewrite.assertstate_key]
        fnpats = list(state.hook.fnpats)  # type: ignore[union-attr]
        todo: List[Path] = []
        for fn in _files_to_rewrite(config, fnpats):
            pyc = rewrite.get_cache_dir(fn) / (fn.name[:-3] + rewrite.PYC_TAIL)
            if rewrite._read_pyc(fn, pyc) is None:
                todo.append(fn)
        plain = [*(ROOT / "reolink").rglob("*.py"), *(ROOT / "transports").rglob("*.py")]
        plain += [fn for fn in (ROOT / "tests").glob("*.py") if fn not in todo]
        prefix = sys.pycache_prefix
        installed = _installed_bytecode(todo + plain, prefix) if prefix else []
    except Exception:  # pytest's internals changed: the workers rewrite as before
        return

    def rewrite_one(fn: Path) -> None:
        key, code = rewrite._rewrite_test(fn, config)
        if rewrite.try_makedirs(rewrite.get_cache_dir(fn)):
            pyc = rewrite.get_cache_dir(fn) / (fn.name[:-3] + rewrite.PYC_TAIL)
            rewrite._write_pyc(state, code, key, pyc)

    def link(pairs: List[Tuple[Path, Path]]) -> None:
        for pyc, cached in pairs:
            _link_or_copy(pyc, cached)

    tasks: List[Callable[[], object]] = []
    if "hypothesis" not in sys.modules:  # a plugin's package: its asserts are rewritten
        tasks.append(lambda: __import__("hypothesis"))
    todo.sort(key=lambda fn: -fn.stat().st_size)  # the biggest first: the last ones are short
    tasks += [functools.partial(rewrite_one, fn) for fn in todo]
    tasks += [functools.partial(compileall.compile_file, str(fn), quiet=2) for fn in plain]
    tasks += [
        functools.partial(link, installed[i : i + 100]) for i in range(0, len(installed), 100)
    ]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    _run_shared(tasks, max(1, min(cpus or 1, workers)))


def _run_shared(tasks: List[Callable[[], object]], processes: int) -> None:
    """Run every task once, in this process and ``processes - 1`` forked ones (where there is
    ``fork``), each taking the next task from a pipe as it gets free; a task's error is
    ignored (what it prepares is then done by the one who needs it)."""
    records = b"".join(index.to_bytes(2, "big") for index in range(len(tasks)))
    if processes < 2 or not hasattr(os, "fork") or len(records) > 4096:  # a pipe holds 4 KiB
        for task in tasks:
            _run_task(task)
        return
    read_end, write_end = os.pipe()
    try:
        try:
            os.write(write_end, records)
        finally:
            os.close(write_end)
        children = []
        for _ in range(processes - 1):
            pid = os.fork()
            if pid == 0:  # pragma: no cover (a forked child; it only writes cache files)
                try:
                    _take_tasks(read_end, tasks)
                finally:
                    os._exit(0)
            children.append(pid)
        _take_tasks(read_end, tasks)
        for pid in children:
            os.waitpid(pid, 0)
    finally:
        os.close(read_end)


def _take_tasks(fd: int, tasks: List[Callable[[], object]]) -> None:
    """Run the tasks whose 2-byte indexes this process reads from the pipe ``fd``, until the
    pipe is empty (a read of at most 2 bytes is never split between readers)."""
    while True:
        record = os.read(fd, 2)
        if len(record) < 2:
            return
        _run_task(tasks[int.from_bytes(record, "big")])


def _run_task(task: Callable[[], object]) -> None:
    try:
        task()
    except Exception:  # a syntax error, say: the worker's collection reports it
        pass


def pytest_configure(config: pytest.Config) -> None:
    """``--long-fuzz``: every property test draws its full count of examples. Subprocesses
    share one bytecode cache (see :func:`_share_bytecode_with_subprocesses`), which the
    controller of an xdist run fills once for its workers (:func:`_prepare_bytecode_once`)."""
    global _long_fuzz
    _share_bytecode_with_subprocesses()  # first: hypothesis's asserts are rewritten on import
    _prepare_bytecode_once(config)
    from hypothesis import settings

    _long_fuzz = bool(config.getoption("--long-fuzz"))
    settings.register_profile("reolink-default", max_examples=DEFAULT_EXAMPLES)
    settings.register_profile("reolink-long", max_examples=100)
    settings.load_profile("reolink-long" if _long_fuzz else "reolink-default")


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--soak-minutes N``: run tests/test_reliability_soak.py for N wall-clock minutes (time
    runs x100 there). Without it the soak test is skipped: it is opt-in."""
    parser.addoption(
        "--soak-minutes",
        action="store",
        type=float,
        default=None,
        help="run the soak test (marker 'soak') for this many wall-clock minutes; "
        "without this option it is skipped",
    )
    parser.addoption(
        "--long-fuzz",
        action="store_true",
        default=False,
        help=f"property tests draw their full example counts (default run: at most "
        f"{DEFAULT_EXAMPLES} each)",
    )


#: Seconds a soak may take beyond its ``--soak-minutes`` (warm-up, final checks, shutdown).
SOAK_SLACK = 120.0


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    """The one rule for the soak test: it runs when ``--soak-minutes`` is given, for that long,
    else skips."""
    minutes = config.getoption("--soak-minutes")
    if minutes is not None:
        # Its own time limit: the suite's (``timeout`` in pyproject.toml, for a test that
        # hangs) would end any soak longer than about a minute as though it hung.
        limit = pytest.mark.timeout(minutes * 60 + SOAK_SLACK)
        for item in items:
            if item.get_closest_marker("soak") is not None:
                item.add_marker(limit)
        return
    skip = pytest.mark.skip(reason="soak test is opt-in: run it with --soak-minutes N")
    for item in items:
        if item.get_closest_marker("soak") is not None:
            item.add_marker(skip)
