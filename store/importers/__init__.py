"""Importers that turn other simulators' output into schema v1 tables."""
