"""Keys: `certs init` and `certs issue` never follow a symbolic link nor overwrite a file, and the throw-away
certificates of a run killed with SIGKILL are deleted by the next run or `federation clean`, never a live run's."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from federation.security.certs import (OWNER_FILE, THROWAWAY_PREFIX, CertificateError, SiteCredentials, init_ca,
                                       issue_site, remove_stale_throwaways)

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "federation.cli"]
CHAIN = ROOT / "tests" / "runtime" / "grpc_fixtures"


def federation(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, **(env or {})})


def said(proc: subprocess.CompletedProcess[str]) -> str:
    return " ".join(proc.stderr.split())


def precious(tmp_path: Path) -> tuple[Path, bytes, int]:
    """A file of someone else's that a planted link points to: it must keep its bytes and its time."""
    target = tmp_path / "elsewhere" / "precious"
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(b"not a key\n")
    os.utime(target, ns=(1_000_000_000, 1_000_000_000))
    return target, target.read_bytes(), target.stat().st_mtime_ns


def untouched(target: Path, content: bytes, mtime: int) -> bool:
    return target.read_bytes() == content and target.stat().st_mtime_ns == mtime


# ------------------------------------------------------------------------------------------ certs init / issue

@pytest.mark.parametrize("planted", ["ca.key", "rti.key", "sites", "sites/coordinator.key"])
def test_certs_init_refuses_a_folder_with_a_planted_link_and_leaves_its_target(tmp_path: Path, planted: str) -> None:
    folder = tmp_path / "certs"
    target, content, mtime = precious(tmp_path)
    (folder / planted).parent.mkdir(parents=True, exist_ok=True)
    (folder / planted).symlink_to(target.parent if planted == "sites" else target)
    proc = federation("certs", "init", str(folder), "--federation", "f", "--sites", "a")
    assert proc.returncode == 2 and f"{folder} is not empty ({planted.split('/')[0]})" in said(proc), said(proc)
    assert untouched(target, content, mtime) and sorted(os.listdir(target.parent)) == ["precious"]


def test_certs_init_refuses_a_non_empty_folder_and_a_linked_one(tmp_path: Path) -> None:
    folder = tmp_path / "certs"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    proc = federation("certs", "init", str(folder), "--federation", "f", "--sites", "a")
    assert proc.returncode == 2 and f"{folder} is not empty (notes.txt)" in said(proc), said(proc)
    assert os.listdir(folder) == ["notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    (tmp_path / "link").symlink_to(empty)
    proc = federation("certs", "init", str(tmp_path / "link"), "--federation", "f", "--sites", "a")
    assert proc.returncode == 2 and "is a symbolic link, which is never followed" in said(proc), said(proc)
    assert os.listdir(empty) == []
    proc = federation("certs", "init", str(empty), "--federation", "f", "--sites", "a")  # an empty folder is fine
    assert proc.returncode == 0, proc.stderr
    assert SiteCredentials.load(empty, "a").site == "a"


@pytest.mark.parametrize("planted", ["sites/newcomer.key", "sites/newcomer.pem", "sites"])
@pytest.mark.parametrize("dangling", [False, True])
def test_certs_issue_refuses_a_planted_link_and_leaves_its_target(tmp_path: Path, planted: str, dangling: bool) -> None:
    d = init_ca(tmp_path / "certs", "f", ["a"])
    target, content, mtime = precious(tmp_path)
    link_to = target.parent if planted == "sites" else target
    if planted == "sites":
        shutil.rmtree(d.root / "sites")
    if dangling:
        link_to = tmp_path / "nowhere" / "yet"
    (d.root / planted).symlink_to(link_to)
    proc = federation("certs", "issue", str(d.root), "--site", "newcomer")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert str(d.root / planted) in said(proc), said(proc)
    assert untouched(target, content, mtime) and sorted(os.listdir(target.parent)) == ["precious"]
    assert not (tmp_path / "nowhere").exists()
    assert (d.root / planted).is_symlink()


def test_certs_issue_never_overwrites_a_sites_files_and_says_how_to_reissue(tmp_path: Path) -> None:
    d = init_ca(tmp_path / "certs", "f", ["a"])
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (d.site_key("a"), d.site_cert("a"))}
    proc = federation("certs", "issue", str(d.root), "--site", "a")
    assert proc.returncode == 2, proc.stderr
    assert (f"{d.site_key('a')} and {d.site_cert('a')} already exist: delete them first to issue a new certificate "
            "for site 'a'") in said(proc), said(proc)
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in before} == before
    d.site_cert("a").unlink()  # half a site: the key alone is refused too, and kept
    with pytest.raises(CertificateError, match="a.key already exists: delete it first"):
        issue_site(d.root, "a")
    assert d.site_key("a").read_bytes() == before[d.site_key("a")][0]
    d.site_key("a").unlink()
    proc = federation("certs", "issue", str(d.root), "--site", "a")
    assert proc.returncode == 0, proc.stderr
    assert d.site_key("a").stat().st_mode & 0o777 == 0o600
    assert SiteCredentials.load(d.root, "a").key != before[d.site_key("a")][0]


# ------------------------------------------------------------------------------------ throw-away certificates

def throwaway_folder(tmp: Path, name: str, pid: int, started: float, tool: str = "federation") -> Path:
    folder = tmp / f"{THROWAWAY_PREFIX}{name}"
    (folder / "certs").mkdir(parents=True)
    (folder / "certs" / "ca.key").write_text("key")
    (folder / OWNER_FILE).write_text(json.dumps({"tool": tool, "pid": pid, "started": started}))
    return folder


def a_dead_process() -> tuple[int, float]:
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    started = psutil.Process(proc.pid).create_time()
    proc.kill()
    proc.wait()
    return proc.pid, started


def test_clean_deletes_only_our_folders_whose_run_is_gone_and_follows_no_link(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    target, content, mtime = precious(tmp_path)
    me = psutil.Process()
    dead = throwaway_folder(tmp, "dead", *a_dead_process())
    (dead / "certs" / "link").symlink_to(target)  # inside a stale folder: the link goes, not its target
    reused = throwaway_folder(tmp, "reused", me.pid, me.create_time() - 3600)  # its pid now runs another process
    live = throwaway_folder(tmp, "live", me.pid, me.create_time())
    foreign = throwaway_folder(tmp, "foreign", *a_dead_process(), tool="something-else")
    older = tmp / f"{THROWAWAY_PREFIX}older"  # no owner record: an older version's, or not ours
    older.mkdir()
    stale_elsewhere = throwaway_folder(tmp_path, "elsewhere", *a_dead_process())
    (tmp / f"{THROWAWAY_PREFIX}link").symlink_to(stale_elsewhere)
    unrelated = tmp / "other-tool-dir"
    unrelated.mkdir()

    proc = federation("clean", env={"TMPDIR": str(tmp)})
    assert proc.returncode == 0, proc.stderr
    assert f"deleted {dead}" in proc.stdout and f"deleted {reused}" in proc.stdout, proc.stdout
    assert f"kept {live}: its run (pid {me.pid}) is still running" in proc.stdout, proc.stdout
    kept = [p.name for p in (live, foreign, older, unrelated)] + [f"{THROWAWAY_PREFIX}link"]
    assert sorted(os.listdir(tmp)) == sorted(kept)
    assert untouched(target, content, mtime)
    assert (stale_elsewhere / OWNER_FILE).exists()  # behind a link: not followed
    assert remove_stale_throwaways(tmp).removed == []


@pytest.mark.slow
def test_throwaway_certificates_of_a_killed_run_are_deleted_by_the_next_run_and_by_clean(tmp_path: Path) -> None:
    """Real `run --mode grpc` processes with TMPDIR set to a test folder: two killed with SIGKILL, one live."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    scenario = tmp_path / "scenario" / "chain.yaml"
    scenario.parent.mkdir()
    shutil.copy(CHAIN / "models.py", scenario.parent / "models.py")
    shutil.copy(CHAIN / "chain.yaml", scenario)  # a million steps: it runs until it is stopped
    started: list[subprocess.Popen[bytes]] = []
    descendants: list[psutil.Process] = []

    def start(name: str) -> subprocess.Popen[bytes]:
        out = tmp_path / name
        with open(tmp_path / f"{name}.err", "wb") as err:
            # Relay routing: with direct routing the chain's source, which has no input, runs far ahead and two
            # concurrent million-step runs starve each other on two cores (see the issue 15 closing note).
            proc = subprocess.Popen([*CLI, "run", str(scenario), "--mode", "grpc", "--routing", "relay", "--no-plot",
                                     "--out", str(out)],
                                    cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True,
                                    env={**os.environ, "TMPDIR": str(tmp)})
        started.append(proc)
        deadline = time.monotonic() + 60
        while not ((out / "results.csv").exists() and (out / "results.csv").read_bytes().count(b"\n") > 1):
            assert proc.poll() is None, (tmp_path / f"{name}.err").read_text()
            assert time.monotonic() < deadline, f"run {name} did not start stepping within 60 s"
            time.sleep(0.05)
        children = psutil.Process(proc.pid).children(recursive=True)  # its RTI and hosts, up and stepping
        assert sum("federation.cli host" in " ".join(c.cmdline()) for c in children) == 3
        descendants.extend(children)
        return proc

    def folders() -> dict[int, Path]:
        """pid of the owner -> its throw-away folder, in TMPDIR."""
        return {json.loads((p / OWNER_FILE).read_text())["pid"]: p for p in tmp.glob(f"{THROWAWAY_PREFIX}*")}

    def kill(proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGKILL)  # no teardown: its folder stays (its hosts and RTI die with it)
        proc.wait(10)

    try:
        first = start("first")
        kill(first)
        assert list(folders()) == [first.pid]
        left = folders()[first.pid]
        assert (left / "certs" / "ca.key").exists()

        live = start("live")  # the next run deletes what the killed one left
        assert list(folders()) == [live.pid] and not left.exists()

        second = start("second")
        kill(second)
        left = folders()[second.pid]
        proc = federation("clean", env={"TMPDIR": str(tmp)})
        assert proc.returncode == 0, proc.stderr
        assert f"deleted {left}: throw-away certificates of a run that was killed" in proc.stdout, proc.stdout
        assert list(folders()) == [live.pid], proc.stdout  # a live run's folder is kept
        assert f"kept {folders()[live.pid]}: its run (pid {live.pid}) is still running" in proc.stdout

        live.send_signal(signal.SIGTERM)  # an orderly end deletes its own
        assert live.wait(60) == 130
        assert os.listdir(tmp) == []
        _, alive = psutil.wait_procs(descendants, timeout=10)
        assert not alive, [p.pid for p in alive]
    finally:
        for proc in started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for child in descendants:
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass
