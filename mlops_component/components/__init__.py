"""The Pulumi components: each takes its own args and creates resources."""
