"""HTTP routes and the command line of the reporting service."""
