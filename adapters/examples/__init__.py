"""Example department systems, written against the exported contracts only."""
