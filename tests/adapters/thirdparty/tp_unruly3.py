"""FMI 3.0 co-simulation slave for pythonfmu3 that misbehaves on request: asks to end the simulation
from its step `stop_at` (0: never), logs a warning at every step (`warn`), fails in terminate."""

from pythonfmu3 import (Boolean, Fmi3Causality, Fmi3Slave, Fmi3Status, Fmi3StepResult, Fmi3Variability, Float64,
                        Int32)


class TpUnruly3(Fmi3Slave):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.time = 0.0
        self.stop_at = 0
        self.warn = False
        self.fail_terminate = False
        self.steps = 0
        self.register_variable(Float64("time", causality=Fmi3Causality.independent,
                                       variability=Fmi3Variability.continuous))
        self.register_variable(Int32("stop_at", causality=Fmi3Causality.parameter, variability=Fmi3Variability.fixed))
        for flag in ("warn", "fail_terminate"):
            self.register_variable(Boolean(flag, causality=Fmi3Causality.parameter, variability=Fmi3Variability.fixed))
        self.register_variable(Int32("steps", causality=Fmi3Causality.output, variability=Fmi3Variability.discrete))

    def do_step(self, current_time, step_size):
        self.steps += 1
        if self.warn:
            self.log(f"step {self.steps} is shaky", status=Fmi3Status.warning)
        return Fmi3StepResult(status=Fmi3Status.warning if self.warn else Fmi3Status.ok,
                              terminateSimulation=0 < self.stop_at <= self.steps)

    def terminate(self):
        if self.fail_terminate:
            raise RuntimeError("cannot terminate")
