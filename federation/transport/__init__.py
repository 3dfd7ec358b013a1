"""How a federate reaches the RTI: the Transport protocol (protocol.py), its in-process implementation (the RTI
core's FederationExecution) and its network one (grpc.py), a host's outbox, and ahead-of-RTI grants."""
