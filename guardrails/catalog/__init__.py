"""The catalog stage: find files, load them safely, validate them, keep positions."""
