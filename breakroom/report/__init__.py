"""The fleet at a glance: one self-contained HTML page of a window of the record.

Gathering (``window``, ``timeline``, ``gather``, ``spend``) is plain functions over the
database; ``render`` turns what they found into the page; ``summary`` is the channel's
morning line; ``server`` serves the page live from a running breakroom.
"""
