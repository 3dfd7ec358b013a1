"""Certificates, policy files, the audit chain and site-side tunables, without a network."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509

from federation.names import RECORDER
from federation.scenario import Scenario, ScenarioError, ScenarioSpec, load_scenario
from federation.security.audit import AuditError, AuditLog, verify
from federation.security.certs import SITE_URN, CertDir, CertificateError, SiteCredentials, init_ca, issue_site
from federation.security.policy import PermissionDenied, Policy, PolicyError, from_scenario, load_policy
from federation.security.tunable import ParameterNotTunable, check_tunable

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIP = ROOT / "examples" / "grid_furnace_vehicle" / "scenario.yaml"
CLI = [sys.executable, "-m", "federation.cli"]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=ROOT)


# ----------------------------------------------------------------------------------------------- certificates
def test_certs_init_and_issue_through_the_cli(tmp_path: Path) -> None:
    d = tmp_path / "certs"
    out = cli("certs", "init", str(d), "--federation", "gfv", "--sites", "utility,furnace_maker,carmaker",
              "--hosts", "rti.example.org,10.0.0.7")
    assert out.returncode == 0, out.stderr
    files = CertDir(d)
    for site in ("utility", "furnace_maker", "carmaker", "coordinator"):
        cert = x509.load_pem_x509_certificate(files.site_cert(site).read_bytes())
        assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == site
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.UniformResourceIdentifier) == [SITE_URN + site]
        assert files.site_key(site).stat().st_mode & 0o777 == 0o600
    for key in (files.ca_key, files.rti_key):
        assert key.stat().st_mode & 0o777 == 0o600
    rti = x509.load_pem_x509_certificate(files.rti_cert.read_bytes())
    san = rti.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "rti.example.org"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "10.0.0.7"]

    out = cli("certs", "issue", str(d), "--site", "newcomer")
    assert out.returncode == 0, out.stderr
    assert SiteCredentials.load(d, "newcomer").site == "newcomer"
    out = cli("certs", "init", str(d), "--federation", "gfv", "--sites", "x")
    assert out.returncode == 2 and f"{d} is not empty" in " ".join(out.stderr.split()), out.stderr


def test_site_credentials_must_name_the_site(tmp_path: Path) -> None:
    d = init_ca(tmp_path / "c", "f", ["a", "b"])
    (d.root / "sites" / "b.pem").write_bytes(d.site_cert("a").read_bytes())
    with pytest.raises(CertificateError, match="certificate of site 'a', not of 'b'"):
        SiteCredentials.load(d.root, "b")
    with pytest.raises(CertificateError, match="cannot read"):
        SiteCredentials.load(d.root, "nobody")
    with pytest.raises(CertificateError, match="site name"):
        issue_site(d.root, "../escape")


def test_host_refuses_a_certificate_of_another_site(tmp_path: Path) -> None:
    d = init_ca(tmp_path / "c", "f", ["utility", "carmaker"])
    (d.root / "sites" / "utility.pem").write_bytes(d.site_cert("carmaker").read_bytes())
    out = cli("host", str(FLAGSHIP), "--site", "utility", "--rti", "127.0.0.1:1", "--tls", str(d.root))
    assert out.returncode == 2 and "certificate of site 'carmaker', not of 'utility'" in out.stderr


# ---------------------------------------------------------------------------------------------------- policy
def test_policy_file_errors_name_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text("admin: operator\nfederations:\n  f:\n    join: {a: [x]}\n    subscirbe: {}\n")
    with pytest.raises(PolicyError) as info:
        load_policy(bad)
    text = str(info.value)
    assert f"{bad}: admin: " in text and f"{bad}: federations.f.subscirbe: unknown key" in text
    bad.write_text("admin: [a\n")
    with pytest.raises(PolicyError, match="YAML syntax error"):
        load_policy(bad)
    with pytest.raises(PolicyError, match=r"\(file\): cannot read policy file: "):  # not "scenario file"
        load_policy(tmp_path)


def test_the_empty_policy_denies_everything() -> None:
    p = Policy()
    decisions = [p.may_create("coordinator", "f"), p.may_admin("coordinator", "f"), p.may_join("a", "f", "x"),
                 p.may_publish("f", "x", "x", ["y"]), p.may_subscribe("f", "x", "y", ["z"]),
                 p.may_publish_interaction("f", "x", "I"), p.may_subscribe_interaction("f", "x", "I")]
    assert not any(d.allowed for d in decisions)
    with pytest.raises(PermissionDenied, match=r"denied by policy rule federations\.f\.join\.a: "
                                               r"site 'a' may join as \[\], not as 'x'"):
        p.may_join("a", "f", "x").check()


def test_default_policy_follows_the_scenario() -> None:
    sc = load_scenario(FLAGSHIP)
    p = from_scenario(sc, "coordinator", RECORDER)
    f = sc.federation
    assert p.may_join("utility", f, "grid").allowed and not p.may_join("utility", f, "furnace").allowed
    assert p.may_join("coordinator", f, RECORDER).allowed and not p.may_join("coordinator", f, "grid").allowed
    assert p.may_subscribe(f, "furnace", "grid", ["f"]).allowed
    denied = p.may_subscribe(f, "furnace", "grid", ["f", "v_pcc"])
    assert not denied.allowed and denied.rule == f"federations.{f}.subscribe.furnace.grid" and "v_pcc" in denied.reason
    assert not p.may_subscribe(f, "vehicle", "furnace", ["P_el"]).allowed  # no such connection
    assert p.may_subscribe(f, RECORDER, "vehicle", ["soc_mean"]).allowed
    assert p.may_publish(f, "grid", "grid", ["f", "v_pcc"]).allowed
    assert not p.may_publish(f, "grid", "furnace", ["P_el"]).allowed  # no one publishes another's class
    assert p.may_publish_interaction(f, "ems", "DemandResponse").allowed
    assert not p.may_publish_interaction(f, "grid", "DemandResponse").allowed
    assert p.may_subscribe_interaction(f, "furnace", "DemandResponse").allowed
    assert not p.may_subscribe_interaction(f, "vehicle", "DemandResponse").allowed
    assert p.may_create("coordinator", f).allowed and not p.may_create("utility", f).allowed
    assert not p.may_admin("utility", f).allowed
    assert Policy.model_validate(__import__("yaml").safe_load(p.to_yaml())) == p


# ----------------------------------------------------------------------------------------------------- audit
def _chain(path: Path, n: int = 5) -> list[str]:
    with AuditLog(path) as log:
        for i in range(n):
            log.record("join", federation="f", site=f"s{i}", federate=f"x{i}")
    return path.read_text().splitlines()


def test_audit_chain_detects_edits_removals_and_reordering(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    lines = _chain(path)
    first = json.loads(lines[0])
    assert first["prev"] == "0" * 64 and first["seq"] == 0 and "ts" in first
    assert json.loads(lines[1])["prev"] == first["hash"]
    assert verify(path).seq == 5
    out = cli("audit", "verify", str(path))
    assert out.returncode == 0 and out.stdout.splitlines()[0] == f"{path}: OK (5 entries)", out.stderr

    edited = [*lines]
    edited[2] = edited[2].replace('"s2"', '"s9"')
    cases = {"edited": (edited, 3, "was edited"), "removed": (lines[:2] + lines[3:], 3, "removed"),
             "reordered": ([lines[0], lines[2], lines[1], *lines[3:]], 2, "reordered"),
             "truncated head": (lines[1:], 1, "expected 0")}
    for name, (content, line, words) in cases.items():
        bad = tmp_path / f"{name}.jsonl"
        bad.write_text("\n".join(content) + "\n")
        with pytest.raises(AuditError) as info:
            verify(bad)
        assert info.value.line == line and words in str(info.value), (name, info.value)
        out = cli("audit", "verify", str(bad))
        assert out.returncode == 1 and f"line {line}" in out.stderr, (name, out.stderr)


def test_audit_continues_a_chain_across_writers_and_never_takes_values(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _chain(path, 2)
    a, b = AuditLog(path), AuditLog(path)  # two processes' worth of writers on one file
    a.record("x")
    b.record("y")
    a.record("z")
    a.close()
    b.close()
    assert verify(path).seq == 5
    with AuditLog(path) as log, pytest.raises(ValueError, match="never carry values"):
        log.record("update", values=[1.0])
    path.write_text(path.read_text().replace('"x"', '"X"'))
    with pytest.raises(AuditError):
        AuditLog(path)  # a broken chain is never continued


def test_audit_clips_a_huge_name_and_continues_after_a_line_longer_than_its_read_chunk(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from federation.security.audit import entries

    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as log:
        log.record("denied", federation="x" * 70_000)  # a hostile client's name
    entry = json.loads(path.read_text())
    assert len(entry["federation"]) < 400 and entry["federation"].endswith("(70000 characters)")
    monkeypatch.setattr(entries, "MAX_FIELD", 10**6)  # a line longer than the 64 KiB first read
    with AuditLog(path) as log:
        log.record("denied", federation="y" * 300_000)
        log.record("create", federation="f")
    assert verify(path).seq == 3


# -------------------------------------------------------------------------------------------------- tunables
def _flagship_copy(tmp_path: Path, furnace_tunable: str, name: str = "scenario") -> Path:
    import yaml

    data = yaml.safe_load(FLAGSHIP.read_text().replace("../../fmus", str(ROOT / "fmus")))
    data["federates"]["furnace"]["tunable"] = yaml.safe_load(furnace_tunable)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    (tmp_path / "ems.py").write_bytes((FLAGSHIP.parent / "ems.py").read_bytes())  # `python: ems:...`, beside it
    return path


def _unchecked(path: Path, overrides: dict[str, object] | None = None) -> Scenario:
    """The scenario as a host holds it, without load_scenario's checks (which report untunable values first)."""
    import yaml

    data = yaml.safe_load(path.read_text())
    for key, value in (overrides or {}).items():
        federate, _, parameter = key.partition(".")
        data["federates"][federate].setdefault("parameters", {})[parameter] = value
    return Scenario(ScenarioSpec.model_validate(data), path, file_sha256="")


def test_owner_host_refuses_parameters_not_tunable(tmp_path: Path) -> None:
    path = _flagship_copy(tmp_path, "[T_set]")
    check_tunable(load_scenario(path), "furnace_maker")  # T_set is tunable
    sc = _unchecked(path, {"furnace.eta": 0.5})
    check_tunable(sc, "utility")  # not the furnace maker's business... nor the utility's
    with pytest.raises(ParameterNotTunable, match=r"does not let the federation set furnace\.eta"):
        check_tunable(sc, "furnace_maker")
    with pytest.raises(ParameterNotTunable, match=r"furnace\.T_set"):
        check_tunable(_unchecked(_flagship_copy(tmp_path, "[]", "closed")), "furnace_maker")
    with pytest.raises(ParameterNotTunable, match=r"furnace\.T_set"):  # `tunable:`, its items commented out
        check_tunable(_unchecked(_flagship_copy(tmp_path, "null", "emptied")), "furnace_maker")
    with pytest.raises(ScenarioError, match=r"federates\.furnace\.tunable\[1\]: 'pi_integrator' is not a parameter"):
        load_scenario(_flagship_copy(tmp_path, "[T_set, pi_integrator]", "bad"))
    # validate, and so the host, names the file, the key and the override before anything connects.
    with pytest.raises(ScenarioError, match=r"federates\.furnace\.parameters\.eta: 'eta' is not in "
                                            r"federates\.furnace\.tunable \(T_set\)"):
        load_scenario(path, {"furnace.eta": 0.5})
    out = cli("host", str(path), "--site", "furnace_maker", "--rti", "127.0.0.1:1", "--set", "furnace.eta=0.5",
              "--wait", "1")
    said = " ".join(out.stderr.split())
    assert out.returncode == 2 and "federates.furnace.parameters.eta" in said and "tunable" in said, said


def test_a_denial_reaches_a_remote_client_as_permission_denied() -> None:
    from federation.protocol import pb
    from federation.protocol.codec import error_from_pb

    err = error_from_pb(pb.Error(type="PermissionDenied", message="denied by policy rule federations.f.join.a"))
    assert type(err) is PermissionDenied and "federations.f.join.a" in str(err)


@pytest.mark.parametrize("federation, sites, words", [("f", ["s" * 65], "65 characters long"),
                                                        ("", ["a"], "federation name"),
                                                        ("f" * 65, ["a"], "65 characters long"),
                                                        ("f" * 51, ["a b"], "site name 'a b' must be 1 to 64 letters")])
def test_certs_init_names_a_name_x509_cannot_hold_and_writes_nothing(tmp_path: Path, federation: str,
                                                                    sites: list[str], words: str) -> None:
    with pytest.raises(CertificateError, match=words):  # a traceback and a half-written folder before
        init_ca(tmp_path / "certs", federation, sites)
    assert not (tmp_path / "certs").exists() or not list((tmp_path / "certs").iterdir())


def test_a_host_for_a_site_owning_nothing_fails_before_connecting_naming_the_owners(tmp_path: Path) -> None:
    started = time.monotonic()
    out = cli("host", str(FLAGSHIP), "--site", "nobody", "--rti", "127.0.0.1:1", "--wait", "30")
    assert out.returncode == 2 and time.monotonic() - started < 20, out.stderr  # not after the 30 s of retries
    said = " ".join(out.stderr.split())
    assert "no federate owned by site 'nobody'; its sites are carmaker, furnace_maker, operator, utility" in said
