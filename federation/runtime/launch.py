"""What the coordinator asks of whoever starts a run's processes: the `Launcher` protocol, and the
typed `HostOptions` every host is started with.

Three launchers implement the protocol: `runtime.local.LocalLauncher` (an RTI and one `federation host`
process per site on this machine), `runtime.ray.RayLauncher` (the RTI in the driver, one Ray actor per
site) and `runtime.coordinator.RemoteSites` (the RTI serves elsewhere and each site starts its own host).
A host gets its options as one `HostOptions`: a JSON file (`federation host --options FILE`) or, on
Ray, the object itself. Override values travel as typed JSON values, never as text to be parsed again.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, JsonValue, field_validator, model_validator

from federation.clip import short_repr

from federation.errors import CarriesFields, FederationFailed, RunFailure
from federation.runtime.record import RunResult
from federation.scenario import Scenario


class HostExited(CarriesFields, RunFailure, RuntimeError):
    """A site's host ended before the run did; `killed`: by a signal (a crash, a kill)."""

    def __init__(self, message: str, site: str = "", killed: bool = False) -> None:
        super().__init__(message)
        self.site, self.killed = site, killed


class HostOptions(BaseModel):
    """Everything a site's host needs to run: built by a launcher, or by `federation host SCENARIO --site ...`."""

    # inf and nan are valid override values: JSON's constants keep them floats (pydantic's default writes null).
    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")

    scenario: Path
    site: str
    rti: str
    overrides: dict[str, JsonValue] = {}
    tls: Path | None = None  # certificate directory holding sites/<site>.pem/.key and ca.pem: mutual TLS
    wait: float = 30.0  # s to wait for the RTI and the federation
    traceparent: str | None = None  # W3C trace context of the run that launched this host
    telemetry_dir: Path | None = None
    # Direct routing: where this host's Peer service listens (port 0: any free one), the HOST:PORT other
    # sites' hosts dial (default: the address as bound; a proxy's, a NAT's public one), and whether this
    # site accepts connections at all (False: `--no-listen`, a relay site; its channels go through the RTI).
    listen: str = "127.0.0.1:0"
    advertise: str | None = None
    accepts: bool = True
    # A launcher starting the RTI and the hosts at once: the RTI's ready file, where the host reads its address
    # (`rti` then says nothing) once it listens; the host waits `wait` s for it.
    rti_ready_file: Path | None = None

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        return checked_address(value, "listen", dialled=False)

    @field_validator("advertise")
    @classmethod
    def _advertise(cls, value: str | None) -> str | None:
        return None if value is None else checked_address(value, "advertise", dialled=True)

    @model_validator(mode="after")
    def _reachable(self) -> HostOptions:
        if not self.accepts and self.advertise is not None:
            raise ValueError(f"advertise {self.advertise} is for a host that accepts connections; this one accepts "
                             "none (no-listen: its channels go through the RTI)")
        if self.accepts and self.advertise is None and is_wildcard(self.listen.rpartition(":")[0]):
            raise ValueError(f"listen {self.listen} is every interface, which no other host can dial: give advertise "
                             "HOST:PORT, the address other sites' hosts reach this one at")
        return self

    @classmethod
    def of(cls, scenario: Scenario, site: str, rti: str, **fields: object) -> HostOptions:
        """The options of `site`'s host for `scenario`, with its overrides, so every host runs the same scenario."""
        return cls.model_validate({"scenario": scenario.path, "site": site, "rti": rti,
                                   "overrides": scenario.overrides, **fields})

    def write(self, path: Path) -> Path:
        """Write the options as JSON to `path` (its folder created); returns the path."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=2) + "\n")
        return path

    @classmethod
    def read(cls, path: Path) -> HostOptions:
        """Options written by `write`; ValueError naming the file when it is not readable as such."""
        try:
            return cls.model_validate_json(path.read_bytes())
        except OSError as exc:
            raise ValueError(f"cannot read host options {path}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise ValueError(f"host options {path} are invalid: {exc}") from None


def host_accepts(routing: str, relay_sites: Collection[str], site: str) -> bool:
    """Whether a launcher starts `site`'s host accepting connections: with direct routing, unless it is a
    relay site (with relay routing no host is dialled, so none opens a port)."""
    return routing == "direct" and site not in relay_sites


def is_wildcard(host: str) -> bool:
    """Whether a listen host means every interface ('', 0.0.0.0, ::), which is no address to dial."""
    return host.strip("[]") in ("", "0.0.0.0", "::")


def checked_address(value: str, what: str, dialled: bool) -> str:
    """`value` when it is HOST:PORT (a port from 0 to 65535 to listen on, from 1 to dial, a host that is not
    every interface to dial); ValueError naming `what` otherwise."""
    host, sep, port = value.rpartition(":")
    lowest = 1 if dialled else 0
    if not sep or not host or not port.isdigit() or not lowest <= int(port) <= 65535:
        raise ValueError(f"{what} expects HOST:PORT with a port from {lowest} to 65535"
                         f"{'' if dialled else ' (0: any free one)'}, got {short_repr(value)}")
    if dialled and is_wildcard(host):
        raise ValueError(f"{what} {value} is every interface, which no other host can dial: give the address "
                         "other sites' hosts reach this one at")
    return value


class Launcher(Protocol):
    """Starts, watches and stops a run's RTI and sites' hosts, as the `Coordinator` asks."""

    def start_rti(self) -> str:
        """Start the RTI (or find the one serving); returns its HOST:PORT."""

    def start_hosts(self, target: str) -> None:
        """Launch the sites' hosts, once the federation exists at `target`."""

    def check(self) -> None:
        """Raise (HostExited) when a host has ended with an error."""

    def finish(self) -> None:
        """After the recorder reached the stop time: wait for the hosts to end; raise if one failed."""

    def explain(self, failure: FederationFailed) -> FederationFailed:
        """The federation's verdict with what the hosts said about it (the verdict itself when they add nothing)."""

    def stop(self, result: RunResult) -> None:
        """Tear down whatever was started (however the run ended) and record what the launcher knows in `result`."""
