"""The built-in stages, one module each, in the order the default pipeline runs them."""
