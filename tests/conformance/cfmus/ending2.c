/* FMI 2.0 co-simulation FMU that ends the simulation as the standard says: doStep returns fmi2Discard, and
 * fmi2GetBooleanStatus(fmi2Terminated) is true, with fmi2LastSuccessfulTime where it got (see ending.h). */
#include "ending.h"

typedef enum { OK = 0, WARNING = 1, DISCARD = 2, ERROR = 3 } Status;

const char *fmi2GetVersion(void) { return "2.0"; }
const char *fmi2GetTypesPlatform(void) { return "default"; }

void *fmi2Instantiate(const char *name, int type, const char *guid, const char *resources, const void *functions,
                      int visible, int loggingOn) {
    Model *m = calloc(1, sizeof(Model));
    if (m) m->t_end = 2.5;
    return m;
}
void fmi2FreeInstance(void *c) { free(c); }
int fmi2SetDebugLogging(void *c, int on, size_t n, const char *categories[]) { return OK; }
int fmi2SetupExperiment(void *c, int tolDefined, double tol, double start, int stopDefined, double stop) {
    ((Model *)c)->time = start;
    return OK;
}
int fmi2EnterInitializationMode(void *c) { return OK; }
int fmi2ExitInitializationMode(void *c) { return OK; }
int fmi2Terminate(void *c) { return OK; }
int fmi2Reset(void *c) { return OK; }

int fmi2GetReal(void *c, const unsigned vr[], size_t n, double value[]) {
    for (size_t i = 0; i < n; i++) {
        double *v = model_var(c, vr[i]);
        if (!v) return ERROR;
        value[i] = *v;
    }
    return OK;
}
int fmi2SetReal(void *c, const unsigned vr[], size_t n, const double value[]) {
    for (size_t i = 0; i < n; i++) {
        double *v = model_var(c, vr[i]);
        if (!v || vr[i] == VR_TIME || vr[i] == VR_Y || vr[i] == VR_Z) return ERROR;
        *v = value[i];
    }
    return OK;
}
int fmi2DoStep(void *c, double t, double h, int noSetFMUStatePriorToCurrentPoint) {
    Model *m = c;
    if (m->terminated) return ERROR;  /* it asked to end: stepping on is the master's error */
    return model_step(m, t, h, 1) ? DISCARD : OK;
}
int fmi2GetBooleanStatus(void *c, int kind, int *value) {
    if (kind != 3) return DISCARD;  /* fmi2Terminated only */
    *value = ((Model *)c)->terminated;
    return OK;
}
int fmi2GetRealStatus(void *c, int kind, double *value) {
    if (kind != 2) return DISCARD;  /* fmi2LastSuccessfulTime only */
    *value = ((Model *)c)->last;
    return OK;
}
