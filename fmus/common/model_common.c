/* Generic model helpers shared by all twins, and the FMI-version-neutral wrapper core (fmu_core.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"
#include "fmu_core.h"

void model_setup_defaults(ModelData *m) {
    int k;
    for (k = 0; k < N_VR; k++) {
        m->r[k] = VAR_INFO[k].start_real;
        m->i[k] = VAR_INFO[k].start_int;
    }
}

int model_substeps(double h, double dt_max) {
    double n;
    if (!(h > 0.0)) return 0;
    n = ceil(h / dt_max - 1e-9);
    if (n < 1.0) n = 1.0;
    if (n > 1e9) n = 1e9;
    return (int)n;
}

int model_param_error(const char *name, double value, const char *requirement, const char **bad_param_name, char *msg) {
    if (bad_param_name) *bad_param_name = name;
    if (msg) snprintf(msg, MODEL_MSG_LEN, "parameter %s must be %s (got %g)", name, requirement, value);
    return 1;
}

/* ---- FMI-version-neutral instance logic (see fmu_core.h) ---- */

void fmu_log_error(FmuCore *core, const char *fmt, ...) {
    char buf[MODEL_MSG_LEN + 256];
    va_list ap;
    if (!core->m.log) return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    core->m.log(core->m.log_env, 1, buf);
}

static void fmu_core_defaults(FmuCore *core, void *log_env, FmuLogFn log) {
    model_setup_defaults(&core->m);
    core->m.log_env = log_env;
    core->m.log = log;
    core->state = ST_INSTANTIATED;
}

int fmu_core_init(FmuCore *core, const char *instance_name, int logging_on, void *log_env, FmuLogFn log) {
    core->name = (char *)malloc(strlen(instance_name) + 1);
    if (!core->name) return 1;
    strcpy(core->name, instance_name);
    core->logging_on = logging_on ? 1 : 0;
    fmu_core_defaults(core, log_env, log);
    return 0;
}

void fmu_core_free(FmuCore *core) {
    if (core->initialized_model) model_free(&core->m);
    core->initialized_model = 0;
    free(core->name);
    core->name = NULL;
}

void fmu_core_reset(FmuCore *core, void *log_env, FmuLogFn log) {
    if (core->initialized_model) model_free(&core->m);
    core->initialized_model = 0;
    memset(&core->m, 0, sizeof(core->m));
    fmu_core_defaults(core, log_env, log);
}

int fmu_in_error(FmuCore *core, const char *fn) {
    if (core->state != ST_ERROR) return 0;
    fmu_log_error(core, "%s: instance is in error state", fn);
    return 1;
}

int fmu_require_state(FmuCore *core, State expected, const char *fn) {
    if (core->state == expected) return 0;
    fmu_log_error(core, "%s called in wrong state", fn);
    return 1;
}

static int fmu_check_inputs(FmuCore *core, const char *where) {
    int k;
    for (k = 0; k < N_VR; k++) {
        if (VAR_INFO[k].causality == CA_INPUT && VAR_INFO[k].type == VT_REAL && !isfinite(core->m.r[k])) {
            fmu_log_error(core, "%s: input %s is not finite (got %g)", where, VAR_INFO[k].name, core->m.r[k]);
            return 1;
        }
    }
    return 0;
}

static int fmu_check_params(FmuCore *core, const char *where) {
    const char *bad = NULL;
    char msg[MODEL_MSG_LEN];
    msg[0] = '\0';
    if (model_validate(&core->m, &bad, msg)) {
        fmu_log_error(core, "%s: %s", where, msg);
        return 1;
    }
    return 0;
}

int fmu_exit_initialization(FmuCore *core, const char *fn) {
    if (fmu_require_state(core, ST_INIT, fn)) return 1;
    if (fmu_check_params(core, fn) || fmu_check_inputs(core, fn)) { core->state = ST_ERROR; return 1; }
    if (model_init(&core->m) != 0) {
        fmu_log_error(core, "%s: model initialization failed", fn);
        core->state = ST_ERROR;
        return 1;
    }
    core->initialized_model = 1;
    core->state = ST_STEP;
    return 0;
}

int fmu_do_step(FmuCore *core, double t, double h, const char *fn) {
    if (fmu_require_state(core, ST_STEP, fn)) return 1;
    if (!(h >= 0.0) || !isfinite(h)) {
        fmu_log_error(core, "%s: communication step size must be >= 0 (got %g)", fn, h);
        return 1;
    }
    if (fmu_check_inputs(core, fn) || fmu_check_params(core, fn)) return 1;
    model_do_step(&core->m, t, h);
    core->m.time = t + h;
    return 0;
}

static int fmu_vr_ok(FmuCore *core, FmuValueReference vr, VarType t, const char *fn) {
    if (vr >= N_VR || VAR_INFO[vr].name == NULL || VAR_INFO[vr].type != t) {
        fmu_log_error(core, "%s: unknown value reference %u", fn, (unsigned)vr);
        return 0;
    }
    return 1;
}

static int fmu_settable(FmuCore *core, FmuValueReference vr, VarType t, const char *fn) {
    const VarInfo *v;
    int ok = 0;
    if (!fmu_vr_ok(core, vr, t, fn)) return 0;
    v = &VAR_INFO[vr];
    if (v->causality == CA_INPUT) ok = 1;
    else if (v->causality == CA_PARAMETER)
        ok = (core->state == ST_INSTANTIATED || core->state == ST_INIT) || v->variability == VA_TUNABLE;
    if (!ok) fmu_log_error(core, "%s: variable %s cannot be set in this state", fn, v->name);
    return ok;
}

int fmu_get_real(FmuCore *core, const FmuValueReference vr[], size_t nvr, double values[], const char *fn) {
    size_t k;
    for (k = 0; k < nvr; k++) {
        if (!fmu_vr_ok(core, vr[k], VT_REAL, fn)) return 1;
        values[k] = (vr[k] == 0) ? core->m.time : core->m.r[vr[k]];
    }
    return 0;
}

int fmu_get_int(FmuCore *core, const FmuValueReference vr[], size_t nvr, int values[], const char *fn) {
    size_t k;
    for (k = 0; k < nvr; k++) {
        if (!fmu_vr_ok(core, vr[k], VT_INTEGER, fn)) return 1;
        values[k] = core->m.i[vr[k]];
    }
    return 0;
}

int fmu_set_real(FmuCore *core, const FmuValueReference vr[], size_t nvr, const double values[], const char *fn) {
    size_t k;
    for (k = 0; k < nvr; k++) {
        if (!fmu_settable(core, vr[k], VT_REAL, fn)) return 1;
        core->m.r[vr[k]] = values[k];
    }
    return 0;
}

int fmu_set_int(FmuCore *core, const FmuValueReference vr[], size_t nvr, const int values[], const char *fn) {
    size_t k;
    for (k = 0; k < nvr; k++) {
        if (!fmu_settable(core, vr[k], VT_INTEGER, fn)) return 1;
        core->m.i[vr[k]] = values[k];
    }
    return 0;
}
