"""The rules of the method, one module per rule, named as the methodology names it."""
