/* vehicle twin: depot fleet of EVs with deterministic schedules, OCV/R battery model and frequency droop. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "model.h"

#define N_EV_MAX 2000
#define DAY 86400.0

typedef struct {
    double soc[N_EV_MAX];
    double arr[N_EV_MAX], dep[N_EV_MAX];  /* plug-in / plug-out time of day (s) for cached_day */
    long cached_day[N_EV_MAX];
    unsigned char daytime[N_EV_MAX], plugged[N_EV_MAX], has_left[N_EV_MAX];
} Fleet;

/* 32-bit integer finaliser (xorshift-multiply), deterministic across platforms. */
static uint32_t mix32(uint32_t x) {
    x ^= x >> 16; x *= 0x7feb352dU;
    x ^= x >> 15; x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

/* Uniform number in [0, 1) from (seed, vehicle, day, stream). */
static double u01(const ModelData *m, int i, long day, uint32_t stream) {
    uint32_t h = mix32((uint32_t)I_(m, seed) ^ 0xA5A5A5A5U);
    h = mix32(h ^ ((uint32_t)i * 0x9E3779B9U));
    h = mix32(h ^ ((uint32_t)day * 0x85EBCA6BU));
    h = mix32(h ^ (stream * 0xC2B2AE35U));
    return (double)h / 4294967296.0;
}

static double clamp(double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); }

static int n_active(const ModelData *m) {
    int n = I_(m, n_ev);
    return n < 0 ? 0 : (n > N_EV_MAX ? N_EV_MAX : n);
}

int model_validate(const ModelData *m, const char **bad, char *msg) {
    CHECK_PARAM("n_ev", I_(m, n_ev), I_(m, n_ev) >= 1 && I_(m, n_ev) <= N_EV_MAX, "in [1, 2000]");
    CHECK_PARAM("P_charger", R_(m, P_charger), R_(m, P_charger) > 0.0 && R_(m, P_charger) <= 350e3, "in (0, 350e3] W");
    CHECK_PARAM("Q_batt", R_(m, Q_batt), R_(m, Q_batt) > 0.0, "> 0");
    CHECK_PARAM("n_series", I_(m, n_series), I_(m, n_series) >= 1, ">= 1");
    CHECK_PARAM("R_int", R_(m, R_int), R_(m, R_int) > 0.0, "> 0");
    CHECK_PARAM("eta_charge", R_(m, eta_charge), R_(m, eta_charge) > 0.0 && R_(m, eta_charge) <= 1.0, "in (0, 1]");
    CHECK_PARAM("soc_target", R_(m, soc_target), R_(m, soc_target) > 0.0 && R_(m, soc_target) <= 1.0, "in (0, 1]");
    CHECK_PARAM("soc_taper", R_(m, soc_taper), R_(m, soc_taper) >= 0.0 && R_(m, soc_taper) < R_(m, soc_target), "in [0, soc_target)");
    CHECK_PARAM("f_droop_zero", R_(m, f_droop_zero), R_(m, f_droop_zero) > 0.0, "> 0");
    CHECK_PARAM("f_droop_start", R_(m, f_droop_start), R_(m, f_droop_start) > R_(m, f_droop_zero), "> f_droop_zero");
    CHECK_PARAM("share_daytime", R_(m, share_daytime), R_(m, share_daytime) >= 0.0 && R_(m, share_daytime) <= 1.0, "in [0, 1]");
    CHECK_PARAM("trip_soc_min", R_(m, trip_soc_min), R_(m, trip_soc_min) >= 0.0 && R_(m, trip_soc_min) <= 1.0, "in [0, 1]");
    CHECK_PARAM("trip_soc_max", R_(m, trip_soc_max), R_(m, trip_soc_max) >= R_(m, trip_soc_min) && R_(m, trip_soc_max) <= 1.0, "in [trip_soc_min, 1]");
    CHECK_PARAM("dt_int", R_(m, dt_int), R_(m, dt_int) > 0.0 && R_(m, dt_int) <= 1.0, "in (0, 1]");
    return 0;
}

/* Open-circuit voltage of one NMC-type cell (empirical fit, 3.0 V at 0 %, 4.2 V at 100 %). */
static double ocv_cell(double soc) {
    return 3.0 + 1.3 * soc - 0.35 * soc * soc + 0.25 * (1.0 - exp(-20.0 * soc));
}

/* Schedule of vehicle i on a given day (cached). */
static void schedule(const ModelData *m, Fleet *fl, int i, long day) {
    if (fl->cached_day[i] == day) return;
    fl->cached_day[i] = day;
    if (fl->daytime[i]) {        /* daytime group: 08:00-10:00 in, 16:00-18:00 out */
        fl->arr[i] = 8.0 * 3600.0 + 2.0 * 3600.0 * u01(m, i, day, 1);
        fl->dep[i] = 16.0 * 3600.0 + 2.0 * 3600.0 * u01(m, i, day, 2);
    } else {                     /* overnight group: 17:00-20:00 in, 06:00-08:30 out */
        fl->arr[i] = 17.0 * 3600.0 + 3.0 * 3600.0 * u01(m, i, day, 1);
        fl->dep[i] = 6.0 * 3600.0 + 2.5 * 3600.0 * u01(m, i, day, 2);
    }
}

static int is_plugged(const ModelData *m, Fleet *fl, int i, double t) {
    long day = (long)floor(t / DAY);
    double tod = t - (double)day * DAY;
    schedule(m, fl, i, day);
    if (fl->daytime[i]) return tod >= fl->arr[i] && tod < fl->dep[i];
    return tod >= fl->arr[i] || tod < fl->dep[i];
}

/* AC power requested by one vehicle before droop (taper between soc_taper and soc_target). */
static double demand(const ModelData *m, double soc) {
    double target = R_(m, soc_target), taper = R_(m, soc_taper);
    if (soc >= target) return 0.0;
    return R_(m, P_charger) * clamp((target - soc) / (target - taper), 0.05, 1.0);
}

static double droop(const ModelData *m) {
    double f0 = R_(m, f_droop_zero), f1 = R_(m, f_droop_start);
    return clamp((R_(m, f_grid) - f0) / (f1 - f0), 0.0, 1.0);
}

/* Update plug states at time t: arrivals subtract the trip consumption of that day. */
static void update_plugs(const ModelData *m, Fleet *fl, double t) {
    int i, n = n_active(m);
    long day = (long)floor(t / DAY);
    for (i = 0; i < n; i++) {
        int p = is_plugged(m, fl, i, t);
        if (p && !fl->plugged[i] && fl->has_left[i]) {
            double trip = R_(m, trip_soc_min) + (R_(m, trip_soc_max) - R_(m, trip_soc_min)) * u01(m, i, day, 3);
            fl->soc[i] = clamp(fl->soc[i] - trip, 0.05, 1.0);
        }
        if (!p && fl->plugged[i]) fl->has_left[i] = 1;
        fl->plugged[i] = (unsigned char)p;
    }
}

static void update_outputs(ModelData *m) {
    const Fleet *fl = (const Fleet *)m->priv;
    int i, n = n_active(m), np = 0;
    double pd = 0.0, soc_sum = 0.0, g = droop(m);
    for (i = 0; i < n; i++) {
        soc_sum += fl->soc[i];
        if (fl->plugged[i]) { np++; pd += demand(m, fl->soc[i]); }
    }
    R_(m, P_demand) = pd;
    R_(m, droop_factor) = g;
    R_(m, P_ev) = pd * g;
    R_(m, soc_mean) = n > 0 ? soc_sum / n : 0.0;
    I_(m, n_plugged) = np;
}

int model_init(ModelData *m) {
    Fleet *fl = (Fleet *)calloc(1, sizeof(Fleet));
    int i;
    if (!fl) return 1;
    m->priv = fl;
    for (i = 0; i < N_EV_MAX; i++) {
        fl->cached_day[i] = -0x7fffffffL;
        fl->daytime[i] = (unsigned char)(u01(m, i, 0, 0) < R_(m, share_daytime));
        fl->soc[i] = 0.2 + 0.4 * u01(m, i, 0, 4);   /* arrival SoC 0.2..0.6 */
        fl->plugged[i] = (unsigned char)is_plugged(m, fl, i, m->time);
        fl->has_left[i] = 0;
    }
    update_outputs(m);
    return 0;
}

void model_do_step(ModelData *m, double t, double h) {
    Fleet *fl = (Fleet *)m->priv;
    int steps = model_substeps(h, R_(m, dt_int));
    double dt = steps > 0 ? h / steps : 0.0;
    double g = droop(m);
    double r = R_(m, R_int), q_as = R_(m, Q_batt) * 3600.0, ns = (double)I_(m, n_series), eta = R_(m, eta_charge);
    int k, i, n = n_active(m);
    for (k = 0; k < steps; k++) {
        update_plugs(m, fl, t + k * dt);
        for (i = 0; i < n; i++) {
            double p_dc, v, cur;
            if (!fl->plugged[i]) continue;
            p_dc = eta * g * demand(m, fl->soc[i]);
            if (p_dc <= 0.0) continue;
            v = ns * ocv_cell(fl->soc[i]);
            cur = (-v + sqrt(v * v + 4.0 * r * p_dc)) / (2.0 * r);  /* P = (OCV + R I) I */
            fl->soc[i] = clamp(fl->soc[i] + dt * cur / q_as, 0.0, 1.0);
        }
    }
    update_plugs(m, fl, t + h);
    update_outputs(m);
}

void model_free(ModelData *m) {
    free(m->priv);
    m->priv = NULL;
}
