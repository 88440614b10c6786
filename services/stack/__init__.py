"""The embedded default: one command runs NATS, every service and demo data on this machine.

It starts processes and talks to them over HTTP only; it imports no service's code.
"""
