"""PLACEHOLDER — being written."""
