/* The model of the ending FMUs (ending2.c, ending3.c): it asks to end the simulation at t_end.
 *
 *   t_end  parameter: when a step would reach or pass it, the FMU ends there
 *   early  parameter (FMI 3 only): 1 returns early at t_end (earlyReturn, lastSuccessfulTime), 0 completes the step
 *   u      input          y  output: the time reached      z  output: z += u * (time advanced) + 1 per step
 */
#include <stdlib.h>

typedef struct {
    void *env;
    double time, t_end, u, z, early;
    int terminated;
    double last;
} Model;

enum { VR_TIME = 0, VR_T_END = 1, VR_U = 2, VR_Y = 3, VR_Z = 4, VR_EARLY = 5 };

static double *model_var(Model *m, unsigned vr) {
    switch (vr) {
        case VR_TIME: case VR_Y: return &m->time;
        case VR_T_END: return &m->t_end;
        case VR_U: return &m->u;
        case VR_Z: return &m->z;
        case VR_EARLY: return &m->early;
        default: return NULL;
    }
}

/* Advance from t by h, or to t_end if that comes first (or is reached: 1e-12 s of slack, as masters use):
 * returns 1 when the model asks to end, having advanced to m->last. `partial` 0 completes the step anyway. */
static int model_step(Model *m, double t, double h, int partial) {
    double to = t + h;
    int ends = to >= m->t_end - 1e-12;
    if (ends && partial && m->t_end < to) to = m->t_end;
    m->z += m->u * (to - t) + 1.0;
    m->time = to;
    m->last = to;
    m->terminated = ends;
    return ends;
}
