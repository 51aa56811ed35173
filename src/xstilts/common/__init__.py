"""The shared bottom of the library: errors, atomic files, logging and provenance (every layer may import it; it imports no other layer)."""
