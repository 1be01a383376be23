"""Attacks on Parley: each test reproduces a hole that was found, and fails if it opens again."""
