/* furnace twin: electric steel reheating furnace with PI temperature control and demand response. */
#include <math.h>
#include <stdlib.h>
#include "model.h"

typedef struct {
    double T_ch;   /* chamber temperature (K) */
    double T_c;    /* charge temperature (K) */
    double I;      /* PI integrator (W) */
    double cycle;  /* index of the current charging cycle */
} FurnaceState;

int model_validate(const ModelData *m, const char **bad, char *msg) {
    CHECK_PARAM("T_set", R_(m, T_set), R_(m, T_set) >= 300.0 && R_(m, T_set) <= 1550.0, "in [300, 1550] K");
    CHECK_PARAM("P_max", R_(m, P_max), R_(m, P_max) > 0.0, "> 0");
    CHECK_PARAM("eta", R_(m, eta), R_(m, eta) > 0.0 && R_(m, eta) <= 1.0, "in (0, 1]");
    CHECK_PARAM("C_chamber", R_(m, C_chamber), R_(m, C_chamber) > 0.0, "> 0");
    CHECK_PARAM("m_charge", R_(m, m_charge), R_(m, m_charge) > 0.0, "> 0");
    CHECK_PARAM("c_steel", R_(m, c_steel), R_(m, c_steel) > 0.0, "> 0");
    CHECK_PARAM("UA_charge", R_(m, UA_charge), R_(m, UA_charge) >= 0.0, ">= 0");
    CHECK_PARAM("G_wall", R_(m, G_wall), R_(m, G_wall) >= 0.0, ">= 0");
    CHECK_PARAM("G_door", R_(m, G_door), R_(m, G_door) >= 0.0, ">= 0");
    CHECK_PARAM("T_amb", R_(m, T_amb), R_(m, T_amb) >= 230.0 && R_(m, T_amb) <= 330.0, "in [230, 330] K");
    CHECK_PARAM("t_cycle", R_(m, t_cycle), R_(m, t_cycle) > 0.0, "> 0");
    CHECK_PARAM("t_door", R_(m, t_door), R_(m, t_door) >= 0.0 && R_(m, t_door) < R_(m, t_cycle), "in [0, t_cycle)");
    CHECK_PARAM("t_offset", R_(m, t_offset), isfinite(R_(m, t_offset)), "finite");
    CHECK_PARAM("K_p", R_(m, K_p), R_(m, K_p) >= 0.0, ">= 0");
    CHECK_PARAM("T_i", R_(m, T_i), R_(m, T_i) > 0.0, "> 0");
    CHECK_PARAM("f_min", R_(m, f_min), R_(m, f_min) > 0.0, "> 0");
    CHECK_PARAM("f_dr", R_(m, f_dr), R_(m, f_dr) > R_(m, f_min), "> f_min");
    CHECK_PARAM("dr_floor", R_(m, dr_floor), R_(m, dr_floor) >= 0.0 && R_(m, dr_floor) <= 1.0, "in [0, 1]");
    CHECK_PARAM("dt_int", R_(m, dt_int), R_(m, dt_int) > 0.0 && R_(m, dt_int) <= 1.0, "in (0, 1]");
    return 0;
}

static double clamp(double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); }

/* Allowed electrical power after under-frequency curtailment and the external curtail command. */
static double allowed_power(const ModelData *m) {
    double f = R_(m, f_grid), fdr = R_(m, f_dr), fmin = R_(m, f_min), floor_ = R_(m, dr_floor);
    double k = 1.0;
    if (f < fdr) k = 1.0 - (1.0 - floor_) * clamp((fdr - f) / (fdr - fmin), 0.0, 1.0);
    return R_(m, P_max) * k * (1.0 - clamp(R_(m, curtail), 0.0, 1.0));
}

static double cycle_time(const ModelData *m, double t) { return t + R_(m, t_offset); }

static double cycle_index(const ModelData *m, double t) { return floor(cycle_time(m, t) / R_(m, t_cycle)); }

static double cycle_phase(const ModelData *m, double t) {
    return cycle_time(m, t) - cycle_index(m, t) * R_(m, t_cycle);
}

static double loss_conductance(const ModelData *m, double t) {
    return R_(m, G_wall) + (cycle_phase(m, t) < R_(m, t_door) ? R_(m, G_door) : 0.0);
}

/* PI controller output clamped to [0, P_allowed]. */
static double pi_output(const ModelData *m, const FurnaceState *x, double p_allowed) {
    return clamp(R_(m, K_p) * (R_(m, T_set) - x->T_ch) + x->I, 0.0, p_allowed);
}

static void update_outputs(ModelData *m, double t) {
    const FurnaceState *x = (const FurnaceState *)m->priv;
    double pa = allowed_power(m);
    R_(m, P_allowed) = pa;
    R_(m, P_el) = pi_output(m, x, pa);
    R_(m, T_chamber) = x->T_ch;
    R_(m, T_charge) = x->T_c;
    R_(m, pi_integrator) = x->I;
    R_(m, cycle_phase) = cycle_phase(m, t);
    R_(m, Q_loss) = loss_conductance(m, t) * (x->T_ch - R_(m, T_amb));
}

int model_init(ModelData *m) {
    FurnaceState *x = (FurnaceState *)calloc(1, sizeof(FurnaceState));
    if (!x) return 1;
    m->priv = x;
    x->T_ch = R_(m, T_set);   /* furnace is hot and idling at the set point */
    x->T_c = R_(m, T_amb);    /* a cold charge has just been loaded */
    x->I = clamp(R_(m, G_wall) * (R_(m, T_set) - R_(m, T_amb)) / R_(m, eta), 0.0, R_(m, P_max));
    x->cycle = cycle_index(m, m->time);
    update_outputs(m, m->time);
    return 0;
}

void model_do_step(ModelData *m, double t, double h) {
    FurnaceState *x = (FurnaceState *)m->priv;
    int n = model_substeps(h, R_(m, dt_int));
    double dt = n > 0 ? h / n : 0.0;
    double pa = allowed_power(m);
    double c_charge = R_(m, m_charge) * R_(m, c_steel);
    double ki = R_(m, K_p) / R_(m, T_i);
    int k;
    for (k = 0; k < n; k++) {
        double tk = t + k * dt;
        double ci = cycle_index(m, tk);
        double e, u_raw, p, q_charge, q_loss;
        if (ci != x->cycle) {  /* unload the hot charge, load a cold one */
            x->cycle = ci;
            x->T_c = R_(m, T_amb);
        }
        e = R_(m, T_set) - x->T_ch;
        u_raw = R_(m, K_p) * e + x->I;
        p = clamp(u_raw, 0.0, pa);
        q_charge = R_(m, UA_charge) * (x->T_ch - x->T_c);
        q_loss = loss_conductance(m, tk) * (x->T_ch - R_(m, T_amb));
        /* anti-windup by conditional integration (clamping) */
        if (!((u_raw > pa && e > 0.0) || (u_raw < 0.0 && e < 0.0)))
            x->I = clamp(x->I + dt * ki * e, 0.0, R_(m, P_max));
        x->T_ch += dt * (R_(m, eta) * p - q_charge - q_loss) / R_(m, C_chamber);
        x->T_c += dt * q_charge / c_charge;
    }
    if (n > 0 && cycle_index(m, t + h) != x->cycle) {
        x->cycle = cycle_index(m, t + h);
        x->T_c = R_(m, T_amb);
    }
    update_outputs(m, t + h);
}

void model_free(ModelData *m) {
    free(m->priv);
    m->priv = NULL;
}
