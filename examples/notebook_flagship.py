# %% [markdown]
# # The flagship, built and run from Python
#
# A utility's grid, a furnace maker's furnace, a carmaker's EV depot and an operator's dispatcher,
# coupled for 24 h: the scenario of `examples/grid_furnace_vehicle/scenario.yaml`, built in code.
# Run it as a script (`python examples/notebook_flagship.py`, after `make fmus`) or cell by cell in
# an editor that knows `# %%` cells (VS Code, PyCharm, Jupytext). The figure is saved into the
# results folder as results.png: `$NOTEBOOK_OUT`, default `results/notebook_flagship`.

# %% Set-up
import os
import sys
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules and not os.environ.get("DISPLAY"):
    matplotlib.use("Agg")  # no screen: draw into files only
import matplotlib.pyplot as plt

import federation

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd() / "examples"
FLAGSHIP = HERE / "grid_furnace_vehicle"  # the dispatcher's module (ems.py) is there
OUT = Path(os.environ.get("NOTEBOOK_OUT", "results/notebook_flagship"))

# %% Build the flagship in code
# Paths are relative to `base`, as a scenario file's are to its folder.
scenario = federation.Scenario("grid-furnace-vehicle", start=0.0, stop=86400.0, step=5.0, base=FLAGSHIP)
scenario.add_fmu("grid", "../../fmus/dist/fmi3/grid.fmu", site="utility", step=1.0,
                 parameters={"H": 5.0}, tunable=["H", "K_agc"], expose=["f", "v_pcc"])
scenario.add_fmu("furnace", "../../fmus/dist/fmi3/furnace.fmu", site="furnace_maker", step=5.0,
                 parameters={"T_set": 1300.0}, tunable=["T_set"], expose=["P_el", "T_chamber", "T_charge"])
scenario.add_fmu("vehicle", "../../fmus/dist/fmi2/vehicle.fmu", site="carmaker", step=30.0,
                 parameters={"n_ev": 200}, tunable=["n_ev", "soc_target"], expose=["P_ev", "soc_mean"])
scenario.add_python("ems", "ems:Dispatcher", site="operator", step=60.0)
(scenario.connect("furnace.P_el", "grid.P_furnace")
         .connect("vehicle.P_ev", "grid.P_ev")
         .connect("grid.f", "furnace.f_grid")
         .connect("grid.f", "vehicle.f_grid")
         .connect("grid.f", "ems.f")
         .connect("furnace.P_el", "ems.P_furnace")
         .connect("vehicle.P_ev", "ems.P_ev"))
scenario.add_interaction("DemandResponse", parameters=["curtail"], publishers=["ems"],
                         to={"furnace.curtail": "curtail"})
scenario.record(["grid.f", "grid.v_pcc", "furnace.P_el", "furnace.T_chamber", "furnace.T_charge",
                 "vehicle.P_ev", "vehicle.soc_mean", "ems.curtail"])

# %% Check it against the models: every problem at once, keyed as in the YAML
spec = scenario.validate()
for site, shared in spec.shared().items():
    print(f"{site} shares {shared}")

# %% Run it (embedded: one process; mode="grpc" or "ray" run one host per site)
result = federation.run(scenario, out=OUT, force=True)
result.raise_for_status()
print(result)
print(result.timings)

# %% Plot: time in hours, each variable in its unit
hours = result.time / 3600.0
fig, axes = plt.subplots(3, 1, figsize=(10, 8), sharex=True)
for axis, names in zip(axes, (["grid.f"], ["furnace.P_el", "vehicle.P_ev"], ["furnace.T_chamber", "furnace.T_charge"])):
    for name in names:
        axis.plot(hours, result[name].values, label=name)
    axis.set_ylabel(f"[{result[names[0]].unit}]")
    axis.legend(loc="upper right")
axes[-1].set_xlabel("time [h]")
fig.suptitle(f"{scenario.federation}: {result.timings.wall_time:.1f} s wall for 24 h")
figure = result.out / "results.png"  # the name of a run's own plot: a run again with force=True replaces it
fig.savefig(figure, dpi=100)
print(f"figure: {figure}")
