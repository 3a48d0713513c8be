"""Work: the issue queue, the dispatcher's cycle, skills and the check-in digest."""
