/* A hand-written FMI 3.0 co-simulation FMU with array variables, for the federation's array tests.
 *
 *   n  UInt64 structural parameter (0..8), the size of z        k  Float64[3] parameter    M  Float64[2,3] parameter
 *   u  Float64[3] input                                          x  Float64 input
 *   y  Float64[3] output: y[i] = k[i] * u[i] + x + time          Y  Float64[2,3] output: Y[i,j] = M[i,j] * (time + 1) + u[j]
 *   z  Float64[n] output: z[i] = (i + 1) * time + u[0] + u[1] + u[2]
 *   c  Int32[2] output: steps taken, and -n times that            b  Boolean[3] output: u[i] > 0.5
 *   s  Float64 output: u[0] + u[1] + u[2] + 10 x
 *
 * Arrays are serialized row-major, several variables' one after another in one call, as FMI 3 says. The structural
 * parameter may be set in Instantiated (as fmpy does) or in Configuration Mode (as the federation does).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef enum { OK = 0, ERROR = 3 } Status;
typedef enum { INSTANTIATED, CONFIGURATION, INITIALIZATION, STEP, TERMINATED } State;
typedef void (*LogMessage)(void *env, int status, const char *category, const char *message);

#define N_MAX 8

typedef struct {
    State state;
    void *env;
    LogMessage log;
    uint64_t n;
    int32_t steps;
    double time, k[3], M[6], u[3], x, y[3], Y[6], z[N_MAX], s;
    int32_t c[2];
    bool b[3];
} Instance;

enum { VR_TIME = 0, VR_N, VR_K, VR_M, VR_U, VR_X, VR_Y, VR_YY, VR_Z, VR_C, VR_B, VR_S };

static Status fail(Instance *c, const char *message) {
    if (c->log) c->log(c->env, ERROR, "logStatusError", message);
    return ERROR;
}

static void outputs(Instance *c) {
    double sum = c->u[0] + c->u[1] + c->u[2];
    for (int i = 0; i < 3; i++) c->y[i] = c->k[i] * c->u[i] + c->x + c->time;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) c->Y[3 * i + j] = c->M[3 * i + j] * (c->time + 1.0) + c->u[j];
    for (uint64_t i = 0; i < c->n; i++) c->z[i] = (double)(i + 1) * c->time + sum;
    c->c[0] = c->steps;
    c->c[1] = -(int32_t)c->n * c->steps;
    for (int i = 0; i < 3; i++) c->b[i] = c->u[i] > 0.5;
    c->s = sum + 10.0 * c->x;
}

/* The elements of variable vr: where they are and how many (NULL for no Float64 variable). */
static double *float64s(Instance *c, unsigned vr, size_t *size) {
    switch (vr) {
        case VR_TIME: *size = 1; return &c->time;
        case VR_K: *size = 3; return c->k;
        case VR_M: *size = 6; return c->M;
        case VR_U: *size = 3; return c->u;
        case VR_X: *size = 1; return &c->x;
        case VR_Y: *size = 3; return c->y;
        case VR_YY: *size = 6; return c->Y;
        case VR_Z: *size = (size_t)c->n; return c->z;
        case VR_S: *size = 1; return &c->s;
        default: return NULL;
    }
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
    c->n = 2;
    for (int i = 0; i < 3; i++) c->k[i] = i + 1.0;
    for (int i = 0; i < 6; i++) c->M[i] = i + 1.0;
    outputs(c);
    return c;
}

void fmi3FreeInstance(void *instance) { free(instance); }

#include "fmi3_modes.h"

int fmi3DoStep(void *instance, double t, double h, bool noSetFMUStatePriorToCurrentPoint, bool *eventHandlingNeeded,
               bool *terminateSimulation, bool *earlyReturn, double *lastSuccessfulTime) {
    Instance *c = instance;
    if (c->state != STEP) return fail(c, "fmi3DoStep outside Step Mode");
    c->time = t + h;
    c->steps += 1;
    outputs(c);
    *eventHandlingNeeded = false;
    *terminateSimulation = false;
    *earlyReturn = false;
    *lastSuccessfulTime = c->time;
    return OK;
}

int fmi3SetUInt64(void *instance, const unsigned vr[], size_t nvr, const uint64_t values[], size_t nValues) {
    Instance *c = instance;
    if (c->state != INSTANTIATED && c->state != CONFIGURATION)
        return fail(c, "a structural parameter is set in Instantiated or Configuration Mode only");
    if (nvr != 1 || vr[0] != VR_N || nValues != 1) return fail(c, "fmi3SetUInt64: no such variable");
    if (values[0] > N_MAX) return fail(c, "n is at most 8");
    c->n = values[0];
    return OK;
}

int fmi3GetUInt64(void *instance, const unsigned vr[], size_t nvr, uint64_t values[], size_t nValues) {
    Instance *c = instance;
    if (nvr != 1 || vr[0] != VR_N || nValues != 1) return fail(c, "fmi3GetUInt64: no such variable");
    values[0] = c->n;
    return OK;
}

int fmi3SetFloat64(void *instance, const unsigned vr[], size_t nvr, const double values[], size_t nValues) {
    Instance *c = instance;
    size_t at = 0;
    if (c->state == CONFIGURATION) return fail(c, "only structural parameters can be set in Configuration Mode");
    for (size_t i = 0; i < nvr; i++) {
        size_t size;
        double *dst = float64s(c, vr[i], &size);
        bool parameter = vr[i] == VR_K || vr[i] == VR_M;
        if (!dst || (vr[i] != VR_U && vr[i] != VR_X && !parameter)) return fail(c, "fmi3SetFloat64: not settable");
        if (parameter && c->state != INSTANTIATED && c->state != INITIALIZATION)
            return fail(c, "fmi3SetFloat64: a fixed parameter is set before initialization ends");
        if (at + size > nValues) return fail(c, "fmi3SetFloat64: nValues is too small for these arrays");
        for (size_t j = 0; j < size; j++) dst[j] = values[at + j];
        at += size;
    }
    if (at != nValues) return fail(c, "fmi3SetFloat64: nValues does not match the variables' sizes");
    if (c->state == STEP) outputs(c);
    return OK;
}

int fmi3GetFloat64(void *instance, const unsigned vr[], size_t nvr, double values[], size_t nValues) {
    Instance *c = instance;
    size_t at = 0;
    if (c->state == INITIALIZATION) outputs(c);
    for (size_t i = 0; i < nvr; i++) {
        size_t size;
        double *src = float64s(c, vr[i], &size);
        if (!src) return fail(c, "fmi3GetFloat64: no such variable");
        if (at + size > nValues) return fail(c, "fmi3GetFloat64: nValues is too small for these arrays");
        for (size_t j = 0; j < size; j++) values[at + j] = src[j];
        at += size;
    }
    if (at != nValues) return fail(c, "fmi3GetFloat64: nValues does not match the variables' sizes");
    return OK;
}

int fmi3GetInt32(void *instance, const unsigned vr[], size_t nvr, int32_t values[], size_t nValues) {
    Instance *c = instance;
    size_t at = 0;
    for (size_t i = 0; i < nvr; i++) {
        if (vr[i] != VR_C || at + 2 > nValues) return fail(c, "fmi3GetInt32: no such variable, or nValues too small");
        values[at++] = c->c[0];
        values[at++] = c->c[1];
    }
    return at == nValues ? OK : fail(c, "fmi3GetInt32: nValues does not match");
}

int fmi3GetBoolean(void *instance, const unsigned vr[], size_t nvr, bool values[], size_t nValues) {
    Instance *c = instance;
    size_t at = 0;
    for (size_t i = 0; i < nvr; i++) {
        if (vr[i] != VR_B || at + 3 > nValues) return fail(c, "fmi3GetBoolean: no such variable, or nValues too small");
        for (int j = 0; j < 3; j++) values[at++] = c->b[j];
    }
    return at == nValues ? OK : fail(c, "fmi3GetBoolean: nValues does not match");
}
