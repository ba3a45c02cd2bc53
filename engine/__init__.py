"""The question engine: selectors, SQL guard, read-only runner, answerers, grounding, eval."""
