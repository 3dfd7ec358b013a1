"""FMI 2.0 co-simulation slave for the pythonfmu exporter: a first-order lag.

    y' = (u + bias - y) / tau      (explicit Euler, `substeps` sub-steps per doStep; tau halved while `boost`)

Inputs: Real u, Integer bias, Boolean boost. Parameters: Real tau and y0, Integer substeps.
Outputs: Real y, Integer count (doStep calls so far), Boolean rising (y grew during the last step).
"""

from pythonfmu import Boolean, Fmi2Causality, Fmi2Slave, Fmi2Variability, Integer, Real


class TpLag2(Fmi2Slave):
    author = "federation tests"
    description = "first-order lag y' = (u + bias - y) / tau (pythonfmu, FMI 2.0)"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.tau = 1.0
        self.y0 = 0.0
        self.substeps = 4
        self.u = 0.0
        self.bias = 0
        self.boost = False
        self.y = 0.0
        self.count = 0
        self.rising = False
        param, fixed, discrete = Fmi2Causality.parameter, Fmi2Variability.fixed, Fmi2Variability.discrete
        inp, out = Fmi2Causality.input, Fmi2Causality.output
        self.register_variable(Real("tau", causality=param, variability=fixed))
        self.register_variable(Real("y0", causality=param, variability=fixed))
        self.register_variable(Integer("substeps", causality=param, variability=fixed))
        self.register_variable(Real("u", causality=inp))
        self.register_variable(Integer("bias", causality=inp, variability=discrete))
        self.register_variable(Boolean("boost", causality=inp, variability=discrete))
        self.register_variable(Real("y", causality=out))
        self.register_variable(Integer("count", causality=out, variability=discrete))
        self.register_variable(Boolean("rising", causality=out, variability=discrete))

    def exit_initialization_mode(self):
        self.y = float(self.y0)
        self.count = 0
        self.rising = False

    def do_step(self, current_time, step_size):
        previous = self.y
        n = int(self.substeps)
        dt = step_size / n
        tau = self.tau / 2 if self.boost else self.tau
        target = self.u + self.bias
        for _ in range(n):
            self.y += dt * (target - self.y) / tau
        self.count += 1
        self.rising = self.y > previous
        return True
