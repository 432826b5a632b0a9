"""Pure domain rules: standard library only, no I/O, time passed in as an argument."""
