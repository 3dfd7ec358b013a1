"""How a federate reaches the RTI: the Transport protocol's network side (gRPC), its outbox, and ahead-of-RTI grants."""
