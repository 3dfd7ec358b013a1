"""OpenTelemetry wiring: spans and metrics to files by default, to OTLP when configured.

Trace context crosses processes as W3C `traceparent`: in gRPC metadata between hosts
and the RTI, and in the FEDERATION_TRACEPARENT environment variable from `federation
run` to the processes it launches.
"""

from __future__ import annotations

import atexit
import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

from opentelemetry import context as otel_context, metrics, propagate, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

log = logging.getLogger(__name__)

ENV_PARENT = "FEDERATION_TRACEPARENT"
ENV_DIR = "FEDERATION_TELEMETRY_DIR"
ROUND_SAMPLE = 100  # one time-advance round span in this many
LATENCY_SAMPLE = 10  # one grant latency in this many goes into the histogram (the hot path is shared)

_configured = False


def setup(service: str, directory: Path | None = None) -> None:
    """Install tracer and meter providers once per process.

    With OTEL_EXPORTER_OTLP_ENDPOINT set, export over OTLP; otherwise write JSON lines
    to `directory` (or $FEDERATION_TELEMETRY_DIR); with neither, export nothing.
    """
    global _configured
    if _configured:
        return
    _configured = True
    directory = directory or (Path(os.environ[ENV_DIR]) if os.environ.get(ENV_DIR) else None)
    resource = Resource.create({"service.name": service})
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        span_exporter: Any = OTLPSpanExporter()
        metric_exporter: Any = OTLPMetricExporter()
    elif directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        spans = open(directory / f"{service}-spans.jsonl", "w")
        metrics_out = open(directory / f"{service}-metrics.jsonl", "w")
        span_exporter = ConsoleSpanExporter(out=spans, formatter=lambda s: s.to_json(indent=None) + "\n")
        metric_exporter = ConsoleMetricExporter(out=metrics_out, formatter=lambda m: m.to_json(indent=None) + "\n")
    else:
        return
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter))
    trace.set_tracer_provider(tracer_provider)
    reader = PeriodicExportingMetricReader(metric_exporter, export_interval_millis=5000)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    metrics.set_meter_provider(meter_provider)
    atexit.register(shutdown)


def shutdown() -> None:
    for provider in (trace.get_tracer_provider(), metrics.get_meter_provider()):
        stop = getattr(provider, "shutdown", None)
        if callable(stop):
            try:
                stop()
            except Exception:  # exporting must never break a run's exit
                log.debug("telemetry shutdown failed", exc_info=True)


def tracer() -> trace.Tracer:
    return trace.get_tracer("federation")


def meter() -> metrics.Meter:
    return metrics.get_meter("federation")


def carrier() -> dict[str, str]:
    """The current trace context as W3C headers."""
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers


def grpc_metadata() -> tuple[tuple[str, str], ...]:
    """Trace context for an outgoing call: from the current span, else inherited from the launcher."""
    headers = carrier()
    if not headers and os.environ.get(ENV_PARENT):
        headers = {"traceparent": os.environ[ENV_PARENT]}
    return tuple(headers.items())


def context_from(metadata: Mapping[str, str] | Any) -> otel_context.Context:
    """Rebuild a remote parent context from gRPC invocation metadata."""
    headers = {k: v for k, v in (metadata or ()) if isinstance(v, str)} if not isinstance(metadata, Mapping) else dict(metadata)
    return propagate.extract(headers)


def inherited_context() -> otel_context.Context | None:
    parent = os.environ.get(ENV_PARENT)
    return propagate.extract({"traceparent": parent}) if parent else None


@contextmanager
def span(name: str, parent: otel_context.Context | None = None, **attributes: Any) -> Iterator[trace.Span]:
    with tracer().start_as_current_span(name, context=parent, attributes=attributes) as s:
        yield s
