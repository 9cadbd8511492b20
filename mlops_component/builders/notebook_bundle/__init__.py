"""What the development environment's notebook runs: its lifecycle scripts, and the bundle it downloads.

The files here ship in the wheel as package data: `lifecycle/` (the two lifecycle scripts), `bin/` (the
scripts they hand over to), `idle.py` (the idle auto-stop's decision), and `project/` (the template of the
notebook's git repository). `bundle` assembles them with the stack's settings and the example notebooks.
"""
