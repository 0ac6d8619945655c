"""What bench/portal.py and bench/api.py share: the data, the servers, wrk, and the report.

Each bench seeds one database, then serves it from up to four uvicorn
subprocesses in turn on loopback ports (the product with ``settle serve`` and
one worker, the product with ``--workers N``, a bare Litestar baseline and a
pure-ASGI baseline, the last two served by the bench script itself with the
same uvicorn settings as ``settle serve``), and drives each with wrk at every
level of keep-alive connections. wrk picks a random credential (a portal
cookie, an API key) per request from a file, counts every non-2xx answer in
Lua, and prints its figures as one JSON line from ``done()``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import functools
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from adapters import migrate  # noqa: E402
from adapters.db import make_engine, make_sessionmaker  # noqa: E402
from adapters.settings import Settings  # noqa: E402
from domain import apikeys, customers, invoices, organisations, payments  # noqa: E402
from domain.models import Customer  # noqa: E402

SECRET = "bench-secret-key"
HOST = "127.0.0.1"
WRK = "/usr/bin/wrk"
MAX_SECONDS = 600
MAX_CONNECTIONS = 2048
TICKS = os.sysconf("SC_CLK_TCK")


# --- data -----------------------------------------------------------------------------


@dataclasses.dataclass
class Seeded:
    org_id: str
    customer_ids: list[str]
    api_key: str  # invoices:read only


def seed(url: str, n_customers: int, per_customer: int) -> Seeded:
    """One creditor with debtors, open invoices (some with costs and interest) and a part payment each."""
    migrate.upgrade(url)
    engine = make_engine(url)
    today = dt.date.today()
    rng = random.Random(7)
    ids = []
    with make_sessionmaker(engine)() as s:
        org, _ = organisations.create(s, "Bench Groothandel B.V.", "bench")
        org.email, org.phone, org.iban = "debiteuren@bench.example", "+31 20 123 4567", "NL91ABNA0417164300"
        org.address = "Keizersgracht 1\n1015 AA Amsterdam"
        key = apikeys.issue(s, org.id, ["invoices:read"], name="bench")
        number = 0
        for c in range(n_customers):
            customer = customers.create(s, org.id, name=f"Debiteur {c:05d} B.V.", email=f"ap{c}@example.nl",
                                        locale="nl" if c % 3 else "en", external_ref=f"DEB-{c:05d}")  # fmt: skip
            for _ in range(per_customer):
                number += 1
                due = today - dt.timedelta(days=rng.randint(-20, 90))
                inv = invoices.create(s, org, invoices.NewInvoice(
                    number=f"F{number:07d}", issue_date=due - dt.timedelta(days=30), due_date=due,
                    amount_cents=rng.randint(1_000, 500_000), currency="EUR", customer_id=customer.id,
                    pdf_url=f"https://files.bench.example/F{number:07d}.pdf" if number % 2 else None,
                ))  # fmt: skip
                if number % 4 == 0:  # collection costs and interest already charged
                    inv.costs_cents, inv.interest_cents = 4_000, rng.randint(100, 3_000)
                    inv.open_cents += inv.costs_cents + inv.interest_cents
            payments.register_manual(s, org.id, customer_id=customer.id, amount_cents=500, currency="EUR",
                                     received_on=today)  # fmt: skip
            ids.append(customer.id)
            if c % 100 == 99:
                s.commit()
        s.commit()
        seeded = Seeded(org.id, ids, key.key)
    engine.dispose()
    return seeded


def portal_cookies(url: str, customer_ids: list[str]) -> dict[str, str]:
    """A signed portal session cookie per debtor, as opening a link would set."""
    from portal import session as portal_session

    settings = Settings(database_url=url, secret_keys=(SECRET,))
    now = dt.datetime.now(dt.UTC)
    engine = make_engine(url)
    with Session(engine) as s:
        found = {c.id: c for c in s.scalars(select(Customer).where(Customer.id.in_(customer_ids)))}
        out = {cid: portal_session.encode(settings, portal_session.open_for(found[cid], now)) for cid in customer_ids}
    engine.dispose()
    return out


# --- processes ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_listening(proc: subprocess.Popen[bytes], port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            try:  # wait on the process in short slices: returns at once if it died
                code = proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            logs = sorted(Path(tempfile.gettempdir()).glob("settle-bench-*/*.log"), key=lambda f: f.stat().st_mtime)
            tail = logs[-1].read_text()[-3000:] if logs else ""
            raise RuntimeError(f"the server exited with {code} before listening on {port}\n{tail}") from None
    raise RuntimeError(f"nothing listens on {HOST}:{port} after {timeout:.0f} s")


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ..." — comm may hold spaces and parentheses
    return [raw[: raw.index(" ")], raw[raw.index("(") + 1 : raw.rindex(")")], *raw[raw.rindex(")") + 2 :].split()]


def _all_stats() -> dict[int, list[str]]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(int(entry))) is not None:
            out[int(entry)] = st
    return out


def tree(root: int) -> list[int]:
    """``root`` and all its descendants (uvicorn's workers, multiprocessing's helpers)."""
    stats = _all_stats()
    children: dict[int, list[int]] = {}
    for pid, st in stats.items():
        children.setdefault(int(st[3]), []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            found.append(pid)
            todo.extend(children.get(pid, []))
    return found


def postgres_pids() -> list[int]:
    return [pid for pid, st in _all_stats().items() if st[1] == "postgres" or st[1].startswith("postgres:")]


def cpu_seconds(pids: Sequence[int]) -> float:
    """utime + stime of these processes (fields 14 and 15 of /proc/PID/stat), and of their reaped children."""
    total = 0
    for pid in pids:
        st = _stat(pid)
        if st is not None:  # fields 14-17: utime stime cutime cstime
            total += sum(int(v) for v in st[13:17])
    return total / TICKS


def machine_busy() -> tuple[float, float]:
    """(busy, total) seconds of all CPUs from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / TICKS, sum(fields) / TICKS


def rss_kib(root: int) -> int:
    """VmRSS of ``root`` and its descendants."""
    total = 0
    for pid in tree(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (workers too), SIGKILL if it lingers."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)
        except ProcessLookupError:
            pass


def product_env(url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SETTLE_")}
    return {**env, "SETTLE_DATABASE_URL": url, "SETTLE_SECRET_KEYS": SECRET, "SETTLE_SANDBOX_PAYMENTS": "1",
            "SETTLE_BASE_URL": f"http://{HOST}:{port}", "SETTLE_MAIL_URL": "file:" + tempfile.gettempdir()}  # fmt: skip


def start_product(url: str, port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    settle = Path(sys.executable).with_name("settle")
    return subprocess.Popen([str(settle), "serve", "--host", HOST, "--port", str(port), "--workers", str(workers)],
                            env=product_env(url, port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=ROOT, start_new_session=True)  # fmt: skip


def start_baseline(script: Path, name: str, url: str, port: int, data_file: Path) -> subprocess.Popen[bytes]:
    with (data_file.parent / f"{name}.log").open("wb") as log:  # start-up errors, shown if it dies
        return subprocess.Popen([sys.executable, str(script), "--serve", name, "--url", url, "--port", str(port),
                                 "--data", str(data_file)], stdout=subprocess.DEVNULL, stderr=log, cwd=ROOT,
                                start_new_session=True)  # fmt: skip


def serve(app: Any, port: int) -> None:
    """A baseline served as ``settle serve`` serves the product by default: uvicorn, one worker,
    info log, no access log, no proxy headers."""
    import uvicorn

    uvicorn.run(app, host=HOST, port=port, workers=1, log_level="info", access_log=False, proxy_headers=False)


async def send_whole(send: Any, body: bytes, content_type: bytes) -> None:
    """A 200 answer with its length, for the plain-ASGI baselines."""
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# --- wrk -----------------------------------------------------------------------------------

_LUA = r"""
-- One request per credential, formatted once; a random one per request. Every non-2xx is counted.
local path, header, prefix, file = %(path)s, %(header)s, %(prefix)s, %(file)s
local extra = %(extra)s
local threads = {}
local counter = 0

setup = function(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

init = function(args)
  math.randomseed(id * 7919 + os.time())
  reqs = {}
  for line in io.lines(file) do
    local headers = {}
    for k, v in pairs(extra) do headers[k] = v end
    headers[header] = prefix .. line
    reqs[#reqs + 1] = wrk.format("GET", path, headers)
  end
  bad = 0
end

request = function()
  return reqs[math.random(#reqs)]
end

response = function(status, headers, body)
  if status < 200 or status > 299 then bad = bad + 1 end
end

done = function(summary, latency, requests)
  local non2xx = 0
  for _, t in ipairs(threads) do non2xx = non2xx + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "bytes": %%d, "connect": %%d, "read": %%d, "write": %%d, ' ..
    '"status": %%d, "timeout": %%d, "non2xx": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "max_us": %%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout, non2xx,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def _lua_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid Lua string literal for the ASCII we use


def write_lua(folder: Path, path: str, header: str, prefix: str, values: list[str], extra: dict[str, str]) -> Path:
    values_file = folder / "values.txt"
    values_file.write_text("\n".join(values) + "\n")
    extra_lua = "{" + ", ".join(f"[{_lua_str(k)}] = {_lua_str(v)}" for k, v in extra.items()) + "}"
    script = folder / "pick.lua"
    script.write_text(_LUA % {"path": _lua_str(path), "header": _lua_str(header), "prefix": _lua_str(prefix),
                              "file": _lua_str(str(values_file)), "extra": extra_lua})  # fmt: skip
    return script


@dataclasses.dataclass
class Run:
    server: str
    connections: int
    seconds: float
    requests: int = 0
    p50: float = float("nan")  # ms
    p99: float = float("nan")
    non2xx: int = 0
    socket: int = 0  # connect + read + write errors
    timeouts: int = 0
    bytes: int = 0
    cpu: dict[str, float] = dataclasses.field(default_factory=dict)  # % of one CPU over the run
    warmup_errors: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.non2xx + self.socket + self.timeouts

    def line(self) -> str:
        size = self.bytes // max(1, self.requests)
        cpu = "  ".join(f"{k} {v:3.0f}%" for k, v in self.cpu.items())
        return (f"  {self.server:<12} {self.rps:8.1f} req/s  p50 {self.p50:7.1f} ms  p99 {self.p99:7.1f} ms  "
                f"errors {self.errors} (non-2xx {self.non2xx}, socket {self.socket}, timeouts {self.timeouts})  "
                f"{size} B  cpu: {cpu}")  # fmt: skip


def run_wrk(server: str, server_pid: int, port: int, script: Path, connections: int, seconds: float,
            on_postgres: bool) -> Run:  # fmt: skip
    argv = [WRK, "-t", "2", "-c", str(connections), "-d", f"{max(1, round(seconds))}s", "--timeout", "10s", "--latency",
            "-s", str(script), f"http://{HOST}:{port}/"]  # fmt: skip
    servers, pg = tree(server_pid), postgres_pids() if on_postgres else []
    before = cpu_seconds(servers), cpu_seconds(pg), machine_busy()
    started = time.monotonic()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk is the only child reaped meanwhile
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=seconds + 30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    elapsed = time.monotonic() - started
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = reaped.ru_utime + reaped.ru_stime - children.ru_utime - children.ru_stime
    busy, total = machine_busy()
    run = Run(server, connections, seconds)
    run.cpu = {"server": (cpu_seconds(tree(server_pid)) - before[0]) / elapsed * 100, "wrk": wrk_cpu / elapsed * 100}
    if on_postgres:
        run.cpu["postgres"] = (cpu_seconds(postgres_pids()) - before[1]) / elapsed * 100
    run.cpu["machine"] = (busy - before[2][0]) / (total - before[2][1]) * 100 * os.cpu_count()  # type: ignore[operator]
    found = [line for line in out.splitlines() if line.startswith("WRKJSON ")]
    if proc.returncode != 0 or not found:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {err.strip()}\n{out}")
    data = json.loads(found[-1].removeprefix("WRKJSON "))
    run.seconds = data["duration_us"] / 1e6
    run.requests, run.bytes = data["requests"], data["bytes"]
    run.p50, run.p99 = data["p50_us"] / 1000, data["p99_us"] / 1000
    run.non2xx = max(data["non2xx"], data["status"])
    run.socket = data["connect"] + data["read"] + data["write"]
    run.timeouts = data["timeout"]
    return run


# --- the bench --------------------------------------------------------------------------------


@dataclasses.dataclass
class Target:
    """What is requested, with which credential, from which servers."""

    what: str  # for the report
    path: str
    header: str
    prefix: str
    values: list[str]
    extra: dict[str, str]
    baselines: list[tuple[str, str]]  # (name, description) served by the bench script with --serve NAME
    script: Path
    data: dict[str, Any]  # handed to the baselines as JSON


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--customers", type=int, default=300)
    p.add_argument("--invoices", type=int, default=6, help="open invoices per customer")
    p.add_argument("--levels", default="32,128,512", help="keep-alive connections, comma-separated")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of load per level and server")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load before each level")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="also measure settle serve --workers N (default: 2 on PostgreSQL, none on SQLite)",
    )
    p.add_argument("--no-asgi", action="store_true", help="skip the pure-ASGI baseline")
    p.add_argument("--database-url", default=None, help="an empty database; default: a temporary SQLite file")
    p.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    p.add_argument("--url", default=None, help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--data", type=Path, default=None, help=argparse.SUPPRESS)
    return p


def levels_of(p: argparse.ArgumentParser, args: argparse.Namespace) -> list[int]:
    try:
        levels = [int(x) for x in args.levels.split(",") if x.strip()]
    except ValueError:
        p.error("--levels takes numbers of connections, e.g. 32,128,512")
    if not levels or not all(2 <= n <= MAX_CONNECTIONS for n in levels):
        p.error(f"every level must be 2..{MAX_CONNECTIONS} connections")
    if not 1 <= args.duration <= MAX_SECONDS or not 0 <= args.warmup <= 60:
        p.error(f"--duration must be 1..{MAX_SECONDS} s and --warmup 0..60 s")
    return levels


def get_once(port: int, target: Target, value: str) -> tuple[int, int]:
    """One request as wrk sends it: (status, body bytes)."""
    req = urllib.request.Request(f"http://{HOST}:{port}{target.path}",
                                 headers={**target.extra, target.header: target.prefix + value})  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, len(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, len(exc.read())


def measure(name: str, proc: subprocess.Popen[bytes], port: int, target: Target, script: Path, levels: list[int],
            args: argparse.Namespace, on_postgres: bool) -> tuple[list[Run], int, int]:  # fmt: skip
    """Every level against one server: the runs, and its RSS idle and after the last level (KiB)."""
    try:
        wait_listening(proc, port)
        for value in [target.values[0], *random.Random(3).sample(target.values, min(5, len(target.values)))]:
            status, _ = get_once(port, target, value)
            if status != 200:
                raise RuntimeError(f"{name}: GET {target.path} answered {status} before any load")
        idle = rss_kib(proc.pid)
        runs = []
        for n in levels:
            warm = run_wrk(name, proc.pid, port, script, n, args.warmup, on_postgres) if args.warmup else None
            run = run_wrk(name, proc.pid, port, script, n, args.duration, on_postgres)
            if warm is not None and warm.errors:
                run.warmup_errors = warm.errors
                print(f"      {name} warm-up at {n}: {warm.line()}", flush=True)
            print(f"{n:5d} conn {run.line()}", flush=True)
            runs.append(run)
        after = rss_kib(proc.pid)
        print(f"           {name}: RSS {idle / 1024:.0f} MiB idle, {after / 1024:.0f} MiB after {levels[-1]} "
              f"connections ({after / idle:.2f}x)", flush=True)  # fmt: skip
        return runs, idle, after
    finally:
        stop(proc)


def main(target_of: Callable[[argparse.Namespace, str, Seeded], Target], doc: str,
         serve_baseline: Callable[[str, str, int, dict[str, Any]], None]) -> None:  # fmt: skip
    p = parser(doc)
    args = p.parse_args()
    if args.serve:
        serve_baseline(args.serve, args.url, args.port, json.loads(args.data.read_text()))
        return
    levels = levels_of(p, args)
    folder = Path(tempfile.mkdtemp(prefix="settle-bench-"))
    try:
        _bench(target_of, args, levels, folder)
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def _bench(target_of: Callable[[argparse.Namespace, str, Seeded], Target], args: argparse.Namespace,
           levels: list[int], folder: Path) -> None:  # fmt: skip
    from adapters.settings import normalize_database_url

    url = normalize_database_url(args.database_url or f"sqlite:///{folder / 'bench.db'}")
    on_postgres = url.startswith("postgresql")
    workers = args.workers if args.workers is not None else (2 if on_postgres else 1)
    started = time.perf_counter()
    seeded = seed(url, args.customers, args.invoices)
    target = target_of(args, url, seeded)
    data_file = folder / "baseline.json"
    data_file.write_text(json.dumps(target.data))
    script = write_lua(folder, target.path, target.header, target.prefix, target.values, target.extra)
    print(f"seeded {len(seeded.customer_ids)} customers x {args.invoices} invoices on {url.split('://')[0]} in "
          f"{time.perf_counter() - started:.1f} s; GET {target.path} ({target.what}); levels {levels} connections, "
          f"{args.duration:g} s each after {args.warmup:g} s of warm-up; wrk -t 2 --timeout 10s; "
          f"{os.cpu_count()} CPUs", flush=True)  # fmt: skip
    servers: list[tuple[str, Callable[[int], subprocess.Popen[bytes]]]] = [
        ("settle", functools.partial(start_product, url)),
    ]
    for name, _ in target.baselines:
        if not (args.no_asgi and name == "asgi"):
            servers.append((name, functools.partial(start_baseline, target.script, name, url, data_file=data_file)))
    if workers > 1:
        servers.append((f"settle x{workers}", functools.partial(start_product, url, workers=workers)))
    results: dict[str, tuple[list[Run], int, int]] = {}
    for name, start in servers:
        port = free_port()
        results[name] = measure(name, start(port), port, target, script, levels, args, on_postgres)
    report(results, levels, target, workers)


def report(results: dict[str, tuple[list[Run], int, int]], levels: list[int], target: Target, workers: int) -> None:
    print("\nsummary (" + "; ".join(f"{n}: {d}" for n, d in [("settle", "settle serve, one worker"),
                                                            *target.baselines]) + ")")  # fmt: skip
    failed = []
    base = target.baselines[0][0]
    for i, n in enumerate(levels):
        print(f"{n} connections:")
        for name, (runs, _, _) in results.items():
            print(runs[i].line())
            if runs[i].errors or runs[i].warmup_errors:
                failed.append(f"{name} at {n}: {runs[i].errors} errors, {runs[i].warmup_errors} in the warm-up")
        product = results["settle"][0][i]
        for other, _ in target.baselines:  # the target is against the first; the others show where time goes
            if other not in results:
                continue
            bare = results[other][0][i]
            ratio = product.rps / bare.rps if bare.rps else float("nan")
            verdict = ""
            if i == 0 and other == base:
                ok = ratio >= 0.60 and product.p99 <= 25
                verdict = f"   target at {n}: >= 0.60x and p99 <= 25 ms: {'met' if ok else 'NOT met'}"
            print(f"  ratio        settle / {other} = {ratio:.2f}x req/s, {product.p99 / bare.p99:.2f}x p99{verdict}")
        if workers > 1:
            multi = results[f"settle x{workers}"][0][i]
            wratio = multi.rps / product.rps if product.rps else float("nan")
            print(f"  workers      settle x{workers} / settle = {wratio:.2f}x req/s (target >= 1.3x)")
    print("memory (VmRSS, with children):")
    for name, (_, idle, after) in results.items():
        verdict = f" (target <= 1.5x: {'met' if after <= 1.5 * idle else 'NOT met'})"
        verdict = verdict if name.startswith("settle") else ""
        print(f"  {name:<12} {idle / 1024:6.0f} MiB idle, {after / 1024:6.0f} MiB after {levels[-1]} connections, "
              f"{after / idle:.2f}x{verdict}")  # fmt: skip
    if failed:
        sys.exit("errors: " + "; ".join(failed))
