"""What the tests share besides fixtures: real servers and clients, waits on conditions,
stubs of the agents' APIs and the agents themselves.  Fixtures live in ``tests/conftest.py``;
tests import the rest from here (``from support.irc import RawClient``), never from each other."""
