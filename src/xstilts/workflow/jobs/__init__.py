"""The jobs the workflow's rules run, one function per job kind; each takes its params (one JSON
document holding exactly the settings it uses) and the paths of its inputs and outputs.  The thin
entry scripts in workflow/scripts/ call them."""
