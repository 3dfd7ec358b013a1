/* FMI-version-neutral instance logic shared by fmi2_wrapper.c and fmi3_wrapper.c
   (implemented in model_common.c). Each wrapper embeds an FmuCore as the first member
   of its Instance and keeps only the thin FMI-specific signatures and callbacks.
   Helpers return 0 on success and 1 on failure (the wrapper maps that to fmi<N>Error);
   errors are reported through core->m.log (is_error = 1), i.e. the wrapper's logger
   with status Error and category "logStatusError". */
#ifndef FED_FMU_CORE_H
#define FED_FMU_CORE_H

#include <stddef.h>
#include "model.h"

typedef enum { ST_INSTANTIATED, ST_INIT, ST_STEP, ST_TERMINATED, ST_ERROR } State;

typedef void (*FmuLogFn)(void *log_env, int is_error, const char *msg);

typedef struct {
    ModelData m;
    State state;
    char *name;
    int logging_on;
    int initialized_model;
} FmuCore;

/* Value references of FMI 2.0 (fmi2ValueReference) and FMI 3.0 (fmi3ValueReference) are both 32-bit unsigned. */
typedef unsigned int FmuValueReference;

/* Log an error message (printf-style) through core->m.log. */
void fmu_log_error(FmuCore *core, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Copy the instance name, set start values and install the model log callback. 0 = ok, 1 = out of memory. */
int fmu_core_init(FmuCore *core, const char *instance_name, int logging_on, void *log_env, FmuLogFn log);
/* Release the model state (if initialized) and the instance name. */
void fmu_core_free(FmuCore *core);
/* Back to the instantiated state with start values. */
void fmu_core_reset(FmuCore *core, void *log_env, FmuLogFn log);

/* "<fn>: instance is in error state" if core is in ST_ERROR; returns 1 then. */
int fmu_in_error(FmuCore *core, const char *fn);
/* "<fn> called in wrong state" unless core->state == expected; returns 1 then. */
int fmu_require_state(FmuCore *core, State expected, const char *fn);

/* Validate parameters and inputs, initialize the model and enter ST_STEP (ST_ERROR on failure). */
int fmu_exit_initialization(FmuCore *core, const char *fn);
/* State, step size, input and parameter checks, then advance the model from t to t + h. */
int fmu_do_step(FmuCore *core, double t, double h, const char *fn);

/* Get/set loops with value-reference (and, for set, causality/state) validation. */
int fmu_get_real(FmuCore *core, const FmuValueReference vr[], size_t nvr, double values[], const char *fn);
int fmu_get_int(FmuCore *core, const FmuValueReference vr[], size_t nvr, int values[], const char *fn);
int fmu_set_real(FmuCore *core, const FmuValueReference vr[], size_t nvr, const double values[], const char *fn);
int fmu_set_int(FmuCore *core, const FmuValueReference vr[], size_t nvr, const int values[], const char *fn);

#endif
