"""The RTI as a network service: the gRPC servicer (service.py; admin.py: admin calls, watchdog, reaper), a
host's session (sessions.py), a federation's state on the server (federations.py, plain; wire.py encodes
its status), its limits (limits.py), checks on incoming messages (checks.py), serving (serving.py,
config.py), status reading (status.py) and the connection gate (gate.py, sockets.py) around the pure
core in federation/rti.

`start(ServerConfig(...))` serves it, for `federation rti serve` and the launchers alike;
`StatusReader` reads a running one's status, as `federation rti status` shows it.
"""

from __future__ import annotations

from federation.server.config import ServerConfig, ServerStartError, start, write_ready_file
from federation.server.federations import FederateStatus, FederationStatus
from federation.server.limits import Limits, with_limits
from federation.server.serving import ServerHandle
from federation.server.status import StatusReader, Unreachable

__all__ = [
    "FederateStatus",
    "FederationStatus",
    "Limits",
    "ServerConfig",
    "ServerHandle",
    "ServerStartError",
    "StatusReader",
    "Unreachable",
    "start",
    "with_limits",
    "write_ready_file",
]
