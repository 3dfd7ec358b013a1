/* FMI 2.0 co-simulation wrapper around the model API in model.h (shared logic in fmu_core.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmi2Functions.h"
#include "model.h"
#include "fmu_core.h"

typedef struct {
    FmuCore core; /* first member */
    fmi2CallbackFunctions cb;
} Instance;

#define STATUS(failed) ((failed) ? fmi2Error : fmi2OK)

static void inst_log(Instance *c, fmi2Status status, const char *category, const char *fmt, ...) {
    char buf[MODEL_MSG_LEN + 256];
    va_list ap;
    if (!c || !c->cb.logger) return;
    if (status == fmi2OK && !c->core.logging_on) return;
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
        c->cb.logger(c->cb.componentEnvironment, c->core.name, status, category, esc);
    }
}

static void model_log_cb(void *env, int is_error, const char *msg) {
    Instance *c = (Instance *)env;
    inst_log(c, is_error ? fmi2Error : fmi2Warning, is_error ? "logStatusError" : "logStatusWarning", "%s", msg);
}

#define CHECK_INST(fn) \
    Instance *c = (Instance *)comp; \
    if (!c) return fmi2Error; \
    if (fmu_in_error(&c->core, fn)) return fmi2Error;

const char *fmi2GetTypesPlatform(void) { return fmi2TypesPlatform; }
const char *fmi2GetVersion(void) { return fmi2Version; }

fmi2Status fmi2SetDebugLogging(fmi2Component comp, fmi2Boolean loggingOn, size_t nCategories, const fmi2String categories[]) {
    Instance *c = (Instance *)comp;
    (void)nCategories; (void)categories;
    if (!c) return fmi2Error;
    c->core.logging_on = loggingOn ? 1 : 0;
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
    c->cb = *functions;
    if (fmu_core_init(&c->core, instanceName, loggingOn, c, model_log_cb)) { free(c); return NULL; }
    return c;
}

void fmi2FreeInstance(fmi2Component comp) {
    Instance *c = (Instance *)comp;
    if (!c) return;
    fmu_core_free(&c->core);
    free(c);
}

fmi2Status fmi2SetupExperiment(fmi2Component comp, fmi2Boolean toleranceDefined, fmi2Real tolerance,
                               fmi2Real startTime, fmi2Boolean stopTimeDefined, fmi2Real stopTime) {
    CHECK_INST("fmi2SetupExperiment")
    (void)toleranceDefined; (void)tolerance; (void)stopTimeDefined; (void)stopTime;
    if (fmu_require_state(&c->core, ST_INSTANTIATED, "fmi2SetupExperiment")) return fmi2Error;
    c->core.m.time = startTime;
    return fmi2OK;
}

fmi2Status fmi2EnterInitializationMode(fmi2Component comp) {
    CHECK_INST("fmi2EnterInitializationMode")
    if (fmu_require_state(&c->core, ST_INSTANTIATED, "fmi2EnterInitializationMode")) return fmi2Error;
    c->core.state = ST_INIT;
    return fmi2OK;
}

fmi2Status fmi2ExitInitializationMode(fmi2Component comp) {
    CHECK_INST("fmi2ExitInitializationMode")
    return STATUS(fmu_exit_initialization(&c->core, "fmi2ExitInitializationMode"));
}

fmi2Status fmi2Terminate(fmi2Component comp) {
    Instance *c = (Instance *)comp;
    if (!c) return fmi2Error;
    c->core.state = ST_TERMINATED;
    return fmi2OK;
}

fmi2Status fmi2Reset(fmi2Component comp) {
    Instance *c = (Instance *)comp;
    if (!c) return fmi2Error;
    fmu_core_reset(&c->core, c, model_log_cb);
    return fmi2OK;
}

fmi2Status fmi2GetReal(fmi2Component comp, const fmi2ValueReference vr[], size_t nvr, fmi2Real value[]) {
    CHECK_INST("fmi2GetReal")
    return STATUS(fmu_get_real(&c->core, vr, nvr, value, "fmi2GetReal"));
}

fmi2Status fmi2GetInteger(fmi2Component comp, const fmi2ValueReference vr[], size_t nvr, fmi2Integer value[]) {
    CHECK_INST("fmi2GetInteger")
    return STATUS(fmu_get_int(&c->core, vr, nvr, value, "fmi2GetInteger"));
}

fmi2Status fmi2SetReal(fmi2Component comp, const fmi2ValueReference vr[], size_t nvr, const fmi2Real value[]) {
    CHECK_INST("fmi2SetReal")
    return STATUS(fmu_set_real(&c->core, vr, nvr, value, "fmi2SetReal"));
}

fmi2Status fmi2SetInteger(fmi2Component comp, const fmi2ValueReference vr[], size_t nvr, const fmi2Integer value[]) {
    CHECK_INST("fmi2SetInteger")
    return STATUS(fmu_set_int(&c->core, vr, nvr, value, "fmi2SetInteger"));
}

fmi2Status fmi2DoStep(fmi2Component comp, fmi2Real currentCommunicationPoint, fmi2Real communicationStepSize,
                      fmi2Boolean noSetFMUStatePriorToCurrentPoint) {
    CHECK_INST("fmi2DoStep")
    (void)noSetFMUStatePriorToCurrentPoint;
    return STATUS(fmu_do_step(&c->core, currentCommunicationPoint, communicationStepSize, "fmi2DoStep"));
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
    if (c && s == fmi2LastSuccessfulTime) { *v = c->core.m.time; return fmi2OK; }
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
