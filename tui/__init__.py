"""The Textual app. It calls the engine and store through their public API and never runs SQL itself."""
