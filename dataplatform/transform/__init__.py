"""Contract-driven standardization (raw -> curated) in plain PySpark: no awsglue imports, no Python UDFs."""
