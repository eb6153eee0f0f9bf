"""Publishing layer: data package descriptor, figures, release archive."""
