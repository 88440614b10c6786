"""HTTP routes and the command line of the registry service."""
