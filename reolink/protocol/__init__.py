"""The protocol layer: pure command-envelope builders and response parsers. No I/O.

Nothing in this package imports urllib3, socket, ssl, http, threading, time, random or
``transports``; the clock and random strings arrive as arguments. ``tests/test_layers.py`` checks.
"""
