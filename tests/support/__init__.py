"""Helpers the tests share: rendering, reading generated files, locating tools."""
