"""The sweep: walk the fleet, record what each pane shows, answer or escalate stuck agents."""
