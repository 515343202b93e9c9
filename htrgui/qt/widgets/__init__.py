"""Small reusable widgets: the live training curve and the special-character panel."""
