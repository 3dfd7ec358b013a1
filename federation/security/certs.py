"""A federation's certificate authority: CA, RTI server certificate and one client certificate per site."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from federation.clip import few
from federation.errors import ConfigurationError
from federation.names import COORDINATOR_SITE, name_problem

log = logging.getLogger(__name__)

SITE_URN = "urn:federation:site:"
DEFAULT_HOSTS = ("localhost", "127.0.0.1")
_VALIDITY = dt.timedelta(days=365)


class CertificateError(ConfigurationError):
    """A certificate directory is missing a file, or a certificate does not say what it must."""


@dataclass(frozen=True)
class CertDir:
    """The files of one federation's certificate directory."""

    root: Path

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca.key"

    @property
    def rti_cert(self) -> Path:
        return self.root / "rti.pem"

    @property
    def rti_key(self) -> Path:
        return self.root / "rti.key"

    def site_cert(self, site: str) -> Path:
        return self.root / "sites" / f"{site}.pem"

    def site_key(self, site: str) -> Path:
        return self.root / "sites" / f"{site}.key"

    def read(self, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise CertificateError(f"{path}: cannot read ({exc.strerror or exc})") from None


@dataclass(frozen=True)
class SiteCredentials:
    """What a site's client needs: the CA to trust and its own certificate and key (PEM bytes)."""

    site: str
    ca: bytes
    cert: bytes
    key: bytes

    @classmethod
    def load(cls, directory: Path | str, site: str) -> SiteCredentials:
        """Load `site`'s credentials; the certificate must name that site (CertificateError otherwise)."""
        d = CertDir(Path(directory))
        cert = d.read(d.site_cert(site))
        named = site_of_pem(cert)
        if named != site:
            raise CertificateError(f"{d.site_cert(site)} is the certificate of site {named!r}, not of {site!r}")
        return cls(site, d.read(d.ca_cert), cert, d.read(d.site_key(site)))


# -------------------------------------------------------------------------------------------------- issuing

def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _new_folder(path: Path) -> None:
    """Create the folder of a new CA, or take an empty one; CertificateError naming it otherwise."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        try:
            path.mkdir(parents=True)
        except OSError as exc:
            raise CertificateError(f"cannot create {path}: {_why(exc)}") from None
        return
    except OSError as exc:
        raise CertificateError(f"{path}: {_why(exc)}") from None
    if stat.S_ISLNK(info.st_mode):
        raise CertificateError(f"{path} is a symbolic link, which is never followed: name the folder itself")
    if not stat.S_ISDIR(info.st_mode):
        raise CertificateError(f"{path} exists and is not a folder")
    try:
        entries = sorted(os.listdir(path))
    except OSError as exc:
        raise CertificateError(f"{path}: {_why(exc)}") from None
    if entries:
        raise CertificateError(f"{path} is not empty ({few(entries)}): certs init writes a new certificate authority "
                               "only into an empty or new folder, and never overwrites a file")


def _open_folder(path: Path, parent: int | None = None, create: bool = False) -> int:
    """A descriptor of the folder `path` (a name in `parent`'s folder when given), never through a symbolic link;
    made first when `create` and missing."""
    where = path.name if parent is not None else path
    if create:
        try:
            os.mkdir(where, 0o755, dir_fd=parent)
        except FileExistsError:
            pass  # opened below when it is a folder, not a link
        except OSError as exc:
            raise CertificateError(f"cannot create {path}: {_why(exc)}") from None
    try:
        if stat.S_ISLNK(os.lstat(where, dir_fd=parent).st_mode):
            hint = ": name the folder itself" if parent is None else ""
            raise CertificateError(f"{path} is a symbolic link, which is never followed{hint}")
        return os.open(where, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent)
    except OSError as exc:
        raise CertificateError(f"{path}: {_why(exc)}") from None


def _write(folder: int, path: Path, data: bytes, private: bool) -> None:
    """Create the file `path` (its name in the open `folder`): never over a file, never through a symbolic link."""
    try:
        fd = os.open(path.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600 if private else 0o644,
                     dir_fd=folder)
    except FileExistsError:
        raise CertificateError(f"{path} already exists: a certificate or key is never overwritten") from None
    except OSError as exc:
        raise CertificateError(f"cannot write {path}: {_why(exc)}") from None
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _name(federation: str, common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, federation),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _check_site(site: str) -> None:
    problem = name_problem("site name", site)
    if problem is not None:
        raise CertificateError(problem)


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _issue(ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, subject: x509.Name,
           names: list[x509.GeneralName], usage: x509.ObjectIdentifier, not_before: dt.datetime,
           not_after: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)  # tolerate small clock skew


def init_ca(directory: Path | str, federation: str, sites: Iterable[str],
            hosts: Iterable[str] = ()) -> CertDir:
    """Create the CA, the RTI server certificate (localhost, 127.0.0.1 and `hosts`) and one certificate per site,
    in a new or empty folder (CertificateError naming what it holds otherwise): no file is ever overwritten and
    no symbolic link followed."""
    d = CertDir(Path(directory))
    sites = list(dict.fromkeys(sites))
    for site in sites:
        _check_site(site)
    problem = name_problem("federation name", federation)  # it names the CA's organization
    if problem is not None:
        raise CertificateError(problem)
    key = _key()
    # The organization names the federation; a common name holds at most 64 characters, as the name may.
    subject = _name(federation, "federation CA")
    start = _now()
    ca = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(start + _VALIDITY)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(key, hashes.SHA256()))
    names = [_san(h) for h in dict.fromkeys([*DEFAULT_HOSTS, *hosts])]
    rti, rti_key = _issue(ca, key, _name(federation, "rti"), names, ExtendedKeyUsageOID.SERVER_AUTH,
                          start, start + _VALIDITY)
    _new_folder(d.root)
    root = _open_folder(d.root)
    try:
        _write(root, d.ca_key, _key_pem(key), private=True)
        _write(root, d.ca_cert, _cert_pem(ca), private=False)
        _write(root, d.rti_key, _key_pem(rti_key), private=True)
        _write(root, d.rti_cert, _cert_pem(rti), private=False)
        folder = _open_folder(d.root / "sites", root, create=True)
        try:
            for site in sites:
                _write_site(folder, d, ca, key, site, start, start + _VALIDITY)
        finally:
            os.close(folder)
    finally:
        os.close(root)
    log.info("created federation CA for %s in %s (sites: %s)", federation, d.root, ", ".join(sites))
    return d


def issue_site(directory: Path | str, site: str, valid_for: dt.timedelta = _VALIDITY,
               not_before: dt.datetime | None = None) -> Path:
    """Issue `site`'s client certificate, signed by the directory's CA; returns its path. A site that has one
    (or a key) is refused, naming the files: delete them first to issue another."""
    _check_site(site)
    d = CertDir(Path(directory))
    root = _open_folder(d.root)
    try:
        ca = x509.load_pem_x509_certificate(d.read(d.ca_cert))
        ca_key = serialization.load_pem_private_key(d.read(d.ca_key), None)
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
            raise CertificateError(f"{d.ca_key} is not an EC private key")
        folder = _open_folder(d.root / "sites", root, create=True)
        try:
            there = [str(p) for p in (d.site_key(site), d.site_cert(site)) if _exists(folder, p)]
            if there:
                raise CertificateError(f"{' and '.join(there)} already exist{'s' * (len(there) == 1)}: delete "
                                       f"{'them' if len(there) > 1 else 'it'} first to issue a new certificate for "
                                       f"site {site!r} (a certificate or key is never overwritten)")
            start = not_before or _now()
            _write_site(folder, d, ca, ca_key, site, start, start + valid_for)
        finally:
            os.close(folder)
    finally:
        os.close(root)
    return d.site_cert(site)


def _exists(folder: int, path: Path) -> bool:
    """Whether the name of `path` is taken in the open `folder` (by anything, a dangling symbolic link too)."""
    try:
        os.lstat(path.name, dir_fd=folder)
        return True
    except FileNotFoundError:
        return False


def _write_site(folder: int, d: CertDir, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, site: str,
                not_before: dt.datetime, not_after: dt.datetime) -> None:
    """`site`'s key and certificate, created in the open sites/ `folder`; neither is left without the other."""
    federation = ca.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
    cert, key = _issue(ca, ca_key, _name(str(federation), site), [x509.UniformResourceIdentifier(SITE_URN + site)],
                       ExtendedKeyUsageOID.CLIENT_AUTH, not_before, not_after)
    _write(folder, d.site_key(site), _key_pem(key), private=True)
    try:
        _write(folder, d.site_cert(site), _cert_pem(cert), private=False)
    except CertificateError:
        os.unlink(d.site_key(site).name, dir_fd=folder)  # the key this call created a moment ago
        raise


# ------------------------------------------------------------------------------------------------ identity

def site_of_cert(cert: x509.Certificate) -> str | None:
    """The site a client certificate names: its `urn:federation:site:` URI, else its common name."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        for uri in san.get_values_for_type(x509.UniformResourceIdentifier):
            if uri.startswith(SITE_URN):
                return uri[len(SITE_URN):]
    except x509.ExtensionNotFound:
        pass
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cns[0].value) if cns else None


def site_of_pem(pem: bytes) -> str | None:
    try:
        return site_of_cert(x509.load_pem_x509_certificate(pem))
    except ValueError as exc:
        raise CertificateError(f"not a PEM certificate: {exc}") from None


# ------------------------------------------------------------------------------------------------- throw-away

THROWAWAY_PREFIX = "federation-certs-"  # in the temporary folder ($TMPDIR): what `remove_stale_throwaways` looks at
OWNER_FILE = "owner.json"  # in a throw-away folder: the process that made it (pid and start time)


@dataclass
class Leftovers:
    """Throw-away certificate folders found in the temporary folder, by what became of them."""

    removed: list[Path]  # their run is gone (killed before it could delete them): deleted
    live: list[tuple[Path, int]]  # their run (pid) is still running: kept
    unknown: list[Path]  # no owner record of ours (an older version's, another user's, a link): kept


@contextmanager
def throwaway(federation: str, sites: Iterable[str], hosts: Iterable[str] = ()) -> Iterator[CertDir]:
    """A fresh CA and certificates in a private temporary directory, deleted afterwards.

    The directory records its owner, so that when this process is killed before it can delete it (SIGKILL),
    the next one (or `federation clean`) does: see remove_stale_throwaways, called here first."""
    import psutil

    remove_stale_throwaways()
    root = Path(tempfile.mkdtemp(prefix=THROWAWAY_PREFIX))
    try:
        me = psutil.Process()
        folder = _open_folder(root)
        try:
            _write(folder, root / OWNER_FILE, json.dumps({"tool": "federation", "pid": me.pid,
                                                          "started": me.create_time()}).encode(), private=True)
        finally:
            os.close(folder)
        yield init_ca(root / "certs", federation, sites, hosts)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def remove_stale_throwaways(folder: Path | str | None = None) -> Leftovers:
    """Delete the throw-away certificate folders (in `folder`, default the temporary folder) whose run is gone.

    Only a folder of this user, not a symbolic link, named THROWAWAY_PREFIX..., holding our owner record whose
    process (pid, with its start time: a pid is reused) no longer runs; never a live run's, never anything else."""
    base = Path(folder or tempfile.gettempdir())
    found = Leftovers([], [], [])
    try:
        names = sorted(n for n in os.listdir(base) if n.startswith(THROWAWAY_PREFIX))
    except OSError as exc:
        log.warning("cannot look for throw-away certificates in %s: %s", base, _why(exc))
        return found
    for name in names:
        path = base / name
        owner = _owner(path)
        if owner is None:
            found.unknown.append(path)
        elif _running(*owner):
            found.live.append((path, owner[0]))
        else:
            try:  # deletes links, never what they point to (shutil.rmtree.avoids_symlink_attacks)
                shutil.rmtree(path, onerror=_unless_gone)
            except OSError as exc:
                log.warning("cannot delete the throw-away certificates in %s: %s", path, _why(exc))
                continue
            log.info("deleted %s: throw-away certificates of a run (pid %d) that ended without deleting them",
                     path, owner[0])
            found.removed.append(path)
    return found


def _unless_gone(function: object, path: str, exc_info: tuple[type[BaseException], BaseException, object]) -> None:
    """rmtree's error handler: what another cleaner deleted first is no error."""
    if not isinstance(exc_info[1], FileNotFoundError):
        raise exc_info[1]


def _owner(path: Path) -> tuple[int, float] | None:
    """(pid, start time) of the process that made the throw-away folder `path`; None when it is not one of ours."""
    try:
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            return None  # a link, a file, another user's
        folder = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            fd = os.open(OWNER_FILE, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=folder)
        finally:
            os.close(folder)
        with os.fdopen(fd, "rb") as fh:
            record = json.loads(fh.read(4096))
    except (OSError, ValueError):
        return None
    if not (isinstance(record, dict) and record.get("tool") == "federation"):
        return None
    pid, started = record.get("pid"), record.get("started")
    if not (isinstance(pid, int) and isinstance(started, (int, float))):
        return None
    return pid, float(started)


def _running(pid: int, started: float) -> bool:
    """Whether the process `pid` that started at `started` still runs (not a later one with its pid, not a zombie)."""
    import psutil

    try:
        process = psutil.Process(pid)
        return abs(process.create_time() - started) < 0.01 and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # not ours to inspect: take it as running, and keep its folder
        return True
