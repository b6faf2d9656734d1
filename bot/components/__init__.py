"""Custom Rasa NLU components, referenced from bot/config.yml by module path."""
