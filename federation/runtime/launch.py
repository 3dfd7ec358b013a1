"""What the coordinator asks of whoever starts a run's processes: the `Launcher` protocol, and the
typed `HostOptions` every host is started with.

Three launchers implement the protocol: `runtime.local.LocalLauncher` (an RTI and one `federation host`
process per site on this machine), `runtime.ray.RayLauncher` (the RTI in the driver, one Ray actor per
site) and `runtime.coordinator.RemoteSites` (the RTI serves elsewhere and each site starts its own host).
A host gets its options as one `HostOptions`: a JSON file (`federation host --options FILE`) or, on
Ray, the object itself. Override values travel as typed JSON values, never as text to be parsed again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, JsonValue

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
    listen: str = "127.0.0.1:0"  # where the host's Peer service listens (direct routing)
    advertise: str | None = None  # the address other hosts connect to (default: the one it bound)
    accepts: bool = True  # False: the site accepts no connection; its channels go through the RTI

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
