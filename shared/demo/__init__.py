"""Demo data for the embedded default and the tests: Pengshan District, loaded over HTTP."""
