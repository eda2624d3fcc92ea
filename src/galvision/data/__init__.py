"""Data: simulation, readers, datamodules and on-device degradations."""
