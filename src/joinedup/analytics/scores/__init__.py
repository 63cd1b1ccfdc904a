"""Clinical scores as Ibis pipelines, one module per score, each citing its source."""
