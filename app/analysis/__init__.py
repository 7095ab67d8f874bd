"""Analyses over the read models: training effect on production metrics."""
