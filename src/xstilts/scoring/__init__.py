"""The scoring layer: metrics as the official scripts compute them, scoring of predictions per task
format, and the statistics of a transfer matrix (bootstrap intervals, paired tests)."""
