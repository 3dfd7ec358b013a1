"""Ensembles: many independent runs of one scenario (grid or Monte Carlo), reusing runs whose inputs are unchanged."""
