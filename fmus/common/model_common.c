/* Generic model helpers shared by all twins (included by the wrappers). */
#include <math.h>
#include <stdio.h>
#include "model.h"

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
