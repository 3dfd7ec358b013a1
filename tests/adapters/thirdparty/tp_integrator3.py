"""FMI 3.0 co-simulation slave for the pythonfmu3 exporter: a gain and an integrator.

    g = k * u              (direct feedthrough, evaluated at the end of each step)
    x' = k * u             (exact for an input held over the step: x += k * u * h; gain doubled while `boost`)

Float64 input u, Boolean input boost, Float64 parameters k and x0; outputs: Float64 x and g,
Int32 sign (sign of x) and Boolean saturated (|x| >= limit, Float64 parameter limit).
"""

from pythonfmu3 import Boolean, Fmi3Causality, Fmi3Slave, Fmi3Variability, Float64, Int32


class TpIntegrator3(Fmi3Slave):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.author = "federation tests"  # the base __init__ resets these, so set them here
        self.description = "gain and integrator x' = k * u (pythonfmu3, FMI 3.0)"
        self.time = 0.0
        self.k = 1.0
        self.x0 = 0.0
        self.limit = 1e300
        self.u = 0.0
        self.boost = False
        self.x = 0.0
        self.g = 0.0
        self.sign = 0
        self.saturated = False
        param, fixed = Fmi3Causality.parameter, Fmi3Variability.fixed
        self.register_variable(Float64("time", causality=Fmi3Causality.independent,
                                       variability=Fmi3Variability.continuous))
        self.register_variable(Float64("k", causality=param, variability=fixed))
        self.register_variable(Float64("x0", causality=param, variability=fixed))
        self.register_variable(Float64("limit", causality=param, variability=fixed))
        self.register_variable(Float64("u", causality=Fmi3Causality.input))
        self.register_variable(Boolean("boost", causality=Fmi3Causality.input, variability=Fmi3Variability.discrete))
        self.register_variable(Float64("x", causality=Fmi3Causality.output))
        self.register_variable(Float64("g", causality=Fmi3Causality.output))
        self.register_variable(Int32("sign", causality=Fmi3Causality.output, variability=Fmi3Variability.discrete))
        self.register_variable(Boolean("saturated", causality=Fmi3Causality.output,
                                       variability=Fmi3Variability.discrete))

    def _outputs(self):
        self.g = self.k * self.u
        self.sign = (self.x > 0) - (self.x < 0)
        self.saturated = abs(self.x) >= self.limit

    def exit_initialization_mode(self):
        self.x = float(self.x0)
        self._outputs()

    def do_step(self, current_time, step_size):
        gain = 2 * self.k if self.boost else self.k
        self.x += gain * self.u * step_size
        self.time = current_time + step_size
        self._outputs()
        return True
