"""`breakroom demo`: the scripted story, its live view and the simulated agents it runs."""
