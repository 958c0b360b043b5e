"""Exports of trained models: plain artifacts that load without mtdnn-keras where possible."""
