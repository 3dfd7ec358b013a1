"""Runtimes: wire transports around the RTI core (embedded today; gRPC and Ray build on it)."""
