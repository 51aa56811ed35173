"""The workflow layer: experiment configs, the plan (every declared file and each job's exact params),
the cost plan, and the jobs the rules' scripts run."""
