"""Writers of generated batches: operational database, Parquet warehouse, FHIR files."""
