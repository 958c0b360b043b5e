"""Writing files safely: atomic writes, outputs that never replace what a command did not
make, and one run at a time in a run's folder."""
