"""Dialogs of the desktop app: errors, preferences, models, fine-tuning, export."""
