"""coview's own analytical roofline sweep model (`coview simulate`)."""
