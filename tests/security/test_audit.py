"""The audit log detects every edit, its end included, and is never deleted or truncated.

Two kinds of real logs: a `federation run --mode grpc` run's (the coordinator and the RTI
process write it; run.json records its head) and a TLS `federation rti serve --audit` log
(restarted once, so its chain spans two servers). Each is copied and tampered with the way a
reader of the format would, the chain recomputed where that makes the edit look consistent.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "runtime" / "grpc_fixtures"
CLI = [sys.executable, "-m", "federation.cli"]


def federation(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                          env={**os.environ, **(env or {})})


def said(proc: subprocess.CompletedProcess[str]) -> str:
    return " ".join((proc.stdout + proc.stderr).split())


def chain_scenario(folder: Path, stop: float = 3.0) -> Path:
    """The three-site chain of Python models, a few steps long."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / "models.py", folder / "models.py")
    data = yaml.safe_load((FIXTURES / "chain.yaml").read_text())
    data["time"]["stop"] = stop
    path = folder / "chain.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def grpc_run(scenario: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    # TMPDIR: the throw-away certificates stay in the test's folder
    proc = federation("run", str(scenario), "--mode", "grpc", "--out", str(out), "--no-plot", *extra,
                      env={"TMPDIR": str(scenario.parent)})
    assert proc.returncode == 0, proc.stderr
    return proc


# ------------------------------------------------------------------------------------------- the two logs
@pytest.fixture(scope="module")
def run_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """audit.jsonl of a real grpc-mode run with TLS (throw-away certificates), run.json beside it."""
    folder = tmp_path_factory.mktemp("grpc")
    out = folder / "out"
    grpc_run(chain_scenario(folder), out)
    return out / "audit.jsonl"


def _create(target: str, certs: Path, site: str, scenario: Path) -> None:
    from federation.runtime.coordinator import create_federation
    from federation.scenario import load_scenario
    from federation.security.certs import COORDINATOR_SITE, SiteCredentials

    sc = load_scenario(scenario, site=COORDINATOR_SITE)
    try:
        create_federation(target, sc, creds=SiteCredentials.load(certs, site))
    except RuntimeError as exc:  # denied by the policy: audited
        assert "PERMISSION_DENIED" in str(exc), exc


@pytest.fixture(scope="module")
def rti_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A TLS `rti serve --audit` log written by two servers one after the other (creation, denials),
    and the certificate folder."""
    from federation.runtime.local import start_rti
    from federation.runtime.processes import stop_all

    folder = tmp_path_factory.mktemp("rti")
    scenario = chain_scenario(folder)
    certs = folder / "certs"
    assert federation("certs", "init", str(certs), "--federation", "chain3", "--sites", "alpha,beta,gamma").returncode == 0
    assert federation("policy", str(scenario), "--out", str(folder / "policy.yaml")).returncode == 0
    log = folder / "logs" / "rti-audit.jsonl"
    for server in range(2):  # the second continues the first's chain
        proc, target = start_rti(folder / f"rti-{server}.log",
                                 security=["--tls", str(certs), "--policy", str(folder / "policy.yaml"), "--audit", str(log)])
        try:
            for site in ("alpha", "beta", "coordinator" if server == 0 else "gamma"):
                _create(target, certs, site, scenario)
        finally:
            stop_all([proc])
    assert len(log.read_text().splitlines()) >= 6
    return log, certs


# --------------------------------------------------------------------------------------------- tampering
def digest(entry: dict[str, object]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def dump(entry: dict[str, object]) -> str:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"))


def rechain(entries: list[dict[str, object]]) -> list[str]:
    """The entries with their sequence numbers, back-links and hashes made consistent again."""
    prev = "0" * 64
    lines = []
    for seq, entry in enumerate(entries):
        entry = {**entry, "seq": seq, "prev": prev}
        entry["hash"] = prev = digest(entry)
        lines.append(dump(entry))
    return lines


class Copy:
    """A copy of a log's folder to tamper with: the log, its head file, run.json."""

    def __init__(self, log: Path, into: Path) -> None:
        shutil.copytree(log.parent, into, ignore=shutil.ignore_patterns("logs", "telemetry", "*.csv"))
        self.log = into / log.name
        self.head = self.log.with_suffix(".head.json")
        self.run = into / "run.json"

    def lines(self) -> list[str]:
        return self.log.read_text().splitlines()

    def write(self, lines: list[str]) -> None:
        self.log.write_text("".join(line + "\n" for line in lines))

    def set_end(self, entries: int, last: str, signature: str | None = None, certificate: str | None = None) -> None:
        """What a forger writes outside the log: the head file and run.json's record of it."""
        records = [(self.head, None)] + ([(self.run, "audit")] if self.run.exists() else [])
        for path, key in records:
            data = json.loads(path.read_text())
            record = data[key] if key else data
            record.update(entries=entries, hash=last)
            if signature is not None:
                record.update(signature=signature, certificate=certificate)
            path.write_text(json.dumps(data, indent=2))


def forge_key() -> tuple[ec.EllipticCurvePrivateKey, str]:
    """A forger's own key and a self-made 'rti' server certificate for it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "chain3"), x509.NameAttribute(NameOID.COMMON_NAME, "rti")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM).decode()


def forged_signature(key: ec.EllipticCurvePrivateKey, entries: int, last: str) -> str:
    message = b"federation audit head\n" + dump({"entries": entries, "hash": last}).encode()
    return base64.b64encode(key.sign(message, ec.ECDSA(hashes.SHA256()))).decode()


def _edit_middle(entries: list[dict[str, object]]) -> list[dict[str, object]]:
    middle = len(entries) // 2
    entries[middle] = {**entries[middle], "site": "mallory"}
    return entries


# Each case: how to tamper, and the words `audit verify` must say (exit 1).
def _cases(run: bool) -> dict[str, tuple[Callable[[Copy], None], str]]:
    def drop(n: int) -> Callable[[Copy], None]:
        return lambda c: c.write(c.lines()[:-n])

    def drop_and_fix_records(c: Copy) -> None:  # entries removed, the records outside made to agree, unsigned
        lines = c.lines()[:-1]
        c.write(lines)
        c.set_end(len(lines), json.loads(lines[-1])["hash"])

    def append(c: Copy) -> None:  # a well-chained entry after the last one
        lines = c.lines()
        last = json.loads(lines[-1])
        entry = {"seq": last["seq"] + 1, "ts": last["ts"] + 1, "event": "join", "federation": "chain3",
                 "site": "mallory", "federate": "src", "prev": last["hash"]}
        entry["hash"] = digest(entry)
        c.write([*lines, dump(entry)])

    def reformat(c: Copy) -> None:  # the same content, with spaces: every hash still matches
        lines = c.lines()
        lines[2] = json.dumps(json.loads(lines[2]), sort_keys=True)
        c.write(lines)

    def duplicate_key(c: Copy) -> None:  # {"event":"denied","event":"join",...} parses as the original
        lines = c.lines()
        event = json.loads(lines[3])["event"]
        lines[3] = lines[3].replace(f'"event":"{event}"', f'"event":"denied","event":"{event}"')
        c.write(lines)

    def change_value(c: Copy) -> None:
        lines = c.lines()
        entry = json.loads(lines[1])
        lines[1] = dump({**entry, "site": "mallory"})
        c.write(lines)

    def rebuild(c: Copy) -> None:  # an edit with the whole chain and the records outside recomputed
        lines = rechain(_edit_middle([json.loads(line) for line in c.lines()]))
        c.write(lines)
        c.set_end(len(lines), json.loads(lines[-1])["hash"])

    def rebuild_shorter(c: Copy) -> None:  # the last entry removed, the rest rechained, records updated
        lines = rechain([json.loads(line) for line in c.lines()[:-1]])
        c.write(lines)
        c.set_end(len(lines), json.loads(lines[-1])["hash"])

    def crlf(c: Copy) -> None:
        c.log.write_bytes(c.log.read_bytes().replace(b"\n", b"\r\n", 1))

    cases: dict[str, tuple[Callable[[Copy], None], str]] = {
        "delete the last entry": (drop(1), "entries were removed from its end"),
        "delete several": (drop(3), "entries were removed from its end"),
        "empty the file": (lambda c: c.log.write_text(""), "the log is empty but"),
        "delete the last entry and fix the records": (drop_and_fix_records, "does not match the head it records"),
        "append a forged entry": (append, "follows the run_end entry" if run else "follows the last entry"),
        "reformat a line": (reformat, "line 3: not in canonical form"),
        "duplicate a key": (duplicate_key, "line 4: key 'event' appears twice"),
        "change a value": (change_value, "line 2: entry hash does not match its content"),
        "rebuild the chain without the key": (rebuild, "does not match the head it records"),
        "rebuild a shorter chain without the key": (rebuild_shorter, "does not match the head it records"),
        "a carriage return": (crlf, "line 1: not in canonical form"),
    }
    return cases


def _check_cases(log: Path, tmp_path: Path, run: bool, *extra: str) -> list[str]:
    failures = []
    for number, (name, (tamper, words)) in enumerate(_cases(run).items()):
        copy = Copy(log, tmp_path / f"case{number}")
        tamper(copy)
        proc = federation("audit", "verify", str(copy.log), *extra)
        if proc.returncode != 1 or words not in said(proc):
            failures.append(f"{name}: exit {proc.returncode}, said {said(proc)!r}, expected {words!r}")
    return failures


def _intact(log: Path, *extra: str) -> str:
    proc = federation("audit", "verify", str(log), *extra)
    assert proc.returncode == 0, proc.stderr
    return said(proc)


# ------------------------------------------------------------------------------------------------- tests
def test_every_edit_of_a_grpc_runs_log_is_reported(run_log: Path, tmp_path: Path) -> None:
    lines = run_log.read_text().splitlines()
    run = json.loads((run_log.parent / "run.json").read_text())
    last = json.loads(lines[-1])
    # run.json and the run_end entry record the end; the throw-away RTI key signed both
    assert run["audit"]["file"] == "audit.jsonl" and run["audit"]["entries"] == len(lines)
    assert run["audit"]["hash"] == last["hash"] and "signature" in run["audit"]
    assert last["event"] == "run_end" and last["status"] == "completed" and "signature" in last
    assert f"OK ({len(lines)} entries)" in _intact(run_log) and "matches audit.head.json and run.json" in _intact(run_log)
    assert _check_cases(run_log, tmp_path, True) == []


def test_run_json_alone_records_the_end_and_can_be_named(run_log: Path, tmp_path: Path) -> None:
    copy = Copy(run_log, tmp_path / "copy")
    copy.head.unlink()
    assert "matches run.json" in _intact(copy.log)
    moved = tmp_path / "elsewhere.jsonl"
    copy.log.rename(moved)  # a log away from its run.json: nothing records its end unless --run names it
    proc = federation("audit", "verify", str(moved))
    assert proc.returncode == 1 and "nothing outside the log records where it ends" in said(proc), said(proc)
    assert f"matches {copy.run}" in _intact(moved, "--run", str(copy.run))
    moved.write_text("".join(line + "\n" for line in moved.read_text().splitlines()[:-1]))
    proc = federation("audit", "verify", str(moved), "--run", str(copy.run))
    assert proc.returncode == 1 and "entries were removed from its end" in said(proc), said(proc)


def test_every_edit_of_an_rti_serve_log_is_reported(rti_log: tuple[Path, Path], tmp_path: Path) -> None:
    log, certs = rti_log
    intact = _intact(log, "--ca", str(certs))
    assert "matches rti-audit.head.json" in intact and "signed by the RTI, whose certificate the given CA issued" in intact
    assert _check_cases(log, tmp_path, False) == []


def test_a_chain_rebuilt_and_signed_with_another_key_fails_against_the_ca(rti_log: tuple[Path, Path],
                                                                          tmp_path: Path) -> None:
    log, certs = rti_log
    copy = Copy(log, tmp_path / "forged")
    lines = rechain(_edit_middle([json.loads(line) for line in copy.lines()]))
    copy.write(lines)
    key, cert = forge_key()
    last = json.loads(lines[-1])["hash"]
    copy.set_end(len(lines), last, forged_signature(key, len(lines), last), cert)
    # Without the CA the forger's own certificate cannot be told from the RTI's: that is what --ca is for.
    assert "not checked against a CA (pass --ca)" in _intact(copy.log)
    proc = federation("audit", "verify", str(copy.log), "--ca", str(certs / "ca.pem"))
    assert proc.returncode == 1 and "that the given CA did not issue" in said(proc), said(proc)
    # Nor may a site's own key stand in for the RTI's.
    site_key = serialization.load_pem_private_key((certs / "sites" / "alpha.key").read_bytes(), None)
    assert isinstance(site_key, ec.EllipticCurvePrivateKey)
    copy.set_end(len(lines), last, forged_signature(site_key, len(lines), last), (certs / "sites" / "alpha.pem").read_text())
    proc = federation("audit", "verify", str(copy.log), "--ca", str(certs))
    assert proc.returncode == 1 and "signed by site 'alpha', which does not keep audit logs" in said(proc), said(proc)
    # An unsigned head is refused when a CA is given: a TLS RTI always signs.
    data = json.loads(copy.head.read_text())
    copy.head.write_text(json.dumps({"entries": data["entries"], "hash": data["hash"]}))
    proc = federation("audit", "verify", str(copy.log), "--ca", str(certs))
    assert proc.returncode == 1 and "is not signed, but a CA was given" in said(proc), said(proc)


def test_rti_serve_never_continues_a_log_whose_end_was_cut(rti_log: tuple[Path, Path], tmp_path: Path) -> None:
    log, certs = rti_log
    copy = Copy(log, tmp_path / "cut")
    copy.write(copy.lines()[:-1])
    before = copy.log.read_bytes()
    proc = federation("rti", "serve", "--listen", "127.0.0.1:0", "--tls", str(certs), "--audit", str(copy.log), timeout=30)
    assert proc.returncode == 2 and "cannot use the audit log" in said(proc), said(proc)
    assert "entries were removed from its end" in said(proc)
    assert copy.log.read_bytes() == before  # left exactly as it was


# ------------------------------------------------------------------------ item 4: never deleted or truncated
@pytest.mark.slow
def test_a_run_into_a_previous_runs_folder_keeps_its_audit_log(run_log: Path, tmp_path: Path) -> None:
    scenario = chain_scenario(tmp_path / "sc")
    out = tmp_path / "out"
    shutil.copytree(run_log.parent, out)
    first = (out / "audit.jsonl").read_bytes()
    grpc_run(scenario, out, "--force")  # new throw-away certificates: the old log cannot be vouched for: moved aside
    assert (out / "audit.1.jsonl").read_bytes() == first
    assert "matches audit.1.head.json" in _intact(out / "audit.1.jsonl")
    assert "matches audit.head.json and run.json" in _intact(out / "audit.jsonl")
    assert json.loads((out / "audit.jsonl").read_text().splitlines()[0])["event"] == "run_start"

    # Without TLS, an unsigned log is continued: the earlier run's entries stay, byte for byte, at its start.
    plain = tmp_path / "plain"
    grpc_run(scenario, plain, "--insecure")
    once = (plain / "audit.jsonl").read_bytes()
    grpc_run(scenario, plain, "--insecure", "--force")
    twice = (plain / "audit.jsonl").read_bytes()
    assert twice.startswith(once) and len(twice) > len(once) and not (plain / "audit.1.jsonl").exists()
    assert f"OK ({len(twice.splitlines())} entries)" in _intact(plain / "audit.jsonl")

    # A log that does not verify is moved aside, not deleted: the evidence stays.
    lines = (plain / "audit.jsonl").read_text().splitlines()[:-2]
    (plain / "audit.jsonl").write_text("".join(line + "\n" for line in lines))
    cut = (plain / "audit.jsonl").read_bytes()
    run = federation("run", str(scenario), "--mode", "grpc", "--insecure", "--out", str(plain), "--no-plot", "--force")
    assert run.returncode == 0 and "moved it aside to audit.1.jsonl" in said(run), said(run)
    assert (plain / "audit.1.jsonl").read_bytes() == cut
    assert "matches audit.head.json and run.json" in _intact(plain / "audit.jsonl")


def test_a_key_of_another_pki_signs_too(tmp_path: Path) -> None:
    """A deployment's own PKI may issue RSA keys: the RTI signs with those as well (ECDSA needs an EC key)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    from federation.security.audit import AuditLog, Signer, load_ca, verify_log

    def issue(key: rsa.RSAPrivateKey, subject: str, issuer: tuple[x509.Name, rsa.RSAPrivateKey] | None) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        now = dt.datetime.now(dt.timezone.utc)
        builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer[0] if issuer else name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1)))
        if issuer is None:
            builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        else:
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        return builder.sign(issuer[1] if issuer else key, hashes.SHA256())

    ca_key, rti_key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    ca = issue(ca_key, "ca", None)
    rti = issue(rti_key, "rti", (ca.subject, ca_key))
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    signer = Signer(rti_key, rti, ca)
    with AuditLog(tmp_path / "audit.jsonl", signer) as audit:
        audit.record("create", federation="f", site="coordinator")
    with AuditLog(tmp_path / "audit.jsonl", signer) as audit:  # continued: it vouches for its own CA's head
        audit.record("destroy", federation="f", site="coordinator")
    checked = verify_log(tmp_path / "audit.jsonl", ca=load_ca(tmp_path / "ca.pem"))
    assert checked.tail.seq == 2 and checked.signer == "the RTI" and checked.ca_checked
