"""Pure builders: plain values in, plain dicts, names and files out. No Pulumi resources here."""
