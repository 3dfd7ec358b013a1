/* One federate-step of an FMU in one foreign call: set the changed real inputs, doStep, get the real outputs.
 *
 * Called through ctypes, each FMI call costs about a microsecond of argument marshalling; a step makes
 * three. This helper receives the FMU's own function pointers (resolved by fmpy) and makes the same calls
 * with the same arguments, so results are identical to the ctypes path. FMI types are spelled with
 * standard C types here: fmi2/fmi3 value references are 32-bit unsigned, reals are double, fmi2Boolean is
 * int and fmi3Boolean is bool, statuses are int-sized enums.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FED_STEP_ABI 3

typedef int (*set2_t)(void *, const uint32_t *, size_t, const double *);
typedef int (*get2_t)(void *, const uint32_t *, size_t, double *);
typedef int (*step2_t)(void *, double, double, int);
typedef int (*set3_t)(void *, const uint32_t *, size_t, const double *, size_t);
typedef int (*get3_t)(void *, const uint32_t *, size_t, double *, size_t);
typedef int (*step3_t)(void *, double, double, bool, bool *, bool *, bool *, double *);

/* Mirrored by adapters/native/__init__.py StepContext: change both and bump FED_STEP_ABI. */
typedef struct {
    void *instance;
    void *set_real;
    void *do_step;
    void *get_real;
    int32_t fmi3;
    int32_t reserved;
    const uint32_t *in_vr;
    const double *in_val;
    const uint32_t *out_vr;
    double *out_val;
    size_t n_out;  /* 0: the caller reads the outputs itself */
    double last_time;  /* FMI 3, out: doStep's lastSuccessfulTime when it asked to terminate */
    int32_t early_return;  /* FMI 3, out: doStep's earlyReturn then */
    int32_t reserved2;
} step_context;

/* Which call failed, or'ed above the FMI status so the caller can name it; or which FMI 3 doStep flag
 * ended the step (terminateSimulation, earlyReturn), which the caller must not step past. */
enum { FAILED_SET = 0x100, FAILED_STEP = 0x200, FAILED_GET = 0x300, ASKED_TERMINATE = 0x400, RETURNED_EARLY = 0x500 };

int fed_step_abi(void) { return FED_STEP_ABI; }

/* Returns 0, or the first status worse than fmiWarning with the phase that produced it. */
int fed_step(step_context *c, size_t n_in, double t, double h) {
    int s;
    if (c->fmi3) {
        /* An FMU may leave a flag it has nothing to say about unwritten. */
        bool event_needed = false, terminate = false, early_return = false;
        double last_time = t + h;
        if (n_in && (s = ((set3_t)c->set_real)(c->instance, c->in_vr, n_in, c->in_val, n_in)) > 1)
            return s | FAILED_SET;
        if ((s = ((step3_t)c->do_step)(c->instance, t, h, true, &event_needed, &terminate, &early_return,
                                       &last_time)) > 1)
            return s | FAILED_STEP;
        if (terminate) {
            c->last_time = last_time;
            c->early_return = early_return;
            return ASKED_TERMINATE;
        }
        if (early_return)
            return RETURNED_EARLY;
        if (c->n_out && (s = ((get3_t)c->get_real)(c->instance, c->out_vr, c->n_out, c->out_val, c->n_out)) > 1)
            return s | FAILED_GET;
    } else {
        if (n_in && (s = ((set2_t)c->set_real)(c->instance, c->in_vr, n_in, c->in_val)) > 1)
            return s | FAILED_SET;
        if ((s = ((step2_t)c->do_step)(c->instance, t, h, 1)) > 1)
            return s | FAILED_STEP;
        if (c->n_out && (s = ((get2_t)c->get_real)(c->instance, c->out_vr, c->n_out, c->out_val)) > 1)
            return s | FAILED_GET;
    }
    return 0;
}
