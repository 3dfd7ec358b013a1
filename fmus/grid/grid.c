/* grid twin: aggregated regional power system (swing equation + droop governor + AGC + PCC voltage). */
#include <math.h>
#include <stdlib.h>
#include "model.h"

typedef struct {
    double dw;   /* frequency deviation (pu) */
    double pm;   /* mechanical power (pu on S_base) */
    double agc;  /* AGC correction (pu on S_base) */
} GridState;

static double periodic_dist_h(double a, double b) {
    double d = fabs(a - b);
    return d > 12.0 ? 24.0 - d : d;
}

/* Normalised daily base-load profile (fraction of P_load_peak), hour of day h in [0, 24). */
static double load_profile(double h) {
    double dm = periodic_dist_h(h, 8.5) / 2.0;   /* morning peak 08:30, width ~2 h */
    double de = periodic_dist_h(h, 19.0) / 2.5;  /* evening peak 19:00, width ~2.5 h */
    return 0.62 + 0.22 * exp(-dm * dm) + 0.36 * exp(-de * de);
}

static double hour_of_day(double t) {
    double tod = fmod(t, 86400.0);
    if (tod < 0) tod += 86400.0;
    return tod / 3600.0;
}

/* Day-ahead forecast used for dispatch: hourly samples of the profile, linearly interpolated. */
static double forecast_profile(double h) {
    double h0 = floor(h);
    double w = h - h0;
    double h1 = h0 + 1.0 >= 24.0 ? 0.0 : h0 + 1.0;
    return (1.0 - w) * load_profile(h0) + w * load_profile(h1);
}

int model_validate(const ModelData *m, const char **bad, char *msg) {
    CHECK_PARAM("H", R_(m, H), R_(m, H) > 0.0, "> 0");
    CHECK_PARAM("D", R_(m, D), R_(m, D) >= 0.0, ">= 0");
    CHECK_PARAM("R_droop", R_(m, R_droop), R_(m, R_droop) > 0.0, "> 0");
    CHECK_PARAM("T_gov", R_(m, T_gov), R_(m, T_gov) > 0.0, "> 0");
    CHECK_PARAM("S_base", R_(m, S_base), R_(m, S_base) > 0.0, "> 0");
    CHECK_PARAM("f_nom", R_(m, f_nom), R_(m, f_nom) > 0.0, "> 0");
    CHECK_PARAM("K_agc", R_(m, K_agc), R_(m, K_agc) >= 0.0, ">= 0");
    CHECK_PARAM("P_load_peak", R_(m, P_load_peak), R_(m, P_load_peak) >= 0.0, ">= 0");
    CHECK_PARAM("S_sc", R_(m, S_sc), R_(m, S_sc) > 0.0, "> 0");
    CHECK_PARAM("X_R_ratio", R_(m, X_R_ratio), R_(m, X_R_ratio) > 0.0, "> 0");
    CHECK_PARAM("V_source", R_(m, V_source), R_(m, V_source) >= 0.5 && R_(m, V_source) <= 1.5, "in [0.5, 1.5]");
    CHECK_PARAM("P_local_pcc", R_(m, P_local_pcc), R_(m, P_local_pcc) >= 0.0, ">= 0");
    CHECK_PARAM("pf_load", R_(m, pf_load), R_(m, pf_load) > 0.0 && R_(m, pf_load) <= 1.0, "in (0, 1]");
    CHECK_PARAM("dt_int", R_(m, dt_int), R_(m, dt_int) > 0.0 && R_(m, dt_int) <= 1.0, "in (0, 1]");
    return 0;
}

/* Total system load in pu at time t (inputs held over the communication step). */
static double load_pu(const ModelData *m, double t) {
    double p = R_(m, P_load_peak) * load_profile(hour_of_day(t)) + R_(m, P_local_pcc) + R_(m, P_furnace) + R_(m, P_ev);
    return p / R_(m, S_base);
}

static double dispatch_pu(const ModelData *m, double t) {
    return (R_(m, P_load_peak) * forecast_profile(hour_of_day(t)) + R_(m, P_local_pcc)) / R_(m, S_base);
}

static void deriv(const ModelData *m, double t, const GridState *x, GridState *dx) {
    double two_h = 2.0 * R_(m, H);
    double beta = R_(m, D) + 1.0 / R_(m, R_droop);
    double p_ref = dispatch_pu(m, t) + x->agc;
    dx->dw = (x->pm - load_pu(m, t) - R_(m, D) * x->dw) / two_h;
    dx->pm = (p_ref - x->dw / R_(m, R_droop) - x->pm) / R_(m, T_gov);
    dx->agc = -R_(m, K_agc) * beta * x->dw;
}

/* PCC voltage from the Thevenin equivalent: v^2 - V0 v + (R P + X Q) = 0 (P, Q in pu of S_sc). */
static double pcc_voltage(const ModelData *m) {
    double p = (R_(m, P_furnace) + R_(m, P_ev) + R_(m, P_local_pcc)) / R_(m, S_sc);
    double pf = R_(m, pf_load);
    double q = p * sqrt(1.0 - pf * pf) / pf;
    double xr = R_(m, X_R_ratio);
    double r = 1.0 / sqrt(1.0 + xr * xr);
    double x = xr * r;
    double v0 = R_(m, V_source);
    double a = r * p + x * q;
    double disc = v0 * v0 - 4.0 * a;
    if (disc < 0.0) return 0.5 * v0; /* beyond the nose of the PV curve: voltage collapse */
    return 0.5 * (v0 + sqrt(disc));
}

static void update_outputs(ModelData *m, double t) {
    const GridState *x = (const GridState *)m->priv;
    double s = R_(m, S_base);
    R_(m, f) = R_(m, f_nom) * (1.0 + x->dw);
    R_(m, v_pcc) = pcc_voltage(m);
    R_(m, P_mech) = x->pm * s;
    R_(m, P_base_load) = R_(m, P_load_peak) * load_profile(hour_of_day(t));
    R_(m, agc_state) = x->agc * s;
    R_(m, P_ref) = (dispatch_pu(m, t) + x->agc) * s;
    R_(m, P_load_total) = load_pu(m, t) * s;
}

int model_init(ModelData *m) {
    GridState *x = (GridState *)calloc(1, sizeof(GridState));
    if (!x) return 1;
    m->priv = x;
    /* start in equilibrium: generation matches the load, AGC holds the forecast error */
    x->dw = 0.0;
    x->pm = load_pu(m, m->time);
    x->agc = x->pm - dispatch_pu(m, m->time);
    update_outputs(m, m->time);
    return 0;
}

void model_do_step(ModelData *m, double t, double h) {
    GridState *x = (GridState *)m->priv;
    int n = model_substeps(h, R_(m, dt_int));
    double dt = n > 0 ? h / n : 0.0;
    int k;
    for (k = 0; k < n; k++) {
        double tk = t + k * dt;
        GridState k1, k2, k3, k4, y;
        deriv(m, tk, x, &k1);
        y.dw = x->dw + 0.5 * dt * k1.dw; y.pm = x->pm + 0.5 * dt * k1.pm; y.agc = x->agc + 0.5 * dt * k1.agc;
        deriv(m, tk + 0.5 * dt, &y, &k2);
        y.dw = x->dw + 0.5 * dt * k2.dw; y.pm = x->pm + 0.5 * dt * k2.pm; y.agc = x->agc + 0.5 * dt * k2.agc;
        deriv(m, tk + 0.5 * dt, &y, &k3);
        y.dw = x->dw + dt * k3.dw; y.pm = x->pm + dt * k3.pm; y.agc = x->agc + dt * k3.agc;
        deriv(m, tk + dt, &y, &k4);
        x->dw += dt / 6.0 * (k1.dw + 2.0 * k2.dw + 2.0 * k3.dw + k4.dw);
        x->pm += dt / 6.0 * (k1.pm + 2.0 * k2.pm + 2.0 * k3.pm + k4.pm);
        x->agc += dt / 6.0 * (k1.agc + 2.0 * k2.agc + 2.0 * k3.agc + k4.agc);
    }
    update_outputs(m, t + h);
}

void model_free(ModelData *m) {
    free(m->priv);
    m->priv = NULL;
}
