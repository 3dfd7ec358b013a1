/* FMI 3.0 co-simulation FMU that ends the simulation with terminateSimulation, completing its step or, with
 * `early` 1, returning early at t_end with lastSuccessfulTime (see ending.h). */
#include <stdbool.h>
#include <stdint.h>
#include "ending.h"

typedef enum { OK = 0, WARNING = 1, DISCARD = 2, ERROR = 3 } Status;

const char *fmi3GetVersion(void) { return "3.0"; }

void *fmi3InstantiateCoSimulation(const char *name, const char *token, const char *resources, bool visible,
                                  bool loggingOn, bool eventModeUsed, bool earlyReturnAllowed,
                                  const unsigned *required, size_t nRequired, void *env, void *log,
                                  void *intermediateUpdate) {
    Model *m = calloc(1, sizeof(Model));
    if (m) m->t_end = 2.5;
    return m;
}
void fmi3FreeInstance(void *c) { free(c); }
int fmi3EnterInitializationMode(void *c, bool tolDefined, double tol, double start, bool stopDefined, double stop) {
    ((Model *)c)->time = start;
    return OK;
}
int fmi3ExitInitializationMode(void *c) { return OK; }
int fmi3Terminate(void *c) { return OK; }
int fmi3Reset(void *c) { return OK; }

int fmi3GetFloat64(void *c, const unsigned vr[], size_t n, double value[], size_t nValues) {
    for (size_t i = 0; i < n; i++) {
        double *v = model_var(c, vr[i]);
        if (!v) return ERROR;
        value[i] = *v;
    }
    return OK;
}
int fmi3SetFloat64(void *c, const unsigned vr[], size_t n, const double value[], size_t nValues) {
    for (size_t i = 0; i < n; i++) {
        double *v = model_var(c, vr[i]);
        if (!v || vr[i] == VR_TIME || vr[i] == VR_Y || vr[i] == VR_Z) return ERROR;
        *v = value[i];
    }
    return OK;
}
int fmi3DoStep(void *c, double t, double h, bool noSetPrior, bool *eventHandlingNeeded, bool *terminateSimulation,
               bool *earlyReturn, double *lastSuccessfulTime) {
    Model *m = c;
    if (m->terminated) return ERROR;  /* it asked to end: stepping on is the master's error */
    int ends = model_step(m, t, h, m->early != 0.0);
    *eventHandlingNeeded = false;
    *terminateSimulation = ends;
    *earlyReturn = ends && m->time < t + h;
    *lastSuccessfulTime = m->time;
    return OK;
}
