"""FMI 3.0 co-simulation slave for pythonfmu3 with 64-bit integers: n counts doStep calls, from n0."""

from pythonfmu3 import Fmi3Causality, Fmi3Slave, Fmi3Variability, Float64, Int64


class TpCounter3Int64(Fmi3Slave):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.time = 0.0
        self.n0 = 0
        self.n = 0
        self.register_variable(Float64("time", causality=Fmi3Causality.independent,
                                       variability=Fmi3Variability.continuous))
        self.register_variable(Int64("n0", causality=Fmi3Causality.parameter, variability=Fmi3Variability.fixed))
        self.register_variable(Int64("n", causality=Fmi3Causality.output, variability=Fmi3Variability.discrete))

    def exit_initialization_mode(self):
        self.n = self.n0

    def do_step(self, current_time, step_size):
        self.n += 1
        return True
