"""Seizure statistics: aggregates of incident notes, with small groups withheld."""
