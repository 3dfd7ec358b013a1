"""The RTI as a gRPC service: sessions, federations, limits and the connection gate around the pure core."""
