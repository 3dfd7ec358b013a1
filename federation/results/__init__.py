"""Results: the recorder federate, CSV output and plots."""
