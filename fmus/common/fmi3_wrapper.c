/* FMI 3.0 co-simulation wrapper around the model API in model.h (shared logic in fmu_core.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmi3Functions.h"
#include "model.h"
#include "fmu_core.h"

typedef struct {
    FmuCore core; /* first member */
    fmi3InstanceEnvironment env;
    fmi3LogMessageCallback logger;
} Instance;

#define STATUS(failed) ((failed) ? fmi3Error : fmi3OK)

static void inst_log(Instance *c, fmi3Status status, const char *category, const char *fmt, ...) {
    char buf[MODEL_MSG_LEN + 256];
    va_list ap;
    if (!c || !c->logger) return;
    if (status == fmi3OK && !c->core.logging_on) return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    c->logger(c->env, status, category, buf);
}

static void model_log_cb(void *env, int is_error, const char *msg) {
    Instance *c = (Instance *)env;
    inst_log(c, is_error ? fmi3Error : fmi3Warning, is_error ? "logStatusError" : "logStatusWarning", "%s", msg);
}

#define CHECK_INST(fn) \
    Instance *c = (Instance *)instance; \
    if (!c) return fmi3Error; \
    if (fmu_in_error(&c->core, fn)) return fmi3Error;

const char *fmi3GetVersion(void) { return fmi3Version; }

fmi3Status fmi3SetDebugLogging(fmi3Instance instance, fmi3Boolean loggingOn, size_t nCategories, const fmi3String categories[]) {
    Instance *c = (Instance *)instance;
    (void)nCategories; (void)categories;
    if (!c) return fmi3Error;
    c->core.logging_on = loggingOn ? 1 : 0;
    return fmi3OK;
}

fmi3Instance fmi3InstantiateCoSimulation(fmi3String instanceName, fmi3String instantiationToken, fmi3String resourcePath,
                                         fmi3Boolean visible, fmi3Boolean loggingOn, fmi3Boolean eventModeUsed,
                                         fmi3Boolean earlyReturnAllowed, const fmi3ValueReference requiredIntermediateVariables[],
                                         size_t nRequiredIntermediateVariables, fmi3InstanceEnvironment instanceEnvironment,
                                         fmi3LogMessageCallback logMessage, fmi3IntermediateUpdateCallback intermediateUpdate) {
    Instance *c;
    (void)resourcePath; (void)visible; (void)earlyReturnAllowed; (void)requiredIntermediateVariables;
    (void)nRequiredIntermediateVariables; (void)intermediateUpdate;
    if (!instanceName) return NULL;
    if (eventModeUsed) {
        if (logMessage) logMessage(instanceEnvironment, fmi3Error, "logStatusError", "event mode is not supported");
        return NULL;
    }
    if (!instantiationToken || strcmp(instantiationToken, INSTANTIATION_TOKEN) != 0) {
        if (logMessage)
            logMessage(instanceEnvironment, fmi3Error, "logStatusError", "instantiationToken mismatch: expected " INSTANTIATION_TOKEN);
        return NULL;
    }
    c = (Instance *)calloc(1, sizeof(Instance));
    if (!c) return NULL;
    c->env = instanceEnvironment;
    c->logger = logMessage;
    if (fmu_core_init(&c->core, instanceName, loggingOn, c, model_log_cb)) { free(c); return NULL; }
    return c;
}

fmi3Instance fmi3InstantiateModelExchange(fmi3String instanceName, fmi3String instantiationToken, fmi3String resourcePath,
                                          fmi3Boolean visible, fmi3Boolean loggingOn, fmi3InstanceEnvironment instanceEnvironment,
                                          fmi3LogMessageCallback logMessage) {
    (void)instanceName; (void)instantiationToken; (void)resourcePath; (void)visible; (void)loggingOn;
    if (logMessage) logMessage(instanceEnvironment, fmi3Error, "logStatusError", "model exchange is not supported");
    return NULL;
}

fmi3Instance fmi3InstantiateScheduledExecution(fmi3String instanceName, fmi3String instantiationToken, fmi3String resourcePath,
                                               fmi3Boolean visible, fmi3Boolean loggingOn, fmi3InstanceEnvironment instanceEnvironment,
                                               fmi3LogMessageCallback logMessage, fmi3ClockUpdateCallback clockUpdate,
                                               fmi3LockPreemptionCallback lockPreemption, fmi3UnlockPreemptionCallback unlockPreemption) {
    (void)instanceName; (void)instantiationToken; (void)resourcePath; (void)visible; (void)loggingOn;
    (void)clockUpdate; (void)lockPreemption; (void)unlockPreemption;
    if (logMessage) logMessage(instanceEnvironment, fmi3Error, "logStatusError", "scheduled execution is not supported");
    return NULL;
}

void fmi3FreeInstance(fmi3Instance instance) {
    Instance *c = (Instance *)instance;
    if (!c) return;
    fmu_core_free(&c->core);
    free(c);
}

fmi3Status fmi3EnterInitializationMode(fmi3Instance instance, fmi3Boolean toleranceDefined, fmi3Float64 tolerance,
                                       fmi3Float64 startTime, fmi3Boolean stopTimeDefined, fmi3Float64 stopTime) {
    CHECK_INST("fmi3EnterInitializationMode")
    (void)toleranceDefined; (void)tolerance; (void)stopTimeDefined; (void)stopTime;
    if (fmu_require_state(&c->core, ST_INSTANTIATED, "fmi3EnterInitializationMode")) return fmi3Error;
    c->core.m.time = startTime;
    c->core.state = ST_INIT;
    return fmi3OK;
}

fmi3Status fmi3ExitInitializationMode(fmi3Instance instance) {
    CHECK_INST("fmi3ExitInitializationMode")
    return STATUS(fmu_exit_initialization(&c->core, "fmi3ExitInitializationMode"));
}

fmi3Status fmi3EnterStepMode(fmi3Instance instance) {
    CHECK_INST("fmi3EnterStepMode")
    return STATUS(fmu_require_state(&c->core, ST_STEP, "fmi3EnterStepMode"));
}

fmi3Status fmi3Terminate(fmi3Instance instance) {
    Instance *c = (Instance *)instance;
    if (!c) return fmi3Error;
    c->core.state = ST_TERMINATED;
    return fmi3OK;
}

fmi3Status fmi3Reset(fmi3Instance instance) {
    Instance *c = (Instance *)instance;
    if (!c) return fmi3Error;
    fmu_core_reset(&c->core, c, model_log_cb);
    return fmi3OK;
}

fmi3Status fmi3GetFloat64(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr, fmi3Float64 values[], size_t nValues) {
    CHECK_INST("fmi3GetFloat64")
    if (nValues < nvr) return fmi3Error;
    return STATUS(fmu_get_real(&c->core, vr, nvr, values, "fmi3GetFloat64"));
}

fmi3Status fmi3GetInt32(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr, fmi3Int32 values[], size_t nValues) {
    CHECK_INST("fmi3GetInt32")
    if (nValues < nvr) return fmi3Error;
    return STATUS(fmu_get_int(&c->core, vr, nvr, values, "fmi3GetInt32"));
}

fmi3Status fmi3SetFloat64(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr, const fmi3Float64 values[], size_t nValues) {
    CHECK_INST("fmi3SetFloat64")
    if (nValues < nvr) return fmi3Error;
    return STATUS(fmu_set_real(&c->core, vr, nvr, values, "fmi3SetFloat64"));
}

fmi3Status fmi3SetInt32(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr, const fmi3Int32 values[], size_t nValues) {
    CHECK_INST("fmi3SetInt32")
    if (nValues < nvr) return fmi3Error;
    return STATUS(fmu_set_int(&c->core, vr, nvr, values, "fmi3SetInt32"));
}

fmi3Status fmi3DoStep(fmi3Instance instance, fmi3Float64 currentCommunicationPoint, fmi3Float64 communicationStepSize,
                      fmi3Boolean noSetFMUStatePriorToCurrentPoint, fmi3Boolean *eventHandlingNeeded,
                      fmi3Boolean *terminateSimulation, fmi3Boolean *earlyReturn, fmi3Float64 *lastSuccessfulTime) {
    int failed;
    CHECK_INST("fmi3DoStep")
    (void)noSetFMUStatePriorToCurrentPoint;
    if (eventHandlingNeeded) *eventHandlingNeeded = fmi3False;
    if (terminateSimulation) *terminateSimulation = fmi3False;
    if (earlyReturn) *earlyReturn = fmi3False;
    failed = fmu_do_step(&c->core, currentCommunicationPoint, communicationStepSize, "fmi3DoStep");
    if (lastSuccessfulTime) *lastSuccessfulTime = c->core.m.time;
    return STATUS(failed);
}

/* ---- unsupported functions: present so that importers can load the library ---- */
#define UNSUPPORTED(fn) \
    { Instance *c_ = (Instance *)instance; inst_log(c_, fmi3Error, "logStatusError", "%s is not supported", fn); return fmi3Error; }

#define GETSET_STUBS(T) \
    fmi3Status fmi3Get##T(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr, fmi3##T values[], size_t nValues) \
    { (void)vr; (void)nvr; (void)values; (void)nValues; UNSUPPORTED("fmi3Get" #T) } \
    fmi3Status fmi3Set##T(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr, const fmi3##T values[], size_t nValues) \
    { (void)vr; (void)nvr; (void)values; (void)nValues; UNSUPPORTED("fmi3Set" #T) }

GETSET_STUBS(Float32)
GETSET_STUBS(Int8)
GETSET_STUBS(UInt8)
GETSET_STUBS(Int16)
GETSET_STUBS(UInt16)
GETSET_STUBS(UInt32)
GETSET_STUBS(Int64)
GETSET_STUBS(UInt64)
GETSET_STUBS(Boolean)
GETSET_STUBS(String)

fmi3Status fmi3GetBinary(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr, size_t valueSizes[], fmi3Binary values[], size_t nValues)
{ (void)vr; (void)nvr; (void)valueSizes; (void)values; (void)nValues; UNSUPPORTED("fmi3GetBinary") }
fmi3Status fmi3SetBinary(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr, const size_t valueSizes[], const fmi3Binary values[], size_t nValues)
{ (void)vr; (void)nvr; (void)valueSizes; (void)values; (void)nValues; UNSUPPORTED("fmi3SetBinary") }
fmi3Status fmi3GetClock(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr, fmi3Clock values[])
{ (void)vr; (void)nvr; (void)values; UNSUPPORTED("fmi3GetClock") }
fmi3Status fmi3SetClock(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr, const fmi3Clock values[])
{ (void)vr; (void)nvr; (void)values; UNSUPPORTED("fmi3SetClock") }
fmi3Status fmi3GetNumberOfVariableDependencies(fmi3Instance instance, fmi3ValueReference vr, size_t *n)
{ (void)vr; (void)n; UNSUPPORTED("fmi3GetNumberOfVariableDependencies") }
fmi3Status fmi3GetVariableDependencies(fmi3Instance instance, fmi3ValueReference dependent, size_t eiod[], fmi3ValueReference independents[],
                                       size_t eioi[], fmi3DependencyKind kinds[], size_t n)
{ (void)dependent; (void)eiod; (void)independents; (void)eioi; (void)kinds; (void)n; UNSUPPORTED("fmi3GetVariableDependencies") }
fmi3Status fmi3GetFMUState(fmi3Instance instance, fmi3FMUState *s) { (void)s; UNSUPPORTED("fmi3GetFMUState") }
fmi3Status fmi3SetFMUState(fmi3Instance instance, fmi3FMUState s) { (void)s; UNSUPPORTED("fmi3SetFMUState") }
fmi3Status fmi3FreeFMUState(fmi3Instance instance, fmi3FMUState *s) { (void)s; UNSUPPORTED("fmi3FreeFMUState") }
fmi3Status fmi3SerializedFMUStateSize(fmi3Instance instance, fmi3FMUState s, size_t *n) { (void)s; (void)n; UNSUPPORTED("fmi3SerializedFMUStateSize") }
fmi3Status fmi3SerializeFMUState(fmi3Instance instance, fmi3FMUState s, fmi3Byte b[], size_t n) { (void)s; (void)b; (void)n; UNSUPPORTED("fmi3SerializeFMUState") }
fmi3Status fmi3DeserializeFMUState(fmi3Instance instance, const fmi3Byte b[], size_t n, fmi3FMUState *s) { (void)s; (void)b; (void)n; UNSUPPORTED("fmi3DeserializeFMUState") }
fmi3Status fmi3GetDirectionalDerivative(fmi3Instance instance, const fmi3ValueReference u[], size_t nu, const fmi3ValueReference k[], size_t nk,
                                        const fmi3Float64 seed[], size_t ns, fmi3Float64 sens[], size_t nsens)
{ (void)u; (void)nu; (void)k; (void)nk; (void)seed; (void)ns; (void)sens; (void)nsens; UNSUPPORTED("fmi3GetDirectionalDerivative") }
fmi3Status fmi3GetAdjointDerivative(fmi3Instance instance, const fmi3ValueReference u[], size_t nu, const fmi3ValueReference k[], size_t nk,
                                    const fmi3Float64 seed[], size_t ns, fmi3Float64 sens[], size_t nsens)
{ (void)u; (void)nu; (void)k; (void)nk; (void)seed; (void)ns; (void)sens; (void)nsens; UNSUPPORTED("fmi3GetAdjointDerivative") }
fmi3Status fmi3EnterConfigurationMode(fmi3Instance instance) { UNSUPPORTED("fmi3EnterConfigurationMode") }
fmi3Status fmi3ExitConfigurationMode(fmi3Instance instance) { UNSUPPORTED("fmi3ExitConfigurationMode") }
fmi3Status fmi3GetIntervalDecimal(fmi3Instance instance, const fmi3ValueReference vr[], size_t n, fmi3Float64 iv[], fmi3IntervalQualifier q[])
{ (void)vr; (void)n; (void)iv; (void)q; UNSUPPORTED("fmi3GetIntervalDecimal") }
fmi3Status fmi3GetIntervalFraction(fmi3Instance instance, const fmi3ValueReference vr[], size_t n, fmi3UInt64 c[], fmi3UInt64 r[], fmi3IntervalQualifier q[])
{ (void)vr; (void)n; (void)c; (void)r; (void)q; UNSUPPORTED("fmi3GetIntervalFraction") }
fmi3Status fmi3GetShiftDecimal(fmi3Instance instance, const fmi3ValueReference vr[], size_t n, fmi3Float64 s[])
{ (void)vr; (void)n; (void)s; UNSUPPORTED("fmi3GetShiftDecimal") }
fmi3Status fmi3GetShiftFraction(fmi3Instance instance, const fmi3ValueReference vr[], size_t n, fmi3UInt64 c[], fmi3UInt64 r[])
{ (void)vr; (void)n; (void)c; (void)r; UNSUPPORTED("fmi3GetShiftFraction") }
fmi3Status fmi3SetIntervalDecimal(fmi3Instance instance, const fmi3ValueReference vr[], size_t n, const fmi3Float64 iv[])
{ (void)vr; (void)n; (void)iv; UNSUPPORTED("fmi3SetIntervalDecimal") }
fmi3Status fmi3SetIntervalFraction(fmi3Instance instance, const fmi3ValueReference vr[], size_t n, const fmi3UInt64 c[], const fmi3UInt64 r[])
{ (void)vr; (void)n; (void)c; (void)r; UNSUPPORTED("fmi3SetIntervalFraction") }
fmi3Status fmi3SetShiftDecimal(fmi3Instance instance, const fmi3ValueReference vr[], size_t n, const fmi3Float64 s[])
{ (void)vr; (void)n; (void)s; UNSUPPORTED("fmi3SetShiftDecimal") }
fmi3Status fmi3SetShiftFraction(fmi3Instance instance, const fmi3ValueReference vr[], size_t n, const fmi3UInt64 c[], const fmi3UInt64 r[])
{ (void)vr; (void)n; (void)c; (void)r; UNSUPPORTED("fmi3SetShiftFraction") }
fmi3Status fmi3EvaluateDiscreteStates(fmi3Instance instance) { UNSUPPORTED("fmi3EvaluateDiscreteStates") }
fmi3Status fmi3UpdateDiscreteStates(fmi3Instance instance, fmi3Boolean *a, fmi3Boolean *b, fmi3Boolean *d, fmi3Boolean *e, fmi3Boolean *f, fmi3Float64 *g)
{ (void)a; (void)b; (void)d; (void)e; (void)f; (void)g; UNSUPPORTED("fmi3UpdateDiscreteStates") }
fmi3Status fmi3EnterEventMode(fmi3Instance instance) { UNSUPPORTED("fmi3EnterEventMode") }
fmi3Status fmi3EnterContinuousTimeMode(fmi3Instance instance) { UNSUPPORTED("fmi3EnterContinuousTimeMode") }
fmi3Status fmi3CompletedIntegratorStep(fmi3Instance instance, fmi3Boolean a, fmi3Boolean *b, fmi3Boolean *d)
{ (void)a; (void)b; (void)d; UNSUPPORTED("fmi3CompletedIntegratorStep") }
fmi3Status fmi3SetTime(fmi3Instance instance, fmi3Float64 t) { (void)t; UNSUPPORTED("fmi3SetTime") }
fmi3Status fmi3SetContinuousStates(fmi3Instance instance, const fmi3Float64 x[], size_t n) { (void)x; (void)n; UNSUPPORTED("fmi3SetContinuousStates") }
fmi3Status fmi3GetContinuousStateDerivatives(fmi3Instance instance, fmi3Float64 x[], size_t n) { (void)x; (void)n; UNSUPPORTED("fmi3GetContinuousStateDerivatives") }
fmi3Status fmi3GetEventIndicators(fmi3Instance instance, fmi3Float64 x[], size_t n) { (void)x; (void)n; UNSUPPORTED("fmi3GetEventIndicators") }
fmi3Status fmi3GetContinuousStates(fmi3Instance instance, fmi3Float64 x[], size_t n) { (void)x; (void)n; UNSUPPORTED("fmi3GetContinuousStates") }
fmi3Status fmi3GetNominalsOfContinuousStates(fmi3Instance instance, fmi3Float64 x[], size_t n) { (void)x; (void)n; UNSUPPORTED("fmi3GetNominalsOfContinuousStates") }
fmi3Status fmi3GetNumberOfEventIndicators(fmi3Instance instance, size_t *n) { (void)n; UNSUPPORTED("fmi3GetNumberOfEventIndicators") }
fmi3Status fmi3GetNumberOfContinuousStates(fmi3Instance instance, size_t *n) { (void)n; UNSUPPORTED("fmi3GetNumberOfContinuousStates") }
fmi3Status fmi3GetOutputDerivatives(fmi3Instance instance, const fmi3ValueReference vr[], size_t nvr, const fmi3Int32 orders[], fmi3Float64 values[], size_t nValues)
{ (void)vr; (void)nvr; (void)orders; (void)values; (void)nValues; UNSUPPORTED("fmi3GetOutputDerivatives") }
fmi3Status fmi3ActivateModelPartition(fmi3Instance instance, fmi3ValueReference clockReference, fmi3Float64 activationTime)
{ (void)clockReference; (void)activationTime; UNSUPPORTED("fmi3ActivateModelPartition") }
