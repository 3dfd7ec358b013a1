/* FMI 2.0 co-simulation wrapper around the model API in model.h. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmi2Functions.h"
#include "model.h"

typedef enum { ST_INSTANTIATED, ST_INIT, ST_STEP, ST_TERMINATED, ST_ERROR } State;

typedef struct {
    ModelData m;
    State state;
    char *name;
    fmi2CallbackFunctions cb;
    int logging_on;
    int initialized_model;
} Instance;

static void inst_log(Instance *c, fmi2Status status, const char *category, const char *fmt, ...) {
    char buf[MODEL_MSG_LEN + 256];
    va_list ap;
    if (!c || !c->cb.logger) return;
    if (status == fmi2OK && !c->logging_on) return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    /* pass the text as the format itself (with '%' escaped) so that importers that
       cannot expand varargs (e.g. ctypes callbacks) still see the full message */
    {
        char esc[2 * (MODEL_MSG_LEN + 256)];
        size_t i, j = 0;
        for (i = 0; buf[i] && j + 2 < sizeof(esc); i++) {
            if (buf[i] == '%') esc[j++] = '%';
            esc[j++] = buf[i];
        }
        esc[j] = '\0';
        c->cb.logger(c->cb.componentEnvironment, c->name, status, category, esc);
    }
}

static void model_log_cb(void *env, int is_error, const char *msg) {
    Instance *c = (Instance *)env;
    inst_log(c, is_error ? fmi2Error : fmi2Warning, is_error ? "logStatusError" : "logStatusWarning", "%s", msg);
}

static fmi2Status wrong_state(Instance *c, const char *fn) {
    inst_log(c, fmi2Error, "logStatusError", "%s called in wrong state", fn);
    return fmi2Error;
}

#define CHECK_INST(fn) \
    Instance *c = (Instance *)comp; \
    if (!c) return fmi2Error; \
    if (c->state == ST_ERROR) { inst_log(c, fmi2Error, "logStatusError", "%s: instance is in error state", fn); return fmi2Error; }

const char *fmi2GetTypesPlatform(void) { return fmi2TypesPlatform; }
const char *fmi2GetVersion(void) { return fmi2Version; }

fmi2Status fmi2SetDebugLogging(fmi2Component comp, fmi2Boolean loggingOn, size_t nCategories, const fmi2String categories[]) {
    Instance *c = (Instance *)comp;
    (void)nCategories; (void)categories;
    if (!c) return fmi2Error;
    c->logging_on = loggingOn ? 1 : 0;
    return fmi2OK;
}

fmi2Component fmi2Instantiate(fmi2String instanceName, fmi2Type fmuType, fmi2String fmuGUID,
                              fmi2String fmuResourceLocation, const fmi2CallbackFunctions *functions,
                              fmi2Boolean visible, fmi2Boolean loggingOn) {
    Instance *c;
    (void)fmuResourceLocation; (void)visible;
    if (!functions || !instanceName) return NULL;
    if (fmuType != fmi2CoSimulation) {
        if (functions->logger)
            functions->logger(functions->componentEnvironment, instanceName, fmi2Error, "logStatusError",
                              "%s supports co-simulation only", MODEL_IDENTIFIER);
        return NULL;
    }
    if (!fmuGUID || strcmp(fmuGUID, INSTANTIATION_TOKEN) != 0) {
        if (functions->logger)
            functions->logger(functions->componentEnvironment, instanceName, fmi2Error, "logStatusError",
                              "GUID mismatch: expected %s", INSTANTIATION_TOKEN);
        return NULL;
    }
    c = (Instance *)calloc(1, sizeof(Instance));
    if (!c) return NULL;
    c->name = (char *)malloc(strlen(instanceName) + 1);
    if (!c->name) { free(c); return NULL; }
    strcpy(c->name, instanceName);
    c->cb = *functions;
    c->logging_on = loggingOn ? 1 : 0;
    c->state = ST_INSTANTIATED;
    model_setup_defaults(&c->m);
    c->m.log_env = c;
    c->m.log = model_log_cb;
    return c;
}

void fmi2FreeInstance(fmi2Component comp) {
    Instance *c = (Instance *)comp;
    if (!c) return;
    if (c->initialized_model) model_free(&c->m);
    free(c->name);
    free(c);
}

fmi2Status fmi2SetupExperiment(fmi2Component comp, fmi2Boolean toleranceDefined, fmi2Real tolerance,
                               fmi2Real startTime, fmi2Boolean stopTimeDefined, fmi2Real stopTime) {
    CHECK_INST("fmi2SetupExperiment")
    (void)toleranceDefined; (void)tolerance; (void)stopTimeDefined; (void)stopTime;
    if (c->state != ST_INSTANTIATED) return wrong_state(c, "fmi2SetupExperiment");
    c->m.time = startTime;
    return fmi2OK;
}

fmi2Status fmi2EnterInitializationMode(fmi2Component comp) {
    CHECK_INST("fmi2EnterInitializationMode")
    if (c->state != ST_INSTANTIATED) return wrong_state(c, "fmi2EnterInitializationMode");
    c->state = ST_INIT;
    return fmi2OK;
}

static int check_inputs(Instance *c, const char *where) {
    int k;
    for (k = 0; k < N_VR; k++) {
        if (VAR_INFO[k].causality == CA_INPUT && VAR_INFO[k].type == VT_REAL && !isfinite(c->m.r[k])) {
            char buf[MODEL_MSG_LEN];
            snprintf(buf, sizeof(buf), "%s: input %s is not finite (got %g)", where, VAR_INFO[k].name, c->m.r[k]);
            inst_log(c, fmi2Error, "logStatusError", "%s", buf);
            return 1;
        }
    }
    return 0;
}

static int check_params(Instance *c, const char *where) {
    const char *bad = NULL;
    char msg[MODEL_MSG_LEN];
    msg[0] = '\0';
    if (model_validate(&c->m, &bad, msg)) {
        inst_log(c, fmi2Error, "logStatusError", "%s: %s", where, msg);
        return 1;
    }
    return 0;
}

fmi2Status fmi2ExitInitializationMode(fmi2Component comp) {
    CHECK_INST("fmi2ExitInitializationMode")
    if (c->state != ST_INIT) return wrong_state(c, "fmi2ExitInitializationMode");
    if (check_params(c, "fmi2ExitInitializationMode")) { c->state = ST_ERROR; return fmi2Error; }
    if (check_inputs(c, "fmi2ExitInitializationMode")) { c->state = ST_ERROR; return fmi2Error; }
    if (model_init(&c->m) != 0) {
        inst_log(c, fmi2Error, "logStatusError", "fmi2ExitInitializationMode: model initialization failed");
        c->state = ST_ERROR;
        return fmi2Error;
    }
    c->initialized_model = 1;
    c->state = ST_STEP;
    return fmi2OK;
}

fmi2Status fmi2Terminate(fmi2Component comp) {
    Instance *c = (Instance *)comp;
    if (!c) return fmi2Error;
    c->state = ST_TERMINATED;
    return fmi2OK;
}

fmi2Status fmi2Reset(fmi2Component comp) {
    Instance *c = (Instance *)comp;
    if (!c) return fmi2Error;
    if (c->initialized_model) model_free(&c->m);
    c->initialized_model = 0;
    memset(&c->m, 0, sizeof(c->m));
    model_setup_defaults(&c->m);
    c->m.log_env = c;
    c->m.log = model_log_cb;
    c->state = ST_INSTANTIATED;
    return fmi2OK;
}

static int vr_ok(Instance *c, fmi2ValueReference vr, VarType t, const char *fn) {
    if (vr >= N_VR || VAR_INFO[vr].name == NULL || VAR_INFO[vr].type != t) {
        inst_log(c, fmi2Error, "logStatusError", "%s: unknown value reference %u", fn, (unsigned)vr);
        return 0;
    }
    return 1;
}

static int settable(Instance *c, fmi2ValueReference vr, const char *fn) {
    const VarInfo *v = &VAR_INFO[vr];
    int ok = 0;
    if (v->causality == CA_INPUT) ok = 1;
    else if (v->causality == CA_PARAMETER)
        ok = (c->state == ST_INSTANTIATED || c->state == ST_INIT) || v->variability == VA_TUNABLE;
    if (!ok) inst_log(c, fmi2Error, "logStatusError", "%s: variable %s cannot be set in this state", fn, v->name);
    return ok;
}

fmi2Status fmi2GetReal(fmi2Component comp, const fmi2ValueReference vr[], size_t nvr, fmi2Real value[]) {
    size_t k;
    CHECK_INST("fmi2GetReal")
    for (k = 0; k < nvr; k++) {
        if (!vr_ok(c, vr[k], VT_REAL, "fmi2GetReal")) return fmi2Error;
        value[k] = (vr[k] == 0) ? c->m.time : c->m.r[vr[k]];
    }
    return fmi2OK;
}

fmi2Status fmi2GetInteger(fmi2Component comp, const fmi2ValueReference vr[], size_t nvr, fmi2Integer value[]) {
    size_t k;
    CHECK_INST("fmi2GetInteger")
    for (k = 0; k < nvr; k++) {
        if (!vr_ok(c, vr[k], VT_INTEGER, "fmi2GetInteger")) return fmi2Error;
        value[k] = c->m.i[vr[k]];
    }
    return fmi2OK;
}

fmi2Status fmi2SetReal(fmi2Component comp, const fmi2ValueReference vr[], size_t nvr, const fmi2Real value[]) {
    size_t k;
    CHECK_INST("fmi2SetReal")
    for (k = 0; k < nvr; k++) {
        if (!vr_ok(c, vr[k], VT_REAL, "fmi2SetReal") || !settable(c, vr[k], "fmi2SetReal")) return fmi2Error;
        c->m.r[vr[k]] = value[k];
    }
    return fmi2OK;
}

fmi2Status fmi2SetInteger(fmi2Component comp, const fmi2ValueReference vr[], size_t nvr, const fmi2Integer value[]) {
    size_t k;
    CHECK_INST("fmi2SetInteger")
    for (k = 0; k < nvr; k++) {
        if (!vr_ok(c, vr[k], VT_INTEGER, "fmi2SetInteger") || !settable(c, vr[k], "fmi2SetInteger")) return fmi2Error;
        c->m.i[vr[k]] = value[k];
    }
    return fmi2OK;
}

fmi2Status fmi2DoStep(fmi2Component comp, fmi2Real currentCommunicationPoint, fmi2Real communicationStepSize,
                      fmi2Boolean noSetFMUStatePriorToCurrentPoint) {
    CHECK_INST("fmi2DoStep")
    (void)noSetFMUStatePriorToCurrentPoint;
    if (c->state != ST_STEP) return wrong_state(c, "fmi2DoStep");
    if (!(communicationStepSize >= 0.0) || !isfinite(communicationStepSize))
        {
        inst_log(c, fmi2Error, "logStatusError", "fmi2DoStep: communication step size must be >= 0 (got %g)", communicationStepSize);
        return fmi2Error;
    }
    if (check_inputs(c, "fmi2DoStep")) return fmi2Error;
    if (check_params(c, "fmi2DoStep")) return fmi2Error;
    model_do_step(&c->m, currentCommunicationPoint, communicationStepSize);
    c->m.time = currentCommunicationPoint + communicationStepSize;
    return fmi2OK;
}

fmi2Status fmi2CancelStep(fmi2Component comp) { (void)comp; return fmi2Error; }

/* ---- unsupported functions: present so that importers can load the library ---- */
#define UNSUPPORTED(fn) \
    { Instance *c_ = (Instance *)comp; inst_log(c_, fmi2Error, "logStatusError", "%s is not supported", fn); return fmi2Error; }

fmi2Status fmi2GetBoolean(fmi2Component comp, const fmi2ValueReference vr[], size_t nvr, fmi2Boolean value[]) { (void)vr; (void)nvr; (void)value; UNSUPPORTED("fmi2GetBoolean") }
fmi2Status fmi2GetString(fmi2Component comp, const fmi2ValueReference vr[], size_t nvr, fmi2String value[]) { (void)vr; (void)nvr; (void)value; UNSUPPORTED("fmi2GetString") }
fmi2Status fmi2SetBoolean(fmi2Component comp, const fmi2ValueReference vr[], size_t nvr, const fmi2Boolean value[]) { (void)vr; (void)nvr; (void)value; UNSUPPORTED("fmi2SetBoolean") }
fmi2Status fmi2SetString(fmi2Component comp, const fmi2ValueReference vr[], size_t nvr, const fmi2String value[]) { (void)vr; (void)nvr; (void)value; UNSUPPORTED("fmi2SetString") }
fmi2Status fmi2GetFMUstate(fmi2Component comp, fmi2FMUstate *s) { (void)s; UNSUPPORTED("fmi2GetFMUstate") }
fmi2Status fmi2SetFMUstate(fmi2Component comp, fmi2FMUstate s) { (void)s; UNSUPPORTED("fmi2SetFMUstate") }
fmi2Status fmi2FreeFMUstate(fmi2Component comp, fmi2FMUstate *s) { (void)s; UNSUPPORTED("fmi2FreeFMUstate") }
fmi2Status fmi2SerializedFMUstateSize(fmi2Component comp, fmi2FMUstate s, size_t *n) { (void)s; (void)n; UNSUPPORTED("fmi2SerializedFMUstateSize") }
fmi2Status fmi2SerializeFMUstate(fmi2Component comp, fmi2FMUstate s, fmi2Byte b[], size_t n) { (void)s; (void)b; (void)n; UNSUPPORTED("fmi2SerializeFMUstate") }
fmi2Status fmi2DeSerializeFMUstate(fmi2Component comp, const fmi2Byte b[], size_t n, fmi2FMUstate *s) { (void)s; (void)b; (void)n; UNSUPPORTED("fmi2DeSerializeFMUstate") }
fmi2Status fmi2GetDirectionalDerivative(fmi2Component comp, const fmi2ValueReference u[], size_t nu, const fmi2ValueReference z[], size_t nz, const fmi2Real dv[], fmi2Real dz[]) { (void)u; (void)nu; (void)z; (void)nz; (void)dv; (void)dz; UNSUPPORTED("fmi2GetDirectionalDerivative") }
fmi2Status fmi2SetRealInputDerivatives(fmi2Component comp, const fmi2ValueReference vr[], size_t nvr, const fmi2Integer order[], const fmi2Real value[]) { (void)vr; (void)nvr; (void)order; (void)value; UNSUPPORTED("fmi2SetRealInputDerivatives") }
fmi2Status fmi2GetRealOutputDerivatives(fmi2Component comp, const fmi2ValueReference vr[], size_t nvr, const fmi2Integer order[], fmi2Real value[]) { (void)vr; (void)nvr; (void)order; (void)value; UNSUPPORTED("fmi2GetRealOutputDerivatives") }
fmi2Status fmi2GetStatus(fmi2Component comp, const fmi2StatusKind s, fmi2Status *v) { (void)s; (void)v; UNSUPPORTED("fmi2GetStatus") }
fmi2Status fmi2GetRealStatus(fmi2Component comp, const fmi2StatusKind s, fmi2Real *v) {
    Instance *c = (Instance *)comp;
    if (c && s == fmi2LastSuccessfulTime) { *v = c->m.time; return fmi2OK; }
    UNSUPPORTED("fmi2GetRealStatus")
}
fmi2Status fmi2GetIntegerStatus(fmi2Component comp, const fmi2StatusKind s, fmi2Integer *v) { (void)s; (void)v; UNSUPPORTED("fmi2GetIntegerStatus") }
fmi2Status fmi2GetBooleanStatus(fmi2Component comp, const fmi2StatusKind s, fmi2Boolean *v) { (void)s; (void)v; UNSUPPORTED("fmi2GetBooleanStatus") }
fmi2Status fmi2GetStringStatus(fmi2Component comp, const fmi2StatusKind s, fmi2String *v) { (void)s; (void)v; UNSUPPORTED("fmi2GetStringStatus") }
/* model-exchange only */
fmi2Status fmi2EnterEventMode(fmi2Component comp) { UNSUPPORTED("fmi2EnterEventMode") }
fmi2Status fmi2NewDiscreteStates(fmi2Component comp, fmi2EventInfo *e) { (void)e; UNSUPPORTED("fmi2NewDiscreteStates") }
fmi2Status fmi2EnterContinuousTimeMode(fmi2Component comp) { UNSUPPORTED("fmi2EnterContinuousTimeMode") }
fmi2Status fmi2CompletedIntegratorStep(fmi2Component comp, fmi2Boolean a, fmi2Boolean *b, fmi2Boolean *d) { (void)a; (void)b; (void)d; UNSUPPORTED("fmi2CompletedIntegratorStep") }
fmi2Status fmi2SetTime(fmi2Component comp, fmi2Real t) { (void)t; UNSUPPORTED("fmi2SetTime") }
fmi2Status fmi2SetContinuousStates(fmi2Component comp, const fmi2Real x[], size_t nx) { (void)x; (void)nx; UNSUPPORTED("fmi2SetContinuousStates") }
fmi2Status fmi2GetDerivatives(fmi2Component comp, fmi2Real d[], size_t nx) { (void)d; (void)nx; UNSUPPORTED("fmi2GetDerivatives") }
fmi2Status fmi2GetEventIndicators(fmi2Component comp, fmi2Real e[], size_t ni) { (void)e; (void)ni; UNSUPPORTED("fmi2GetEventIndicators") }
fmi2Status fmi2GetContinuousStates(fmi2Component comp, fmi2Real x[], size_t nx) { (void)x; (void)nx; UNSUPPORTED("fmi2GetContinuousStates") }
fmi2Status fmi2GetNominalsOfContinuousStates(fmi2Component comp, fmi2Real x[], size_t nx) { (void)x; (void)nx; UNSUPPORTED("fmi2GetNominalsOfContinuousStates") }
