"""A small declared federation for the routing plan's and the local RTI's tests (test_plan.py, test_channels.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from federation.rti import FOM, RTI
from federation.rti.execution import FederationExecution


@dataclass
class Small:
    """src and peer at site A, dst at B, lone at C.

    src  publishes Src.x, Src.y, Ping, Hit; subscribes Dst.x, Pong; regulating (lookahead 2), constrained
    dst  publishes Dst.x, Pong; subscribes Src.x and Src.z (which nobody publishes), Ping; lookahead 1, constrained
    peer subscribes Src.y, Ping; constrained, not regulating
    lone subscribes Src.z only (so receives nothing); lookahead 3, not constrained
    Objects: src.o (class Src) owned by src, dst.o (class Dst) owned by dst.
    Handles: Dst 0, Src 1 (attributes x 0, y 1, z 2); Hit 0, Ping 1, Pong 2 (classes sorted by name).
    """

    fx: FederationExecution
    src: int
    dst: int
    peer: int
    lone: int
    src_o: int
    dst_o: int

    @property
    def sites(self) -> dict[int, str]:
        return {self.src: "A", self.peer: "A", self.dst: "B", self.lone: "C"}


@pytest.fixture
def small() -> Small:
    fx = RTI().create_federation_execution("small", FOM({"Src": ["x", "y", "z"], "Dst": ["x"]},
                                                        {"Ping": ["n"], "Pong": ["n"], "Hit": ["n"]}))
    src, dst, peer, lone = (fx.join(n) for n in ("src", "dst", "peer", "lone"))
    fx.publish_object_class_attributes(src, "Src", ["x", "y"])
    fx.subscribe_object_class_attributes(src, "Dst", ["x"])
    fx.publish_interaction_class(src, "Ping")
    fx.publish_interaction_class(src, "Hit")
    fx.subscribe_interaction_class(src, "Pong")
    fx.publish_object_class_attributes(dst, "Dst", ["x"])
    fx.subscribe_object_class_attributes(dst, "Src", ["x", "z"])
    fx.publish_interaction_class(dst, "Pong")
    fx.subscribe_interaction_class(dst, "Ping")
    fx.subscribe_object_class_attributes(peer, "Src", ["y"])
    fx.subscribe_interaction_class(peer, "Ping")
    fx.subscribe_object_class_attributes(lone, "Src", ["z"])
    src_o = fx.register_object_instance(src, "Src", "src.o")
    dst_o = fx.register_object_instance(dst, "Dst", "dst.o")
    fx.enable_time_regulation(src, 2)
    fx.enable_time_constrained(src)
    fx.enable_time_regulation(dst, 1)
    fx.enable_time_constrained(dst)
    fx.enable_time_constrained(peer)
    fx.enable_time_regulation(lone, 3)
    for h in (src, dst, peer, lone):
        fx.drain(h)
    return Small(fx, src, dst, peer, lone, src_o, dst_o)
