"""The experiment: what a profile means, training, the run directory, evaluation."""
