"""FMI 2.0 co-simulation slave for pythonfmu that refuses some input values: gear must be 1 to 5."""

from pythonfmu import Fmi2Causality, Fmi2Slave, Fmi2Variability, Integer


class TpPicky2(Fmi2Slave):
    author = "federation tests"
    description = "refuses a gear outside 1 to 5 (pythonfmu, FMI 2.0)"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.gear = 1
        self.register_variable(Integer("gear", causality=Fmi2Causality.input, variability=Fmi2Variability.discrete,
                                       setter=self._set_gear))
        self.register_variable(Integer("engaged", causality=Fmi2Causality.output, variability=Fmi2Variability.discrete,
                                       getter=lambda: self.gear))

    def _set_gear(self, value):
        if not 1 <= value <= 5:
            raise ValueError(f"there is no gear {value}")
        self.gear = value

    def do_step(self, current_time, step_size):
        return True
