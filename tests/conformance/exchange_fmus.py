"""The Model Exchange test FMUs (cfmus/exchange.c), FMI 2 and FMI 3: their model descriptions and their build.

    bounce   a bouncing ball: state events (the event indicator h crosses zero)
    timer    der x = k (u - x) + a, a flipping sign every `period` s: time events; an input u
    stepper  der x = r + u, x reduced by `level` whenever completedIntegratorStep asks for an event: step events

Each is ME only; `both=True` also declares co-simulation (for the `interface:` key), which the C file does not
implement (FMI 2's fmi2Instantiate refuses it).
"""

from __future__ import annotations

from pathlib import Path

from conformance.cfmu import build_c_fmu

MODELS = {"bounce": 1, "timer": 2, "stepper": 3}
# name, value reference, role, start (role: state, der, input, param, discrete, count); t_event: the last event's time
_VARIABLES: dict[str, list[tuple[str, int, str, float | None]]] = {
    "bounce": [("h", 1, "state", 1.0), ("der(h)", 2, "der", None), ("v", 3, "state", 0.0), ("der(v)", 4, "der", None),
               ("g", 5, "param", 9.81), ("e", 6, "param", 0.7), ("count", 7, "count", 0), ("t_event", 8, "discrete", -1.0)],
    "timer": [("x", 1, "state", 0.0), ("der(x)", 2, "der", None), ("u", 3, "input", 0.0), ("a", 4, "discrete", 1.0),
              ("k", 5, "param", 2.0), ("period", 6, "param", 0.35), ("count", 7, "count", 0), ("t_event", 8, "discrete", -1.0)],
    "stepper": [("x", 1, "state", 0.0), ("der(x)", 2, "der", None), ("u", 3, "input", 0.0), ("r", 4, "param", 1.3),
                ("level", 5, "param", 0.5), ("count", 7, "count", 0), ("t_event", 8, "discrete", -1.0)],
}
OUTPUTS = {model: [n for n, _, role, _ in variables if role in ("state", "discrete", "count")]
           for model, variables in _VARIABLES.items()}
_CAUSALITY = {"state": ("output", "continuous"), "der": ("local", "continuous"), "input": ("input", "continuous"),
              "param": ("parameter", "fixed"), "discrete": ("output", "discrete"), "count": ("output", "discrete")}


def model_description(model: str, fmi: int, both: bool = False) -> str:
    """The modelDescription.xml of one model for FMI 2 or 3."""
    variables = _VARIABLES[model]
    step_events = model == "stepper"
    co_simulation = f'  <CoSimulation modelIdentifier="{model}"/>\n' if both else ""  # after ModelExchange
    if fmi == 2:
        index = {name: i + 1 for i, (name, *_) in enumerate(variables)}
        lines = []
        for name, _vr, role, start in variables:
            causality, variability = _CAUSALITY[role]
            initial = ' initial="exact"' if role in ("state", "discrete", "count", "param") else ""
            if role == "der":
                element = f'<Real derivative="{index[name[4:-1]]}"/>'
            elif role == "count":
                element = f'<Integer start="{int(start or 0)}"/>'
            else:
                element = f'<Real start="{start}"/>'
            lines.append(f'    <ScalarVariable name="{name}" valueReference="{_vr}" causality="{causality}" '
                         f'variability="{variability}"{initial}>{element}</ScalarVariable>')
        outputs = "".join(f'<Unknown index="{index[n]}"/>' for n in OUTPUTS[model])
        derivatives = "".join(f'<Unknown index="{index[n]}"/>' for n, _, role, _ in variables if role == "der")
        not_needed = "" if step_events else ' completedIntegratorStepNotNeeded="true"'
        interfaces = f'  <ModelExchange modelIdentifier="{model}"{not_needed}/>\n{co_simulation}'
        nz = 1 if model == "bounce" else 0
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<fmiModelDescription fmiVersion="2.0" modelName="{model}" '
                f'guid="{{{model}}}" numberOfEventIndicators="{nz}" variableNamingConvention="structured">\n'
                f'{interfaces}  <ModelVariables>\n' + "\n".join(lines) + '\n  </ModelVariables>\n'
                f'  <ModelStructure>\n    <Outputs>{outputs}</Outputs>\n    <Derivatives>{derivatives}</Derivatives>\n'
                f'    <InitialUnknowns>{derivatives}</InitialUnknowns>\n  </ModelStructure>\n</fmiModelDescription>\n')
    vrs = {name: vr for name, vr, _, _ in variables}
    lines = ['    <Float64 name="time" valueReference="0" causality="independent" variability="continuous"/>']
    for name, vr, role, start in variables:
        causality, variability = _CAUSALITY[role]
        tag = "Int32" if role == "count" else "Float64"
        extra = f' derivative="{vrs[name[4:-1]]}"' if role == "der" else ""
        extra += ' initial="exact"' if role in ("state", "discrete", "count") else ""
        extra += "" if start is None else f' start="{int(start) if role == "count" else start}"'
        lines.append(f'    <{tag} name="{name}" valueReference="{vr}" causality="{causality}" '
                     f'variability="{variability}"{extra}/>')
    structure = [f'    <Output valueReference="{vrs[n]}"/>' for n in OUTPUTS[model]]
    structure += [f'    <ContinuousStateDerivative valueReference="{vr}"/>' for _, vr, role, _ in variables if role == "der"]
    structure += [f'    <InitialUnknown valueReference="{vr}"/>' for _, vr, role, _ in variables if role == "der"]
    if model == "bounce":
        structure.append(f'    <EventIndicator valueReference="{vrs["h"]}"/>')
    needed = ' needsCompletedIntegratorStep="true"' if step_events else ""
    interfaces = f'  <ModelExchange modelIdentifier="{model}"{needed}/>\n{co_simulation}'
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<fmiModelDescription fmiVersion="3.0" modelName="{model}" '
            f'instantiationToken="{{{model}}}" variableNamingConvention="structured">\n'
            f'{interfaces}  <ModelVariables>\n' + "\n".join(lines) + '\n  </ModelVariables>\n'
            '  <ModelStructure>\n' + "\n".join(structure) + '\n  </ModelStructure>\n</fmiModelDescription>\n')


def build_exchange_fmu(model: str, fmi: int, out_dir: Path, both: bool = False, end_after: int = 0) -> Path:
    """Compile one model for FMI 2 or 3 into out_dir/<model>.fmu."""
    source = (Path(__file__).resolve().parent / "cfmus" / "exchange.c").read_text()
    defines = f"#define FMI_VERSION {fmi}\n#define MODEL {MODELS[model]}\n#define END_AFTER {end_after}\n"
    return build_c_fmu(defines + source, model_description(model, fmi, both), out_dir)
