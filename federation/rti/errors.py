"""Typed RTI errors, named after their IEEE 1516 (HLA) counterparts."""

from __future__ import annotations

# The only import from outside the core: federation.errors is a dependency-free leaf (tests/test_layers.py).
from federation.errors import RunFailure


class RTIError(RunFailure):
    """Base of every error the RTI raises for an illegal call; state is unchanged. A run failure: a
    federate's call broke the HLA rules (or the policy), so its federation cannot go on as scripted."""


class FederationExecutionAlreadyExists(RTIError):
    pass


class FederationExecutionDoesNotExist(RTIError):
    pass


class FederatesCurrentlyJoined(RTIError):
    pass


class FederateNameAlreadyInUse(RTIError):
    pass


class FederateNotExecutionMember(RTIError):
    pass


class ObjectClassNotDefined(RTIError):
    pass


class AttributeNotDefined(RTIError):
    pass


class ObjectClassNotPublished(RTIError):
    pass


class AttributeNotPublished(RTIError):
    pass


class AttributeNotOwned(RTIError):
    pass


class InteractionClassNotDefined(RTIError):
    pass


class InteractionClassNotPublished(RTIError):
    pass


class InteractionParameterNotDefined(RTIError):
    pass


class ObjectInstanceNotKnown(RTIError):
    pass


class ObjectInstanceNameNotReserved(RTIError):
    """The name is not one the federate may register (see register_object_instance)."""


class ObjectInstanceNameInUse(RTIError):
    pass


class InvalidLogicalTime(RTIError):
    pass


class InvalidLookahead(RTIError):
    pass


class LogicalTimeAlreadyPassed(RTIError):
    pass


class TimeAdvanceAlreadyInProgress(RTIError):
    pass


class TimeRegulationAlreadyEnabled(RTIError):
    pass


class TimeConstrainedAlreadyEnabled(RTIError):
    pass


class SynchronizationPointLabelNotAnnounced(RTIError):
    pass


class SynchronizationPointLabelInUse(RTIError):
    pass


class PermissionDenied(RTIError):
    """The RTI's authorization policy refused a request; the message names the rule.

    Defined with the other service errors so a remote client gets it back typed.
    """
