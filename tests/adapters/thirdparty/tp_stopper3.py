"""FMI 3.0 co-simulation slave for pythonfmu3 that asks to end the simulation from its step `stop_at`."""

from pythonfmu3 import Fmi3Causality, Fmi3Slave, Fmi3StepResult, Fmi3Variability, Float64, Int32


class TpStopper3(Fmi3Slave):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.time = 0.0
        self.stop_at = 3
        self.steps = 0
        self.register_variable(Float64("time", causality=Fmi3Causality.independent,
                                       variability=Fmi3Variability.continuous))
        self.register_variable(Int32("stop_at", causality=Fmi3Causality.parameter, variability=Fmi3Variability.fixed))
        self.register_variable(Int32("steps", causality=Fmi3Causality.output, variability=Fmi3Variability.discrete))

    def do_step(self, current_time, step_size):
        self.steps += 1
        return Fmi3StepResult(terminateSimulation=self.steps >= self.stop_at)
