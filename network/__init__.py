"""Stakeholder network of the Münsterland health region."""
