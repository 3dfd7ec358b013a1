/* FMI 3.0 mode changes as the standard's state machine allows them, shared by the hand-written test FMUs
 * (config3.c, arrays3.c): a function called in another state returns Error and logs why.
 *
 * The includer defines, before including this: the State enum (INSTANTIATED, CONFIGURATION, INITIALIZATION,
 * STEP, TERMINATED), an Instance with `State state` and `double time`, `fail(c, message)` and `outputs(c)`.
 */

int fmi3EnterConfigurationMode(void *instance) {
    Instance *c = instance;
    if (c->state != INSTANTIATED) return fail(c, "fmi3EnterConfigurationMode is allowed in Instantiated only");
    c->state = CONFIGURATION;
    return OK;
}

int fmi3ExitConfigurationMode(void *instance) {
    Instance *c = instance;
    if (c->state != CONFIGURATION) return fail(c, "fmi3ExitConfigurationMode outside Configuration Mode");
    c->state = INSTANTIATED;
    return OK;
}

int fmi3EnterInitializationMode(void *instance, bool toleranceDefined, double tolerance, double startTime,
                                bool stopTimeDefined, double stopTime) {
    Instance *c = instance;
    if (c->state != INSTANTIATED) return fail(c, "fmi3EnterInitializationMode is allowed in Instantiated only");
    c->state = INITIALIZATION;
    c->time = startTime;
    return OK;
}

int fmi3ExitInitializationMode(void *instance) {
    Instance *c = instance;
    if (c->state != INITIALIZATION) return fail(c, "fmi3ExitInitializationMode outside Initialization Mode");
    c->state = STEP;
    outputs(c);
    return OK;
}

int fmi3Terminate(void *instance) { ((Instance *)instance)->state = TERMINATED; return OK; }
