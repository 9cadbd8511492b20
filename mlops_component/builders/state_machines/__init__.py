"""State machine definitions as pure builders: plain values in, ASL dicts out."""
