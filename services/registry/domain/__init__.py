"""Registry domain: pure value objects and rules, no I/O."""
