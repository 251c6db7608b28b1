"""Detection engine for Linux audit logs. Importing the package does nothing but import: the
stages are its subpackages (docs/architecture.md), the command line is `detect.cli`."""
