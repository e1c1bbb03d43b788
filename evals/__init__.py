"""The question set and the scorer: `consensus-chat eval`, `python -m evals.calibrate`, `python -m evals.bench`."""
