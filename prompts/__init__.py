"""Prompt texts for the LLM backends, versioned with the code."""
