/* A hand-written FMI 3.0 co-simulation FMU that keeps the standard's state rules for structural parameters,
 * as the Reference FMUs do (StateSpace): a structural parameter is set only in Configuration Mode, and in
 * Configuration Mode nothing else is. Every other FMI 3 function is a stub the test's builder generates.
 *
 *   n, m  UInt64 structural parameters (n fixed, m tunable)      k  Float64 parameter     u  Float64 input
 *   count Int32 output: count += n at every step                 big  Int64 output: count * 2**40 (unbounded)
 *   y     Float64 output: k * u + n + 10 * m
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { OK = 0, WARNING = 1, ERROR = 3 } Status;
typedef enum { INSTANTIATED, CONFIGURATION, INITIALIZATION, STEP, TERMINATED } State;
typedef void (*LogMessage)(void *env, int status, const char *category, const char *message);

typedef struct {
    State state;
    void *env;
    LogMessage log;
    uint64_t n, m;
    double time, k, u, y;
    int32_t count;
    int64_t big;
} Instance;

enum { VR_TIME = 0, VR_N = 1, VR_K = 2, VR_U = 3, VR_COUNT = 4, VR_BIG = 5, VR_Y = 6, VR_M = 7 };

static Status fail(Instance *c, const char *message) {
    if (c->log) c->log(c->env, ERROR, "logStatusError", message);
    return ERROR;
}

static void outputs(Instance *c) {
    c->y = c->k * c->u + (double)c->n + 10.0 * (double)c->m;
    c->big = (int64_t)c->count * ((int64_t)1 << 40);
}

const char *fmi3GetVersion(void) { return "3.0"; }

void *fmi3InstantiateCoSimulation(const char *name, const char *token, const char *resources, bool visible,
                                  bool loggingOn, bool eventModeUsed, bool earlyReturnAllowed,
                                  const unsigned *required, size_t nRequired, void *env, LogMessage log,
                                  void *intermediateUpdate) {
    Instance *c = calloc(1, sizeof(Instance));
    if (!c) return NULL;
    c->state = INSTANTIATED;
    c->env = env;
    c->log = log;
    c->n = 1;
    c->m = 2;
    c->k = 1.0;
    outputs(c);
    return c;
}

void fmi3FreeInstance(void *instance) { free(instance); }

#include "fmi3_modes.h"
int fmi3Reset(void *instance) { ((Instance *)instance)->state = INSTANTIATED; return OK; }

int fmi3SetUInt64(void *instance, const unsigned vr[], size_t nvr, const uint64_t values[], size_t nValues) {
    Instance *c = instance;
    if (c->state != CONFIGURATION)
        return fail(c, "structural parameters can only be set in Configuration Mode");
    for (size_t i = 0; i < nvr; i++) {
        if (vr[i] == VR_N) c->n = values[i];
        else if (vr[i] == VR_M) c->m = values[i];
        else return fail(c, "fmi3SetUInt64: no such variable");
    }
    return OK;
}

int fmi3GetUInt64(void *instance, const unsigned vr[], size_t nvr, uint64_t values[], size_t nValues) {
    Instance *c = instance;
    for (size_t i = 0; i < nvr; i++) {
        if (vr[i] == VR_N) values[i] = c->n;
        else if (vr[i] == VR_M) values[i] = c->m;
        else return fail(c, "fmi3GetUInt64: no such variable");
    }
    return OK;
}

int fmi3SetFloat64(void *instance, const unsigned vr[], size_t nvr, const double values[], size_t nValues) {
    Instance *c = instance;
    if (c->state == CONFIGURATION) return fail(c, "only structural parameters can be set in Configuration Mode");
    for (size_t i = 0; i < nvr; i++) {
        if (vr[i] == VR_K && (c->state == INSTANTIATED || c->state == INITIALIZATION)) c->k = values[i];
        else if (vr[i] == VR_U) c->u = values[i];
        else return fail(c, "fmi3SetFloat64: variable not settable now");
    }
    return OK;
}

int fmi3GetFloat64(void *instance, const unsigned vr[], size_t nvr, double values[], size_t nValues) {
    Instance *c = instance;
    for (size_t i = 0; i < nvr; i++) {
        switch (vr[i]) {
            case VR_TIME: values[i] = c->time; break;
            case VR_K: values[i] = c->k; break;
            case VR_U: values[i] = c->u; break;
            case VR_Y: values[i] = c->y; break;
            default: return fail(c, "fmi3GetFloat64: no such variable");
        }
    }
    return OK;
}

int fmi3GetInt32(void *instance, const unsigned vr[], size_t nvr, int32_t values[], size_t nValues) {
    Instance *c = instance;
    for (size_t i = 0; i < nvr; i++) {
        if (vr[i] != VR_COUNT) return fail(c, "fmi3GetInt32: no such variable");
        values[i] = c->count;
    }
    return OK;
}

int fmi3GetInt64(void *instance, const unsigned vr[], size_t nvr, int64_t values[], size_t nValues) {
    Instance *c = instance;
    for (size_t i = 0; i < nvr; i++) {
        if (vr[i] != VR_BIG) return fail(c, "fmi3GetInt64: no such variable");
        values[i] = c->big;
    }
    return OK;
}

int fmi3DoStep(void *instance, double t, double h, bool noSetPrior, bool *eventHandlingNeeded,
               bool *terminateSimulation, bool *earlyReturn, double *lastSuccessfulTime) {
    Instance *c = instance;
    if (c->state != STEP) return fail(c, "fmi3DoStep outside Step Mode");
    c->count += (int32_t)c->n;
    c->time = t + h;
    outputs(c);
    *eventHandlingNeeded = false;
    *terminateSimulation = false;
    *earlyReturn = false;
    *lastSuccessfulTime = c->time;
    return OK;
}
