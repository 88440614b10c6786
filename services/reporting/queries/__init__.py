"""Queries over the reporting read models, shaped for the HTTP API and the dashboards."""
