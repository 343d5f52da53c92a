"""ETL: the raw input contract, synthetic data, daily sketch rollups and all-time merges."""
