/* A hand-written co-simulation FMU (FMI 2.0, or FMI 3.0 when FMI3 is defined) with variables in units that
 * convert into each other (degC/K, kW/W), one that converts into none of them (m), relative quantities and
 * unitless variables, for the unit-conversion tests. Every other FMI function is a stub the builder generates.
 *
 *   outputs of time t:    T_out = 20.1 + 0.3 t [degC]   P_kW = 1.5 + 0.25 t [kW]   x = 2 t [m]
 *                         dT = 1.7 + 0.1 t [degC, relative]   y = 3 + t (no unit)
 *   inputs:               T_in [K]   P_in [W]   dT_in [K, relative]   u (no unit)
 *   echoes:               T_echo, P_echo, dT_echo, u_echo: the input's value at the start of the last step
 *                         (at initialization, its start value), so that what an input received is recorded
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

enum { VR_T_OUT = 1, VR_P_KW = 2, VR_X = 3, VR_DT = 4, VR_Y = 5,
       VR_T_IN = 11, VR_P_IN = 12, VR_DT_IN = 14, VR_U = 15,
       VR_T_ECHO = 21, VR_P_ECHO = 22, VR_DT_ECHO = 24, VR_U_ECHO = 25, N_VR = 32 };

typedef struct {
    double time;
    double v[N_VR];
} Instance;

static void outputs(Instance *c) {
    double t = c->time;
    c->v[VR_T_OUT] = 20.1 + 0.3 * t;
    c->v[VR_P_KW] = 1.5 + 0.25 * t;
    c->v[VR_X] = 2.0 * t;
    c->v[VR_DT] = 1.7 + 0.1 * t;
    c->v[VR_Y] = 3.0 + t;
}

static void echo(Instance *c) {
    c->v[VR_T_ECHO] = c->v[VR_T_IN];
    c->v[VR_P_ECHO] = c->v[VR_P_IN];
    c->v[VR_DT_ECHO] = c->v[VR_DT_IN];
    c->v[VR_U_ECHO] = c->v[VR_U];
}

static int settable(unsigned vr) { return vr == VR_T_IN || vr == VR_P_IN || vr == VR_DT_IN || vr == VR_U; }

static void *instantiate(void) {
    Instance *c = calloc(1, sizeof(Instance));
    if (c) { c->v[VR_T_IN] = 293.15; outputs(c); echo(c); }  /* the inputs' start values (the others are 0) */
    return c;
}

static int get(Instance *c, const unsigned vr[], size_t nvr, double values[]) {
    for (size_t i = 0; i < nvr; i++) {
        if (vr[i] >= N_VR) return 3;
        values[i] = vr[i] == 0 ? c->time : c->v[vr[i]];
    }
    return 0;
}

static int set(Instance *c, const unsigned vr[], size_t nvr, const double values[]) {
    for (size_t i = 0; i < nvr; i++) {
        if (!settable(vr[i])) return 3;
        c->v[vr[i]] = values[i];
    }
    return 0;
}

static int step(Instance *c, double t, double h) {
    echo(c);
    c->time = t + h;
    outputs(c);
    return 0;
}

#ifndef FMI3
const char *fmi2GetVersion(void) { return "2.0"; }
const char *fmi2GetTypesPlatform(void) { return "default"; }
void *fmi2Instantiate(const char *name, int type, const char *guid, const char *resources, const void *functions,
                      int visible, int loggingOn) { return instantiate(); }
void fmi2FreeInstance(void *c) { free(c); }
int fmi2SetupExperiment(void *c, int toleranceDefined, double tolerance, double startTime, int stopTimeDefined,
                        double stopTime) {
    ((Instance *)c)->time = startTime;
    return 0;
}
int fmi2EnterInitializationMode(void *c) { return 0; }
int fmi2ExitInitializationMode(void *c) { outputs(c); echo(c); return 0; }
int fmi2Terminate(void *c) { return 0; }
int fmi2Reset(void *c) { return 0; }
int fmi2SetDebugLogging(void *c, int loggingOn, size_t n, const char *categories[]) { return 0; }
int fmi2GetReal(void *c, const unsigned vr[], size_t nvr, double values[]) { return get(c, vr, nvr, values); }
int fmi2SetReal(void *c, const unsigned vr[], size_t nvr, const double values[]) { return set(c, vr, nvr, values); }
int fmi2DoStep(void *c, double t, double h, int noSetPrior) { return step(c, t, h); }
#else
const char *fmi3GetVersion(void) { return "3.0"; }
void *fmi3InstantiateCoSimulation(const char *name, const char *token, const char *resources, bool visible,
                                  bool loggingOn, bool eventModeUsed, bool earlyReturnAllowed,
                                  const unsigned *required, size_t nRequired, void *env, void *log,
                                  void *intermediateUpdate) { return instantiate(); }
void fmi3FreeInstance(void *c) { free(c); }
int fmi3EnterInitializationMode(void *c, bool toleranceDefined, double tolerance, double startTime,
                                bool stopTimeDefined, double stopTime) {
    ((Instance *)c)->time = startTime;
    return 0;
}
int fmi3ExitInitializationMode(void *c) { outputs(c); echo(c); return 0; }
int fmi3Terminate(void *c) { return 0; }
int fmi3Reset(void *c) { return 0; }
int fmi3GetFloat64(void *c, const unsigned vr[], size_t nvr, double values[], size_t nValues) {
    return get(c, vr, nvr, values);
}
int fmi3SetFloat64(void *c, const unsigned vr[], size_t nvr, const double values[], size_t nValues) {
    return set(c, vr, nvr, values);
}
int fmi3DoStep(void *c, double t, double h, bool noSetPrior, bool *eventHandlingNeeded, bool *terminateSimulation,
               bool *earlyReturn, double *lastSuccessfulTime) {
    *eventHandlingNeeded = false;
    *terminateSimulation = false;
    *earlyReturn = false;
    *lastSuccessfulTime = t + h;
    return step(c, t, h);
}
#endif
