"""Running a federation: embedded, the coordinator of distributed runs, launchers, the site host and the run record."""
