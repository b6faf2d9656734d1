"""Rasa bot configuration; `bot.components` holds our own NLU components."""
