"""What galvision promises on bad input: one module per class of fault (docs/faults.md)."""
