"""Mutation testing of the modules that guard money, data and access: see docs/mutation-testing.md."""
