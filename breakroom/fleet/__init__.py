"""The fleet: tmux sessions, what their panes show, and delivering messages into them."""
