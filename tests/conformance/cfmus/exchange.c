/* Model Exchange FMUs for the conformance tests, FMI 2 and FMI 3 from one file. The builder
 * (tests/conformance/exchange_fmus.py) prepends `#define FMI_VERSION 2|3` and `#define MODEL 1|2|3`:
 *
 *   MODEL 1  bounce   h, v: a ball falling and bouncing (der h = v, der v = -g); the event indicator is h,
 *                     so each bounce is a state event, where v = -e v and count += 1
 *   MODEL 2  timer    x: der x = k (u - x) + a; a flips sign at time events, every `period` s (the FMU
 *                     tells its next event time), and count += 1; with k < 0 its derivatives fail (Error)
 *   (END_AFTER n > 0: the event iteration of its n-th event asks to end the simulation)
 *   MODEL 3  stepper  x: der x = r + u; completedIntegratorStep asks for an event once x >= level (a step
 *                     event), which takes level off x, and count += 1
 *
 * Variables by value reference: 0 time (FMI 3), 1 the first state, 2 its derivative, 3..6 model-specific
 * (see exchange_fmus.py), 7 count (Integer / Int32), 8 t_event: the time of the last event (Real). The FMU keeps the standard's modes: a function called
 * in a mode where the standard does not allow it returns Error and logs which, so that a master that calls
 * things out of order fails rather than passes by luck.
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OK = 0, ERROR = 3 };
typedef enum { INSTANTIATED, INITIALIZATION, EVENT, CONTINUOUS, TERMINATED } Mode;
static const char *MODE_NAMES[] = {"Instantiated", "Initialization Mode", "Event Mode", "Continuous-Time Mode",
                                   "Terminated"};

#if MODEL == 1
#define NX 2
#define NZ 1
static const unsigned STATES[NX] = {1, 3}, DERIVATIVES[NX] = {2, 4};
static const unsigned PARAMETERS[] = {5, 6}, INPUTS[] = {0};
#define N_PARAMETERS 2
#define N_INPUTS 0
#elif MODEL == 2
#define NX 1
#define NZ 0
static const unsigned STATES[NX] = {1}, DERIVATIVES[NX] = {2};
static const unsigned PARAMETERS[] = {5, 6}, INPUTS[] = {3};
#define N_PARAMETERS 2
#define N_INPUTS 1
#else
#define NX 1
#define NZ 0
static const unsigned STATES[NX] = {1}, DERIVATIVES[NX] = {2};
static const unsigned PARAMETERS[] = {4, 5}, INPUTS[] = {3};
#define N_PARAMETERS 2
#define N_INPUTS 1
#endif

typedef struct Instance Instance;
typedef void (*Logger)(Instance *c, const char *message);

struct Instance {
    Mode mode;
    double time;
    double r[9];      /* Real / Float64 variables by value reference (r[0] unused: time is `time`; r[7]: count) */
    int32_t count;
    double next_time; /* timer: the next time event */
    bool started;     /* the event iteration after initialization is done */
    Logger log;
    void *env;        /* FMI 3: instance environment; FMI 2: the callback functions */
    void (*log_message)(void *env, int status, const char *category, const char *message); /* FMI 3 */
    char name[64];
};

static int fail(Instance *c, const char *function, const char *why) {
    char message[256];
    snprintf(message, sizeof message, "%s: %s (mode: %s)", function, why, MODE_NAMES[c->mode]);
    if (c->log) c->log(c, message);
    return ERROR;
}

static bool in_list(unsigned vr, const unsigned *list, int n) {
    for (int i = 0; i < n; i++) if (list[i] == vr) return true;
    return false;
}

static void start_values(Instance *c) {
#if MODEL == 1
    c->r[1] = 1.0; c->r[3] = 0.0; c->r[5] = 9.81; c->r[6] = 0.7;
#elif MODEL == 2
    c->r[1] = 0.0; c->r[3] = 0.0; c->r[4] = 1.0; c->r[5] = 2.0; c->r[6] = 0.35;
#else
    c->r[1] = 0.0; c->r[3] = 0.0; c->r[4] = 1.3; c->r[5] = 0.5;
#endif
    c->count = 0;
    c->r[8] = -1;
}

static void derivatives(Instance *c) {
#if MODEL == 1
    c->r[2] = c->r[3];
    c->r[4] = -c->r[5];
#elif MODEL == 2
    c->r[2] = c->r[5] * (c->r[3] - c->r[1]) + c->r[4];
#else
    c->r[2] = c->r[4] + c->r[3];
#endif
}

/* The event iteration's one pass: what changes at an event (states changed: *values_changed). */
static void update(Instance *c, bool initial, bool *values_changed, bool *next_defined, double *next_time) {
    *values_changed = false;
#if MODEL == 1
    if (!initial && c->r[1] <= 0 && c->r[3] < 0) {
        c->r[1] = 0;
        c->r[3] = -c->r[6] * c->r[3];
        c->count += 1;
        c->r[8] = c->time;
        *values_changed = true;
    }
    *next_defined = false;
#elif MODEL == 2
    if (initial) {
        c->next_time = c->time + c->r[6];
    } else if (c->time >= c->next_time - 1e-12 * fmax(1.0, fabs(c->next_time))) {
        c->r[4] = -c->r[4];
        c->count += 1;
        c->r[8] = c->time;
        c->next_time += c->r[6];
    }
    *next_defined = true;
    *next_time = c->next_time;
#else
    if (!initial && c->r[1] >= c->r[5]) {
        c->r[1] -= c->r[5];
        c->count += 1;
        c->r[8] = c->time;
        *values_changed = true;
    }
    *next_defined = false;
#endif
    derivatives(c);
}

static bool step_event(Instance *c) {
#if MODEL == 3
    return c->r[1] >= c->r[5];
#else
    (void)c;
    return false;
#endif
}

static void indicators(Instance *c, double *z) {
#if MODEL == 1
    z[0] = c->r[1];
#else
    (void)c; (void)z;
#endif
}

static Instance *new_instance(const char *name) {
    Instance *c = calloc(1, sizeof(Instance));
    if (!c) return NULL;
    c->mode = INSTANTIATED;
    snprintf(c->name, sizeof c->name, "%s", name ? name : "");
    start_values(c);
    derivatives(c);
    return c;
}

static int get_reals(Instance *c, const char *function, const unsigned vr[], size_t nvr, double values[]) {
    if (c->mode == INSTANTIATED) return fail(c, function, "not before initialization");
    derivatives(c);
    for (size_t i = 0; i < nvr; i++) {
        if (vr[i] == 0) values[i] = c->time;
        else if (vr[i] < 9 && vr[i] != 7) values[i] = c->r[vr[i]];
        else return fail(c, function, "no such Real variable");
    }
    return OK;
}

static int set_reals(Instance *c, const char *function, const unsigned vr[], size_t nvr, const double values[]) {
    for (size_t i = 0; i < nvr; i++) {
        if (in_list(vr[i], PARAMETERS, N_PARAMETERS)) {
            if (c->mode != INSTANTIATED && c->mode != INITIALIZATION)
                return fail(c, function, "a fixed parameter is set before initialization ends");
        } else if (in_list(vr[i], INPUTS, N_INPUTS)) {
            if (c->mode == TERMINATED) return fail(c, function, "not after termination");
        } else if (vr[i] == STATES[0] || (NX > 1 && vr[i] == STATES[NX - 1])) {
            if (c->mode != INSTANTIATED && c->mode != INITIALIZATION)
                return fail(c, function, "a state's start is set before initialization ends");
        } else {
            return fail(c, function, "not a settable Real variable");
        }
        c->r[vr[i]] = values[i];
    }
    derivatives(c);
    return OK;
}

static int get_count(Instance *c, const char *function, const unsigned vr[], size_t nvr, int32_t values[]) {
    if (c->mode == INSTANTIATED) return fail(c, function, "not before initialization");
    for (size_t i = 0; i < nvr; i++) {
        if (vr[i] != 7) return fail(c, function, "no such Integer variable");
        values[i] = c->count;
    }
    return OK;
}

static int enter_initialization(Instance *c, const char *function, double start) {
    if (c->mode != INSTANTIATED) return fail(c, function, "allowed in Instantiated only");
    c->time = start;
    c->mode = INITIALIZATION;
    return OK;
}

static int exit_initialization(Instance *c, const char *function) {
    if (c->mode != INITIALIZATION) return fail(c, function, "allowed in Initialization Mode only");
    c->mode = EVENT;
    return OK;
}

static int event_update(Instance *c, const char *function, bool *needed, bool *terminate, bool *nominals,
                        bool *values, bool *next_defined, double *next_time) {
    if (c->mode != EVENT) return fail(c, function, "allowed in Event Mode only");
    bool initial = !c->started;
    c->started = true;
    *needed = false;
    *nominals = false;
    *next_time = 0;
    update(c, initial, values, next_defined, next_time);
    *terminate = END_AFTER > 0 && c->count >= END_AFTER;  /* asks to end the simulation at its END_AFTER-th event */
    return OK;
}

static int set_mode(Instance *c, const char *function, Mode from, Mode to) {
    if (c->mode != from) return fail(c, function, from == EVENT ? "allowed in Event Mode only"
                                                                : "allowed in Continuous-Time Mode only");
    c->mode = to;
    return OK;
}

static int completed_step(Instance *c, const char *function, bool *enter_event, bool *terminate) {
    if (c->mode != CONTINUOUS) return fail(c, function, "allowed in Continuous-Time Mode only");
    *enter_event = step_event(c);
    *terminate = false;
    return OK;
}

static int set_time(Instance *c, const char *function, double time) {
    if (c->mode != CONTINUOUS && c->mode != EVENT) return fail(c, function, "allowed in Event or Continuous-Time Mode");
    c->time = time;
    return OK;
}

static int set_states(Instance *c, const char *function, const double x[], size_t nx) {
    if (c->mode != CONTINUOUS) return fail(c, function, "allowed in Continuous-Time Mode only");
    if (nx != NX) return fail(c, function, "wrong number of states");
    for (size_t i = 0; i < NX; i++) c->r[STATES[i]] = x[i];
    derivatives(c);
    return OK;
}

static int get_vector(Instance *c, const char *function, double out[], size_t n, int what) {
    if (c->mode == INSTANTIATED || c->mode == TERMINATED) return fail(c, function, "not in this mode");
#if MODEL == 2
    if (what == 1 && c->r[5] < 0) return fail(c, function, "k must not be negative"); /* a failure mid-integration */
#endif
    if (n != (what == 3 ? NZ : NX)) return fail(c, function, "wrong size");
    derivatives(c);
    if (what == 3) { indicators(c, out); return OK; }
    for (size_t i = 0; i < n; i++) out[i] = what == 0 ? c->r[STATES[i]] : what == 1 ? c->r[DERIVATIVES[i]] : 1.0;
    return OK;
}

#if FMI_VERSION == 2
/* ------------------------------------------------------------------------------------------------ FMI 2 */
typedef struct {
    void (*logger)(void *env, const char *instance, int status, const char *category, const char *message, ...);
    void *(*allocate)(size_t, size_t);
    void (*free)(void *);
    void *step_finished;
    void *env;
} Callbacks;

static void log_fmi2(Instance *c, const char *message) {
    const Callbacks *cb = c->env;
    if (cb && cb->logger) cb->logger(cb->env, c->name, ERROR, "logStatusError", "%s", message);
}

const char *fmi2GetTypesPlatform(void) { return "default"; }
const char *fmi2GetVersion(void) { return "2.0"; }
int fmi2SetDebugLogging(void *c, int on, size_t n, const char *categories[]) { return OK; }

void *fmi2Instantiate(const char *name, int type, const char *guid, const char *resources, const Callbacks *cb,
                      int visible, int loggingOn) {
    if (type != 0) return NULL; /* Model Exchange only */
    Instance *c = new_instance(name);
    if (!c) return NULL;
    c->log = log_fmi2;
    c->env = (void *)cb;
    return c;
}

void fmi2FreeInstance(void *c) { free(c); }
int fmi2SetupExperiment(void *c, int tolDefined, double tol, double start, int stopDefined, double stop) {
    ((Instance *)c)->time = start;
    return OK;
}
int fmi2EnterInitializationMode(void *c) { return enter_initialization(c, "fmi2EnterInitializationMode", ((Instance *)c)->time); }
int fmi2ExitInitializationMode(void *c) { return exit_initialization(c, "fmi2ExitInitializationMode"); }
int fmi2Terminate(void *c) { ((Instance *)c)->mode = TERMINATED; return OK; }
int fmi2Reset(void *c) { Instance *i = c; i->mode = INSTANTIATED; i->started = false; start_values(i); return OK; }

int fmi2GetReal(void *c, const unsigned vr[], size_t nvr, double v[]) { return get_reals(c, "fmi2GetReal", vr, nvr, v); }
int fmi2SetReal(void *c, const unsigned vr[], size_t nvr, const double v[]) { return set_reals(c, "fmi2SetReal", vr, nvr, v); }
int fmi2GetInteger(void *c, const unsigned vr[], size_t nvr, int v[]) {
    return get_count(c, "fmi2GetInteger", vr, nvr, (int32_t *)v);
}

typedef struct {
    int newDiscreteStatesNeeded, terminateSimulation, nominalsOfContinuousStatesChanged,
        valuesOfContinuousStatesChanged, nextEventTimeDefined;
    double nextEventTime;
} EventInfo;

int fmi2EnterEventMode(void *c) { return set_mode(c, "fmi2EnterEventMode", CONTINUOUS, EVENT); }
int fmi2NewDiscreteStates(void *c, EventInfo *info) {
    bool needed = false, terminate = false, nominals = false, values = false, defined = false;
    double next = 0;
    int status = event_update(c, "fmi2NewDiscreteStates", &needed, &terminate, &nominals, &values, &defined, &next);
    info->newDiscreteStatesNeeded = needed;
    info->terminateSimulation = terminate;
    info->nominalsOfContinuousStatesChanged = nominals;
    info->valuesOfContinuousStatesChanged = values;
    info->nextEventTimeDefined = defined;
    info->nextEventTime = next;
    return status;
}
int fmi2EnterContinuousTimeMode(void *c) { return set_mode(c, "fmi2EnterContinuousTimeMode", EVENT, CONTINUOUS); }
int fmi2CompletedIntegratorStep(void *c, int noPrior, int *enterEvent, int *terminate) {
    bool e = false, t = false;
    int status = completed_step(c, "fmi2CompletedIntegratorStep", &e, &t);
    *enterEvent = e;
    *terminate = t;
    return status;
}
int fmi2SetTime(void *c, double t) { return set_time(c, "fmi2SetTime", t); }
int fmi2SetContinuousStates(void *c, const double x[], size_t nx) { return set_states(c, "fmi2SetContinuousStates", x, nx); }
int fmi2GetContinuousStates(void *c, double x[], size_t nx) { return get_vector(c, "fmi2GetContinuousStates", x, nx, 0); }
int fmi2GetDerivatives(void *c, double dx[], size_t nx) { return get_vector(c, "fmi2GetDerivatives", dx, nx, 1); }
int fmi2GetNominalsOfContinuousStates(void *c, double n[], size_t nx) {
    return get_vector(c, "fmi2GetNominalsOfContinuousStates", n, nx, 2);
}
int fmi2GetEventIndicators(void *c, double z[], size_t nz) { return get_vector(c, "fmi2GetEventIndicators", z, nz, 3); }

#else
/* ------------------------------------------------------------------------------------------------ FMI 3 */
typedef void (*LogMessage)(void *env, int status, const char *category, const char *message);

static void log_fmi3(Instance *c, const char *message) {
    if (c->log_message) c->log_message(c->env, ERROR, "logStatusError", message);
}

const char *fmi3GetVersion(void) { return "3.0"; }
int fmi3SetDebugLogging(void *c, bool on, size_t n, const char *categories[]) { return OK; }

void *fmi3InstantiateModelExchange(const char *name, const char *token, const char *resources, bool visible,
                                   bool loggingOn, void *env, LogMessage log) {
    Instance *c = new_instance(name);
    if (!c) return NULL;
    c->log = log_fmi3;
    c->env = env;
    c->log_message = log;
    return c;
}

void fmi3FreeInstance(void *c) { free(c); }
int fmi3EnterInitializationMode(void *c, bool tolDefined, double tol, double start, bool stopDefined, double stop) {
    return enter_initialization(c, "fmi3EnterInitializationMode", start);
}
int fmi3ExitInitializationMode(void *c) { return exit_initialization(c, "fmi3ExitInitializationMode"); }
int fmi3Terminate(void *c) { ((Instance *)c)->mode = TERMINATED; return OK; }
int fmi3Reset(void *c) { Instance *i = c; i->mode = INSTANTIATED; i->started = false; start_values(i); return OK; }

int fmi3GetFloat64(void *c, const unsigned vr[], size_t nvr, double v[], size_t n) {
    return get_reals(c, "fmi3GetFloat64", vr, nvr, v);
}
int fmi3SetFloat64(void *c, const unsigned vr[], size_t nvr, const double v[], size_t n) {
    return set_reals(c, "fmi3SetFloat64", vr, nvr, v);
}
int fmi3GetInt32(void *c, const unsigned vr[], size_t nvr, int32_t v[], size_t n) {
    return get_count(c, "fmi3GetInt32", vr, nvr, v);
}

int fmi3EnterEventMode(void *c) { return set_mode(c, "fmi3EnterEventMode", CONTINUOUS, EVENT); }
int fmi3UpdateDiscreteStates(void *c, bool *needed, bool *terminate, bool *nominals, bool *values, bool *defined,
                             double *next) {
    return event_update(c, "fmi3UpdateDiscreteStates", needed, terminate, nominals, values, defined, next);
}
int fmi3EnterContinuousTimeMode(void *c) { return set_mode(c, "fmi3EnterContinuousTimeMode", EVENT, CONTINUOUS); }
int fmi3CompletedIntegratorStep(void *c, bool noPrior, bool *enterEvent, bool *terminate) {
    return completed_step(c, "fmi3CompletedIntegratorStep", enterEvent, terminate);
}
int fmi3SetTime(void *c, double t) { return set_time(c, "fmi3SetTime", t); }
int fmi3SetContinuousStates(void *c, const double x[], size_t nx) { return set_states(c, "fmi3SetContinuousStates", x, nx); }
int fmi3GetContinuousStates(void *c, double x[], size_t nx) { return get_vector(c, "fmi3GetContinuousStates", x, nx, 0); }
int fmi3GetContinuousStateDerivatives(void *c, double dx[], size_t nx) {
    return get_vector(c, "fmi3GetContinuousStateDerivatives", dx, nx, 1);
}
int fmi3GetNominalsOfContinuousStates(void *c, double n[], size_t nx) {
    return get_vector(c, "fmi3GetNominalsOfContinuousStates", n, nx, 2);
}
int fmi3GetEventIndicators(void *c, double z[], size_t nz) { return get_vector(c, "fmi3GetEventIndicators", z, nz, 3); }
int fmi3GetNumberOfEventIndicators(void *c, size_t *n) { *n = NZ; return OK; }
int fmi3GetNumberOfContinuousStates(void *c, size_t *n) { *n = NX; return OK; }
#endif
