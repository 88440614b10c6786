"""Demo data for the embedded default and the tests: Pengshan District, loaded over each service's HTTP API."""
