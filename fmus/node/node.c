/* node twin: benchmark ring node, y lags toward gain*u + 1 (exact zero-order-hold discretization, no sub-steps). */
#include <math.h>
#include "model.h"

int model_validate(const ModelData *m, const char **bad, char *msg) {
    CHECK_PARAM("gain", R_(m, gain), isfinite(R_(m, gain)), "finite");
    CHECK_PARAM("tau", R_(m, tau), R_(m, tau) >= 0.0 && isfinite(R_(m, tau)), ">= 0 and finite");
    return 0;
}

static double target(const ModelData *m) {
    return R_(m, gain) * R_(m, u) + 1.0;
}

int model_init(ModelData *m) {
    m->priv = NULL;          /* the only state is y itself */
    R_(m, y) = target(m);    /* start in equilibrium with the start input */
    return 0;
}

void model_do_step(ModelData *m, double t, double h) {
    double tau = R_(m, tau);
    double x = target(m);    /* u is held over the communication step */
    (void)t;
    if (tau > 0.0)
        R_(m, y) = x + (R_(m, y) - x) * exp(-h / tau);
    else
        R_(m, y) = x;
}

void model_free(ModelData *m) {
    m->priv = NULL;
}
