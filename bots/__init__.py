"""The voices on IRC: each module is a thin irc3 plugin over engine functions in `breakroom`."""
