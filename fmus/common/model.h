/* Minimal model API shared by all twins; the FMI 2.0 / 3.0 wrappers call only these. */
#ifndef FED_MODEL_H
#define FED_MODEL_H

#include <stddef.h>

typedef enum { VT_REAL = 0, VT_INTEGER = 1 } VarType;
typedef enum { CA_PARAMETER = 0, CA_INPUT, CA_OUTPUT, CA_LOCAL, CA_INDEPENDENT } VarCausality;
typedef enum { VA_CONSTANT = 0, VA_FIXED, VA_TUNABLE, VA_DISCRETE, VA_CONTINUOUS } VarVariability;

typedef struct {
    const char *name;
    VarType type;
    VarCausality causality;
    VarVariability variability;
    double start_real;
    int start_int;
} VarInfo;

/* Generated from fmus/<name>/model.json by fmus/build.py:
   MODEL_IDENTIFIER, INSTANTIATION_TOKEN, N_VR, VR_<name> constants, VAR_INFO[]. */
#include "model_vars.h"

#define MODEL_MSG_LEN 512

typedef struct ModelData {
    double r[N_VR];      /* Real / Float64 values indexed by value reference */
    int i[N_VR];         /* Integer / Int32 values indexed by value reference */
    double time;         /* current simulation time (s) */
    void *priv;          /* model private state (allocated by model_init) */
    void *log_env;       /* wrapper's logging context */
    void (*log)(void *log_env, int is_error, const char *msg);
} ModelData;

#define R_(m, name) ((m)->r[VR_##name])
#define I_(m, name) ((m)->i[VR_##name])

/* Set all variables to their start values (generic, from VAR_INFO). */
void model_setup_defaults(ModelData *m);
/* Check parameters; return 0 if valid, else 1 with *bad_param_name and msg set. */
int model_validate(const ModelData *m, const char **bad_param_name, char *msg);
/* Allocate private state and compute initial state/outputs at m->time. 0 = ok. */
int model_init(ModelData *m);
/* Advance from t to t + h with fixed internal sub-steps; update outputs. */
void model_do_step(ModelData *m, double t, double h);
/* Release private state. */
void model_free(ModelData *m);

/* Fill *bad_param_name and msg ("parameter X must be <requirement> (got v)"); returns 1. */
int model_param_error(const char *name, double value, const char *requirement, const char **bad_param_name, char *msg);

/* Inside model_validate(m, bad, msg): reject a parameter unless cond holds. */
#define CHECK_PARAM(name, value, cond, requirement) \
    do { if (!(cond)) return model_param_error(name, (double)(value), requirement, bad, msg); } while (0)

/* Deterministic sub-step count: ceil(h / dt_max), at least 1. */
int model_substeps(double h, double dt_max);

#endif
