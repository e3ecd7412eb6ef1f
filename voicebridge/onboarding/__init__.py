"""Onboarding: the three operator-approved steps, their documents and the number pool."""
