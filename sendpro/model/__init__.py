"""The encounter model, its field catalogue, typing and building."""
